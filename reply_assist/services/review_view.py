"""Everything a person working on one review sees at once (the reply desk's review page): the
company, the review, whether a draft can be generated, its drafts, one draft with this agent's
vote on it, and the published reply's versions. Read only; every action has its own service."""

from __future__ import annotations

from dataclasses import dataclass

from reply_assist.models import Company, Vote
from reply_assist.runtime import Runtime
from reply_assist.services.access import ANY_ROLE, Principal, authorize
from reply_assist.services.eligibility import Eligibility, evaluate
from reply_assist.services.lookups import require_review_and_company
from reply_assist.services.usage import UNLIMITED, Balance, balance_of
from reply_assist.store.drafts import DraftRecord
from reply_assist.store.replies import ReplyVersion
from reply_assist.store.reviews import ReviewRecord

__all__ = ["ReviewView", "review_view"]


@dataclass(frozen=True, slots=True)
class ReviewView:
    company: Company
    record: ReviewRecord
    eligibility: Eligibility
    drafts: list[DraftRecord]  # newest first
    selected: DraftRecord | None  # the draft asked for, else the newest
    vote: Vote | None  # the agent's vote on ``selected``
    versions: list[ReplyVersion]  # the published reply's versions, oldest first
    balance: Balance = UNLIMITED  # the company's drafts left this month (the desk's banner)

    @property
    def current(self) -> ReplyVersion | None:
        """The published reply now, if there is one."""
        return self.versions[-1] if self.versions else None


async def review_view(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    *,
    agent_id: str,
    draft_id: str | None = None,
) -> ReviewView:
    authorize(principal, company_id, ANY_ROLE)
    company, record, in_flight = await require_review_and_company(rt, company_id, review_id)
    drafts = await rt.drafts.list(company_id, review_id)
    selected = next((d for d in drafts if d.data.id == draft_id), drafts[0] if drafts else None)
    vote = None
    if selected is not None:
        vote = await rt.drafts.agent_vote(company_id, review_id, selected.data.id, agent_id)
    versions = await rt.replies.versions(company_id, review_id)
    balance = await balance_of(rt, company)
    return ReviewView(
        company=company,
        record=record,
        eligibility=evaluate(company, record, in_flight, balance),
        balance=balance,
        drafts=drafts,
        selected=selected,
        vote=vote,
        versions=versions,
    )

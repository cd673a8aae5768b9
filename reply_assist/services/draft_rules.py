"""Draft rules: which stored reviews get a draft in the background, and queuing their jobs.

A company's rules say which reviews to draft (``enabled``, ``stars``, ``languages``,
``max_age_hours``). A review stored or updated that matches them, and that the product's
rules allow a draft for (``services.eligibility``), gets one job, queued by the same script
that stores it (``store/scripts/lib/queue_rule_job.lua``: at most once per review, none for a
review that has a draft or a reply). The job runs on a worker (``services.draft_jobs``), which
checks everything again when it runs: a review that stopped matching meanwhile is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from reply_assist.drafting.language import normalize_language
from reply_assist.errors import InvalidRequest
from reply_assist.models import Company, DraftRules, DraftRulesIn, Review
from reply_assist.runtime import Runtime
from reply_assist.services.access import AGENT, ANY_ROLE, Principal, authorize
from reply_assist.services.eligibility import evaluate
from reply_assist.services.lookups import require_company
from reply_assist.store.reviews import ReviewRecord

__all__ = [
    "RUN_MAX_REVIEWS",
    "RuleDraft",
    "RunResult",
    "effective_languages",
    "mismatch",
    "read_rules",
    "rule_draft",
    "run_rules",
    "set_rules",
    "store_review",
]

# POST …/draft-rules/run looks at most this many stored reviews per call (newest first); the
# answer's next_until continues from where it stopped.
RUN_MAX_REVIEWS = 10_000
_RUN_PAGE = 500


@dataclass(frozen=True, slots=True)
class RunResult:
    queued: int
    examined: int
    next_until: datetime | None  # more reviews from `since` remain before this time


@dataclass(frozen=True, slots=True)
class RuleDraft:
    """Where the review's draft-rules job is: queued (or running, or waiting for a retry),
    drafted, skipped (``reason``: why it no longer applied) or failed (``reason``: the last
    failure, after the last attempt)."""

    state: Literal["queued", "drafted", "skipped", "failed"]
    reason: str | None = None
    draft_id: str | None = None


_STATES: dict[str, Literal["queued", "drafted", "skipped", "failed"]] = {
    "q": "queued",
    "d": "drafted",
    "s": "skipped",
    "f": "failed",
}


def rule_draft(record: ReviewRecord) -> RuleDraft | None:
    """The review's draft-rules job, None when the rules never queued one for it."""
    if not record.rule_job:
        return None
    kind, _, detail = record.rule_job.partition(":")
    state = _STATES.get(kind)
    if state is None:
        return None
    if state == "drafted":
        return RuleDraft(state, draft_id=detail)
    if state == "queued":
        return RuleDraft(state)
    return RuleDraft(state, reason=detail or None)


def effective_languages(company: Company, rules: DraftRules) -> list[str]:
    """The rules' languages, or all of the company's when the rules name none."""
    if rules.languages is None:
        return list(company.languages)
    return [code for code in rules.languages if code in company.languages]


async def read_rules(
    rt: Runtime, principal: Principal, company_id: str
) -> tuple[Company, DraftRules]:
    """The company's rules (off until set); every key of the company may read them."""
    authorize(principal, company_id, ANY_ROLE)
    return await _company_and_rules(rt, company_id)


async def _company_and_rules(rt: Runtime, company_id: str) -> tuple[Company, DraftRules]:
    company, rules = await rt.draft_rules.company_and_rules(company_id)
    if company is None:
        await require_company(rt, company_id)  # the contract's 404
        raise AssertionError("unreachable")  # pragma: no cover
    return company, rules


async def set_rules(
    rt: Runtime, principal: Principal, company_id: str, data: DraftRulesIn
) -> tuple[Company, DraftRules]:
    """Replace the company's rules (the admin, agent keys). Languages must be the company's
    own (400 naming the ones allowed); stars and languages are kept once each, in order."""
    authorize(principal, company_id, AGENT)
    company = await require_company(rt, company_id)
    languages = None
    if data.languages is not None:
        languages = list(dict.fromkeys(normalize_language(code) for code in data.languages))
        for n, code in enumerate(languages):
            if code not in company.languages:
                allowed = ", ".join(repr(c) for c in company.languages)
                raise InvalidRequest(
                    f"Invalid 'languages[{n}]': {code!r} is not one of the company's languages; "
                    f"allowed: {allowed}"
                )
    rules = DraftRules(
        enabled=data.enabled,
        stars=sorted(set(data.stars)),
        languages=languages,
        max_age_hours=data.max_age_hours,
        updated_at=datetime.now(UTC),
    )
    await rt.draft_rules.put(company_id, rules)
    return company, rules


def mismatch(
    company: Company, rules: DraftRules, record: ReviewRecord, *, now: datetime | None
) -> str | None:
    """Why the rules (and the product's rules) do not draft this review, as a code; None when
    they do. ``now``: check ``max_age_hours`` against it (when a review is stored)."""
    review = record.review
    if not rules.enabled:
        return "rules_off"
    if review.stars not in rules.stars:
        return "stars_not_in_rules"
    if record.language is not None and record.language not in effective_languages(company, rules):
        return "language_not_in_rules"
    if now is not None and now - review.created_at > timedelta(hours=rules.max_age_hours):
        return "too_old"
    eligibility = evaluate(company, record, in_flight=0)
    return eligibility.reasons[0] if eligibility.reasons else None


async def store_review(
    rt: Runtime, company: Company, review: Review, language: str | None, reason: str | None
) -> bool:
    """Store (create or replace) the review, queuing its draft-rules job when it matches the
    company's rules; True when created. One more read than storing alone: the rules."""
    rules = await rt.draft_rules.get(company.id)
    record = ReviewRecord(review=review, language=language, language_reason=reason, drafts=0)
    matches = rules.enabled and mismatch(company, rules, record, now=datetime.now(UTC)) is None
    created, _ = await rt.reviews.put(review, language, reason, queue_rule_job=matches)
    return created


async def run_rules(
    rt: Runtime, principal: Principal, company_id: str, since: datetime, until: datetime | None
) -> RunResult:
    """Queue the jobs of stored reviews needing a reply, created in [since, until), that match
    the rules now (``max_age_hours`` aside: the caller chose ``since``). Newest first, at most
    RUN_MAX_REVIEWS looked at; ``next_until`` says where to continue when more remain."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidRequest(
                f"Invalid '{name}': a timestamp needs an offset (RFC 3339), "
                "e.g. 2026-11-20T00:00:00Z."
            )
    if until is not None and until <= since:
        raise InvalidRequest("Invalid 'until': it must be later than 'since'.")
    authorize(principal, company_id, AGENT)
    company, rules = await _company_and_rules(rt, company_id)
    if not rules.enabled:
        return RunResult(queued=0, examined=0, next_until=None)
    queued = examined = 0
    below: str | None = None  # the index member of the last review looked at
    while examined < RUN_MAX_REVIEWS:
        page = await rt.reviews.open_reviews(
            company_id, since, until, below, min(_RUN_PAGE, RUN_MAX_REVIEWS - examined)
        )
        examined += len(page)
        matching = [r.review.id for _, r in page if mismatch(company, rules, r, now=None) is None]
        queued += await rt.reviews.queue_rule_jobs(company_id, matching)
        if len(page) < _RUN_PAGE:
            return RunResult(queued=queued, examined=examined, next_until=None)
        below = page[-1][0]
    last = page[-1][1].review.created_at
    more = await rt.reviews.open_reviews(company_id, since, until, below, 1)
    # Reviews created at the same microsecond as the last one looked at are looked at again
    # by the next call (and not queued twice): nothing is skipped.
    return RunResult(
        queued=queued,
        examined=examined,
        next_until=last + timedelta(microseconds=1) if more else None,
    )

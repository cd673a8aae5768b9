"""Drafts: generating one, reading them, an agent's edit, and thumbs up or down.

Each function checks its input first (400), then the caller's role (403), then what it names
(404), as the contract orders, so every face answers the same input the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from reply_assist.errors import Conflict, InvalidRequest, NotFound
from reply_assist.models import DOWN_REASONS, UP_REASONS, Vote
from reply_assist.runtime import Runtime
from reply_assist.services import text as texts
from reply_assist.services.access import (
    AGENT,
    ANY_ROLE,
    WRITERS,
    Prefetched,
    Principal,
    authorize,
    release_prefetched,
)
from reply_assist.services.generation import GenerateCall, Generation, begin_generation
from reply_assist.services.lookups import require_review
from reply_assist.services.publishing import keep_upvoted_reply
from reply_assist.store.drafts import DraftRecord

__all__ = [
    "DOWN_REASONS",
    "UP_REASONS",
    "DraftRecord",
    "EditOutcome",
    "Feedback",
    "agent_vote",
    "check_feedback",
    "edit_draft",
    "get_draft",
    "list_drafts",
    "start_generation",
    "vote_on_draft",
]

_REASONS_FOR: Final = {"up": UP_REASONS, "down": DOWN_REASONS}


@dataclass(frozen=True, slots=True)
class EditOutcome:
    """An edit's result: the draft as it is now, and whether the edit changed its text (an edit
    equal to the draft's current text saves nothing)."""

    draft: DraftRecord
    changed: bool


@dataclass(frozen=True, slots=True)
class Feedback:
    """A vote as checked: the direction, a reason of that direction (or none), the comment."""

    vote: Literal["up", "down"]
    reason: str | None
    comment: str | None


async def start_generation(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    *,
    guidance: str | None,
    idempotency_key: str | None = None,
    prefetched: Prefetched | None = None,
) -> Generation | DraftRecord:
    """Check the guidance and the caller's role, then ``begin_generation`` (the rules, the slot):
    a ``Generation`` to run, or the first call's draft for a replayed ``Idempotency-Key``.
    ``prefetched`` (what the API's auth middleware read and reserved) is owned from here on."""
    try:
        guidance = texts.optional_text(guidance, "guidance", texts.MAX_GUIDANCE)
        authorize(principal, company_id, WRITERS)
    except BaseException:
        if prefetched is not None:
            await release_prefetched(rt, prefetched)
        raise
    call = GenerateCall(company_id, review_id, guidance, idempotency_key)
    return await begin_generation(rt, call, prefetched)


async def list_drafts(
    rt: Runtime, principal: Principal, company_id: str, review_id: str
) -> list[DraftRecord]:
    """The review's drafts, newest first."""
    authorize(principal, company_id, ANY_ROLE)
    await require_review(rt, company_id, review_id)
    return await rt.drafts.list(company_id, review_id)


async def _require_draft(
    rt: Runtime, company_id: str, review_id: str, draft_id: str
) -> DraftRecord:
    record = await rt.drafts.get(company_id, review_id, draft_id)
    if record is None:
        raise NotFound("No such draft for this review.", code="draft_not_found")
    return record


async def get_draft(
    rt: Runtime, principal: Principal, company_id: str, review_id: str, draft_id: str
) -> DraftRecord:
    authorize(principal, company_id, ANY_ROLE)
    return await _require_draft(rt, company_id, review_id, draft_id)


def current_text(draft: DraftRecord) -> str:
    """What the draft says now: the agent's edit if there is one, else the generated text."""
    return draft.edited_text if draft.edited_text is not None else draft.data.text


async def edit_draft(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    draft_id: str,
    *,
    text: str,
    agent_id: str,
) -> EditOutcome:
    """Save an agent's edit; the generated text is kept beside it. Refused: a blank text (400
    ``reply_blank``), a draft that does not exist (404), one that has been published (409
    ``draft_already_published``: its text stays what was published)."""
    text = texts.reply_text(text)
    authorize(principal, company_id, AGENT)
    draft = await _require_draft(rt, company_id, review_id, draft_id)
    if draft.status != "published" and text == current_text(draft):
        return EditOutcome(draft, changed=False)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    outcome = await rt.drafts.edit(company_id, review_id, draft_id, text, agent_id, now)
    if outcome == "missing":
        raise NotFound("No such draft for this review.", code="draft_not_found")
    if outcome == "published":
        raise Conflict(
            "This draft has been published, so its text stays what was published; "
            "publish an updated reply (PUT …/reply) or edit another draft.",
            code="draft_already_published",
        )
    return EditOutcome(await _require_draft(rt, company_id, review_id, draft_id), changed=True)


def check_feedback(vote: str, reason: str | None, comment: str | None) -> Feedback:
    """A vote's direction and its reason must agree; the comment is optional text."""
    if vote not in _REASONS_FOR:
        raise InvalidRequest(
            "Invalid 'vote': choose 'up' or 'down'.",
            code="vote_missing" if not vote else "invalid_request",
            errors=[{"field": "vote", "source": "body", "message": "allowed: 'up', 'down'"}],
        )
    allowed = _REASONS_FOR[vote]
    reason = reason or None
    if reason is not None and reason not in allowed:
        listed = ", ".join(repr(r) for r in allowed)
        message = f"{reason!r} does not go with a thumbs {vote}; allowed: {listed} (or none)"
        raise InvalidRequest(
            f"Invalid 'reason': {message}.",
            errors=[{"field": "reason", "source": "body", "message": message}],
        )
    return Feedback(
        vote="up" if vote == "up" else "down",
        reason=reason,
        comment=texts.optional_text(comment, "comment", texts.MAX_COMMENT),
    )


async def vote_on_draft(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    draft_id: str,
    *,
    vote: str,
    reason: str | None,
    comment: str | None,
    agent_id: str,
) -> Vote:
    """Thumbs up or down; an agent's second vote replaces the first. A thumbs up on a draft
    that was already published makes that reply an example of the company's voice."""
    feedback = check_feedback(vote, reason, comment)
    authorize(principal, company_id, WRITERS)
    draft = await _require_draft(rt, company_id, review_id, draft_id)
    stored = Vote(
        vote=feedback.vote,
        agent_id=agent_id,
        created_at=datetime.now(UTC),
        reason=feedback.reason,
        comment=feedback.comment,
    )
    await rt.drafts.vote(company_id, draft.data, stored)
    if stored.vote == "up":
        await keep_upvoted_reply(rt, company_id, review_id, draft)
    return stored


async def agent_vote(
    rt: Runtime, principal: Principal, company_id: str, review_id: str, draft_id: str, agent_id: str
) -> Vote | None:
    """The vote this agent gave this draft, if any."""
    authorize(principal, company_id, ANY_ROLE)
    return await rt.drafts.agent_vote(company_id, review_id, draft_id, agent_id)

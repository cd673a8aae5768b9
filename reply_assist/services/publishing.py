"""Publishing: the only way a reply goes out, always by a person (an agent's explicit call)."""

from __future__ import annotations

from datetime import datetime

import structlog
from rapidfuzz.distance import Levenshtein

from reply_assist.errors import NotFound
from reply_assist.runtime import Runtime
from reply_assist.services.lookups import require_review
from reply_assist.store.replies import ReplyVersion

__all__ = ["publish_reply"]

log = structlog.get_logger(__name__)


async def publish_reply(
    rt: Runtime,
    company_id: str,
    review_id: str,
    *,
    text: str,
    agent_id: str,
    draft_id: str | None,
    now: datetime,
) -> ReplyVersion:
    record = await require_review(rt, company_id, review_id)
    edit_ratio: float | None = None
    edited = False
    language = record.language  # what the stats count a publish under: the draft's, else this
    if draft_id is not None:
        draft = await rt.drafts.get(company_id, review_id, draft_id)
        if draft is None:
            raise NotFound("No such draft for this review.", code="draft_not_found")
        generated = draft.data.text
        language = draft.data.language
        edited = text != generated
        # Levenshtein distance over the longer text's length: 0 unchanged, 1 all rewritten.
        edit_ratio = Levenshtein.normalized_distance(generated, text)
    version = ReplyVersion(
        text=text, agent_id=agent_id, published_at=now, edited=edited, draft_id=draft_id
    )
    number = await rt.replies.publish(
        company_id,
        review_id,
        version,
        edit_ratio=edit_ratio,
        review_index=record.index,
        language=language,
    )
    if number is None:
        raise NotFound("No such draft for this review.", code="draft_not_found")
    log.info(
        "reply_published",
        company_id=company_id,
        review_id=review_id,
        version=number,
        draft_id=draft_id,
        agent_id=agent_id,
        edited=edited,
    )
    return version

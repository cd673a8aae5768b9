"""Publishing: the only way a reply goes out, always by a person (an agent's explicit call)."""

from __future__ import annotations

from datetime import datetime

import structlog
from rapidfuzz.distance import Levenshtein
from redis.exceptions import RedisError

from reply_assist.errors import NotFound
from reply_assist.runtime import Runtime
from reply_assist.services import voice
from reply_assist.services.lookups import require_review
from reply_assist.store.drafts import DraftRecord
from reply_assist.store.replies import ReplyVersion
from reply_assist.store.reviews import ReviewRecord

__all__ = ["keep_upvoted_reply", "publish_reply"]

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
    if draft_id is not None:
        draft = await rt.drafts.get(company_id, review_id, draft_id)
        if draft is None:
            raise NotFound("No such draft for this review.", code="draft_not_found")
        generated = draft.data.text
        edited = text != generated
        # Levenshtein distance over the longer text's length: 0 unchanged, 1 all rewritten.
        edit_ratio = Levenshtein.normalized_distance(generated, text)
    version = ReplyVersion(
        text=text, agent_id=agent_id, published_at=now, edited=edited, draft_id=draft_id
    )
    number = await rt.replies.publish(company_id, review_id, version, edit_ratio=edit_ratio)
    if number is None:
        raise NotFound("No such draft for this review.", code="draft_not_found")
    if draft_id is not None:
        await _keep_as_example(rt, company_id, record, version, draft_id)
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


async def _keep_as_example(
    rt: Runtime, company_id: str, record: ReviewRecord, version: ReplyVersion, draft_id: str
) -> None:
    """Keep a published reply as an example of the company's voice when it is one (see
    ``services/voice.py``). Published is published: a failure here is logged, never raised."""
    try:
        voted_up = False
        if version.edited:
            votes = await rt.store.client.hvals(
                rt.store.keys.votes(company_id, record.review.id, draft_id)
            )
            voted_up = any(b'"vote":"up"' in _bytes(v) for v in votes)
        if not voice.is_example(edited=version.edited, from_draft=True, voted_up=voted_up):
            return
        await _store_example(rt, company_id, record, version)
    except RedisError as exc:
        log.warning("voice_example_not_kept", company_id=company_id, error=type(exc).__name__)


async def keep_upvoted_reply(
    rt: Runtime, company_id: str, review_id: str, draft: DraftRecord
) -> None:
    """A thumbs up on a draft that was already published (edited) makes that reply an example
    after all. Logged, never raised: the vote itself is stored."""
    if draft.status != "published" or not draft.published_version:
        return
    try:
        versions = await rt.replies.versions(company_id, review_id)
        record = await rt.reviews.get(company_id, review_id)
        if record is None or len(versions) < draft.published_version:
            return
        await _store_example(rt, company_id, record, versions[draft.published_version - 1])
    except RedisError as exc:
        log.warning("voice_example_not_kept", company_id=company_id, error=type(exc).__name__)


async def _store_example(
    rt: Runtime, company_id: str, record: ReviewRecord, version: ReplyVersion
) -> None:
    company = await rt.companies.get(company_id)
    if company is None or not company.voice_examples or record.language is None:
        return
    example = voice.VoiceExample(
        review_id=record.review.id,
        language=record.language,
        stars=record.review.stars,
        review_text=voice.review_for_matching(record.review.text, company.languages),
        reply_text=voice.clean_reply(version.text, record.review.author_name, company),
        published_at=version.published_at.timestamp(),
    )
    await rt.voice.add(company_id, example)


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()

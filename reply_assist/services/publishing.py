"""Publishing: the only way a reply goes out, always by a person (an agent's explicit call).

Publishing is safe to repeat: a text equal to the current version's publishes nothing and is
answered with that version (200), so a double click or a retry never makes a second version or
event; and an ``Idempotency-Key`` replays the first call's answer, as on generate, even after
someone else has published since.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Final

import anyio
import msgspec
import structlog
from rapidfuzz.distance import Levenshtein
from redis.exceptions import RedisError

from reply_assist.errors import NotFound
from reply_assist.markets import star_band, star_shift
from reply_assist.runtime import Runtime
from reply_assist.services import idempotency, voice
from reply_assist.services.lookups import require_review
from reply_assist.store.drafts import DraftRecord
from reply_assist.store.replies import ReplyVersion
from reply_assist.store.reviews import ReviewRecord

__all__ = ["Published", "is_blank", "keep_upvoted_reply", "publish_reply"]

log = structlog.get_logger(__name__)

# A publish is a few Redis calls: a claim older than this belongs to a process that died.
_LEASE_S: Final = 60.0
# Characters that show nothing: white space, controls, and format characters (zero-width
# space, word joiner, byte-order mark), which str.isspace() does not count.
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


class Published(msgspec.Struct):
    """A publish's answer: the version, and the status it is (and is replayed) with."""

    status: int  # 201 the first version, 200 an update or an unchanged text
    version: ReplyVersion


def is_blank(text: str) -> bool:
    """True when the text would show nothing at all on the review page."""
    return all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in text)


async def publish_reply(
    rt: Runtime,
    company_id: str,
    review_id: str,
    *,
    text: str,
    agent_id: str,
    draft_id: str | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Published:
    claim: idempotency.Claim | None = None
    if idempotency_key is not None:
        key = rt.store.keys.publish_idempotency(
            company_id, review_id, idempotency.key_hash(idempotency_key)
        )
        body = {"text": text, "agent_id": agent_id, "draft_id": draft_id}
        claimed = await idempotency.begin(rt, key, idempotency.fingerprint(body), _LEASE_S)
        if not isinstance(claimed, idempotency.Claim):
            return msgspec.json.decode(claimed[-1], type=Published)  # a replay
        claim = claimed
    try:
        published = await _publish(
            rt, company_id, review_id, text=text, agent_id=agent_id, draft_id=draft_id, now=now
        )
    except BaseException:
        if claim is not None:
            await _abandon(rt, claim)
        raise
    if claim is not None:
        try:
            await idempotency.finish(rt, claim, msgspec.json.encode(published))
        except RedisError as exc:
            # Published all the same, so answer it. Until the claim's lease ends a retry gets
            # 409; after it the retry runs again and finds its text already current.
            log.warning("idempotency_finish_failed", error=type(exc).__name__)
    return published


async def _publish(
    rt: Runtime,
    company_id: str,
    review_id: str,
    *,
    text: str,
    agent_id: str,
    draft_id: str | None,
    now: datetime,
) -> Published:
    record = await require_review(rt, company_id, review_id)
    edit_ratio: float | None = None
    edited = False
    language = record.language  # what the stats count a publish under: the draft's, else this
    country = record.review.country  # likewise
    if draft_id is not None:
        draft = await rt.drafts.get(company_id, review_id, draft_id)
        if draft is None:
            raise NotFound("No such draft for this review.", code="draft_not_found")
        generated = draft.data.text
        language = draft.data.language
        country = draft.data.country
        edited = text != generated
        # Levenshtein distance over the longer text's length: 0 unchanged, 1 all rewritten.
        edit_ratio = Levenshtein.normalized_distance(generated, text)
    version = ReplyVersion(
        text=text, agent_id=agent_id, published_at=now, edited=edited, draft_id=draft_id
    )
    result = await rt.replies.publish(
        company_id,
        review_id,
        version,
        edit_ratio=edit_ratio,
        review_index=record.index,
        language=language,
        country=country,
    )
    if result is None:
        raise NotFound("No such draft for this review.", code="draft_not_found")
    stored, new = result
    if not new:
        log.info(
            "reply_unchanged", company_id=company_id, review_id=review_id, version=stored.version
        )
        return Published(status=200, version=stored)
    if draft_id is not None:
        await _keep_as_example(rt, company_id, record, stored, draft_id)
    log.info(
        "reply_published",
        company_id=company_id,
        review_id=review_id,
        version=stored.version,
        draft_id=draft_id,
        agent_id=agent_id,
        edited=edited,
    )
    return Published(status=201 if stored.version == 1 else 200, version=stored)


async def _abandon(rt: Runtime, claim: idempotency.Claim) -> None:
    """Free the key of a publish that failed, even while being cancelled; never mask the error."""
    with anyio.CancelScope(shield=True):
        try:
            await idempotency.abandon(rt, claim)
        except Exception as exc:  # Redis down: the claim's lease frees the key
            log.warning("cleanup_failed", step="idempotency_abandon", error=type(exc).__name__)


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
        star_band=star_band(
            record.review.stars, star_shift(record.review.country, company.market_star_shift)
        ),
    )
    await rt.voice.add(company_id, example)


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()

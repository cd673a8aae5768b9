"""Publishing: the only way a reply goes out, always by a person (an agent's explicit call).

Publishing is safe to repeat: a text equal to the current version's publishes nothing and is
answered with that version (200, ``changed`` false), so a double click or a retry never makes a
second version or event; and an ``Idempotency-Key`` replays the first call's answer, as on
generate, even after someone else has published since.

Which draft a version came from: a publish records the ``draft_id`` it names, as given. The
reply desk's "Edit reply → Publish updated reply" edits the published reply, not a draft, so it
names none, as an API client's update of the text does; publishing a draft (the desk's
"Publish reply", or ``draft_id`` in the API) names it. The statistics count a draft's first
publish only (``from_draft``, ``unedited``, the edit ratio): however many times the review's
reply is updated, naming that draft again or not, the draft counts once (``publish.lua``).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from reply_assist.services import idempotency, style, voice
from reply_assist.services import text as texts
from reply_assist.services.access import AGENT, ANY_ROLE, Principal, authorize
from reply_assist.services.lookups import require_review
from reply_assist.store.drafts import DraftRecord
from reply_assist.store.replies import ReplyVersion
from reply_assist.store.reviews import ReviewRecord

__all__ = [
    "PublishPreview",
    "Published",
    "ReplyVersion",
    "deliver_pending_events",
    "get_reply",
    "keep_upvoted_reply",
    "preview_publish",
    "publish_reply",
    "reply_versions",
]

log = structlog.get_logger(__name__)

# A publish is a few Redis calls: a claim older than this belongs to a process that died.
_LEASE_S: Final = 60.0


class Published(msgspec.Struct):
    """A publish's answer: the version, and the status it is (and is replayed) with."""

    status: int  # 201 the first version, 200 an update or an unchanged text
    version: ReplyVersion
    # False when the text was the current version's already: nothing was published.
    changed: bool = True


@dataclass(frozen=True, slots=True)
class PublishPreview:
    """What a publish of ``text`` would do, for a face that asks the person once more."""

    text: str  # as it would be published (line endings normalised)
    current: ReplyVersion | None  # the published reply now, if any
    draft: DraftRecord | None  # the draft named, if any

    @property
    def unchanged(self) -> bool:
        """The published reply already has this text: publishing would change nothing."""
        return self.current is not None and self.current.text == self.text

    @property
    def next_version(self) -> int:
        return 1 if self.current is None else self.current.version + 1


async def reply_versions(
    rt: Runtime, principal: Principal, company_id: str, review_id: str
) -> list[ReplyVersion]:
    """Every published version of the review's reply, oldest first (none: an empty list)."""
    authorize(principal, company_id, ANY_ROLE)
    return await rt.replies.versions(company_id, review_id)


async def get_reply(
    rt: Runtime, principal: Principal, company_id: str, review_id: str
) -> list[ReplyVersion]:
    """The versions, or 404 ``reply_not_found`` when nothing has been published."""
    versions = await reply_versions(rt, principal, company_id, review_id)
    if not versions:
        raise NotFound("This review has no published reply.", code="reply_not_found")
    return versions


async def preview_publish(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    *,
    text: str,
    draft_id: str | None,
) -> PublishPreview:
    """Check a publish as ``publish_reply`` would, without publishing: the same refusals (400
    ``reply_blank``, 403, 404 for the review or the draft), and what it would do."""
    text = texts.reply_text(text)
    authorize(principal, company_id, AGENT)
    await require_review(rt, company_id, review_id)
    draft = None
    if draft_id is not None:
        draft = await rt.drafts.get(company_id, review_id, draft_id)
        if draft is None:
            raise NotFound("No such draft for this review.", code="draft_not_found")
    versions = await rt.replies.versions(company_id, review_id)
    return PublishPreview(text=text, current=versions[-1] if versions else None, draft=draft)


async def publish_reply(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    review_id: str,
    *,
    text: str,
    agent_id: str,
    draft_id: str | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Published:
    """Publish ``text`` as the review's reply (role agent): 201 the first version, 200 an
    update; a text equal to the current version's publishes nothing (``changed`` false).
    Refused: a blank text (400 ``reply_blank``), a missing review or draft (404)."""
    text = texts.reply_text(text)
    authorize(principal, company_id, AGENT)
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
        return Published(status=200, version=stored, changed=False)
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
        draft = await rt.drafts.get(company_id, record.review.id, draft_id)
        if draft is None or draft.data.warnings:
            return  # a draft the checks warned about never teaches the company's voice
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
    if draft.status != "published" or not draft.published_version or draft.data.warnings:
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
    # The text that went out passes today's draft checks against its own review, or it is no
    # example (an agent's edit may have added what the draft did not have).
    warnings = voice.reply_warnings(version.text, record.review, company, record.language)
    if warnings:
        log.info("voice_example_refused", company_id=company_id, warnings=warnings)
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
    await style.relearn(rt, company, record.language)


async def deliver_pending_events(rt: Runtime) -> int:
    """Append publish events that a failed call left in an outbox (``store.replies``)."""
    return await rt.replies.deliver_pending()


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()

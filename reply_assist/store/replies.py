"""Published replies (every version kept) and their delivery to the events stream.

Publishing writes the new version, its statistics and an outbox entry in one script; the event
is then appended to the stream and taken out of the outbox. If that append fails, the relay
(``deliver_pending``, run periodically) appends it later: nothing published is lost, and a
consumer may, rarely, see an event twice (deduplicate on company, review and version).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import cast

import msgspec
import structlog
from redis.exceptions import RedisError

from reply_assist.store.buckets import buckets_of
from reply_assist.store.connection import Store
from reply_assist.store.keys import Keys
from reply_assist.store.review_index import (
    MOVE_ROUNDS,
    IndexEntry,
    busy,
    entry_sets,
    ready_sets,
)
from reply_assist.store.stats import edit_ratio_bucket
from reply_assist.store.webhooks import WebhookRepository, rfc3339

__all__ = ["ReplyRepository", "ReplyVersion"]

log = structlog.get_logger(__name__)

# An outbox entry younger than this belongs to a publish call that is still delivering it.
_RELAY_GRACE_S = 30.0


class ReplyVersion(msgspec.Struct):
    text: str
    agent_id: str
    published_at: datetime
    edited: bool
    draft_id: str | None = None
    version: int = 0  # filled in from the version's place in the list


class ReplyRepository:
    def __init__(
        self,
        store: Store,
        events_stream: str,
        events_max_length: int = 0,
        webhooks: WebhookRepository | None = None,
    ) -> None:
        self._store = store
        self._webhooks = webhooks
        self._redis = store.client
        self._keys = store.keys
        self._stream = events_stream
        # Roughly this many newest events are kept (0: all). "~" lets Redis trim whole nodes of
        # the stream only, which costs next to nothing; it keeps at least this many.
        self._max_length = events_max_length or None

    async def versions(self, company_id: str, review_id: str) -> list[ReplyVersion]:
        raws = await self._redis.lrange(self._keys.reply_versions(company_id, review_id), 0, -1)
        out = []
        for number, raw in enumerate(raws, start=1):
            version = msgspec.json.decode(raw, type=ReplyVersion)
            version.version = number
            out.append(version)
        return out

    async def publish(
        self,
        company_id: str,
        review_id: str,
        version: ReplyVersion,
        *,
        edit_ratio: float | None,
        review_index: IndexEntry | None = None,
        language: str | None = None,
        country: str | None = None,
    ) -> tuple[ReplyVersion, bool] | None:
        """Append a version; returns it with its number and True. When the current version
        already has this text, nothing is published: returns that version and False. None when
        the named draft is gone.

        ``review_index`` is where the reply desk's list has the review, as the caller read it;
        the review moves to the replied sets (read again if it moved in the meantime).
        """
        k = self._keys
        buckets = buckets_of(version.published_at.timestamp())
        keys = [
            k.reply_versions(company_id, review_id),
            *(k.stats_counts(company_id, b.level.name, b.name) for b in buckets),
            k.stats_days(company_id),
            k.outbox(company_id),
        ]
        if version.draft_id is not None:
            keys.append(k.draft(company_id, review_id, version.draft_id))
        keys.append(k.review(company_id, review_id))
        # The relay must know this company has an outbox before anything can wait in it.
        await self._redis.sadd(k.outbox_index(), company_id)
        record = msgspec.json.encode(version)
        args = [
            record,
            "1" if version.draft_id is not None else "0",
            "1" if version.draft_id is not None and not version.edited else "0",
            repr(edit_ratio or 0.0),
            buckets[0].level.ttl_s,
            buckets[1].level.ttl_s,
            buckets[2].index,
            review_id,
        ]
        # Counted under the draft's language, else the review's (``language``; None: unknown),
        # and likewise its reviewer's ``country``.
        stats_args = [
            language or "",
            str(edit_ratio_bucket(edit_ratio or 0.0)) if version.draft_id is not None else "",
            country or "",
        ]
        for _ in range(MOVE_ROUNDS):
            index_keys, index_args = _index_move(k, company_id, review_index)
            answer = await self._store.scripts.run(
                "publish", keys + index_keys, args + index_args + stats_args
            )
            if answer != "moved":
                number = int(answer)
                break
            raw = await self._redis.hget(k.review(company_id, review_id), "ix")
            review_index = IndexEntry.decode(cast(str, raw or ""))
        else:  # more calls moved this review at once than MOVE_ROUNDS
            raise busy()
        if number == 0:
            return None
        if number < 0:  # the text is the current version's: answer with that version
            # Versions are only ever appended, so its index names it for good.
            raw = cast(str, await self._redis.lindex(keys[0], -number - 1))
            current = msgspec.json.decode(raw, type=ReplyVersion)
            current.version = -number
            return current, False
        version.version = number
        try:
            await self._deliver(company_id, f"{review_id}/{number}", record.decode())
        except RedisError as exc:
            # Published all the same: the outbox keeps the event and the relay delivers it.
            log.warning("event_delivery_deferred", company_id=company_id, error=type(exc).__name__)
        return version, True

    async def _deliver(self, company_id: str, entry: str, record_raw: str) -> None:
        review_id, _, number = entry.rpartition("/")
        version = msgspec.json.decode(record_raw, type=ReplyVersion)
        event_type = "reply.published" if number == "1" else "reply.updated"
        if self._webhooks is not None:
            # Before the stream's entry: until both are done the outbox keeps the event, and a
            # second fan-out (the relay's) queues nothing again. No text: a reply may greet the
            # reviewer by name; a platform reads it with GET …/reply.
            await self._webhooks.fan_out(
                company_id,
                event_type,
                {
                    "company_id": company_id,
                    "review_id": review_id,
                    "version": int(number),
                    "draft_id": version.draft_id,
                    "edited": version.edited,
                    "published_at": rfc3339(version.published_at),
                },
                occurred_at=version.published_at,
                event_key=entry,
            )
        await self._redis.xadd(
            self._stream,
            {
                "type": event_type,
                "company_id": company_id,
                "review_id": review_id,
                "version": number,
                "text": version.text,
                "agent_id": version.agent_id,
                "draft_id": version.draft_id or "",
                "published_at": version.published_at.isoformat().replace("+00:00", "Z"),
            },
            maxlen=self._max_length,
            approximate=True,
        )
        await self._redis.hdel(self._keys.outbox(company_id), entry)

    async def deliver_pending(self) -> int:
        """Append outbox entries that a failed publish call left behind; returns how many."""
        delivered = 0
        cutoff = time.time() - _RELAY_GRACE_S
        for company_id in cast(set[str], await self._redis.smembers(self._keys.outbox_index())):
            pending = cast(dict[str, str], await self._redis.hgetall(self._keys.outbox(company_id)))
            for entry, record_raw in sorted(pending.items(), key=_entry_order):
                version = msgspec.json.decode(record_raw, type=ReplyVersion)
                if version.published_at.timestamp() > cutoff:
                    continue
                await self._deliver(company_id, entry, record_raw)
                delivered += 1
        return delivered


def _index_move(
    keys: Keys, company_id: str, entry: IndexEntry | None
) -> tuple[list[str], list[str]]:
    """The publish script's keys and arguments that move the review to the replied sets."""
    if entry is None:  # not indexed (stored before the list existed): the backfill does it
        return [], ["", "", ""]
    replied = entry.with_status("r")
    sets = entry_sets(keys, company_id, entry.with_status("n")) + entry_sets(
        keys, company_id, replied
    )
    sets += ready_sets(keys, company_id, entry)
    return sets, [entry.encode(), replied.encode(), entry.member]


def _entry_order(item: tuple[str, str]) -> tuple[str, int]:
    review_id, _, number = item[0].rpartition("/")
    return review_id, int(number)

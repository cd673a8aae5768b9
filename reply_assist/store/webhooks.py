"""Webhook endpoints, their delivery queues and the records of recent deliveries.

An endpoint is a hash under its own hash tag (``keys.webhook``); the sets ``webhooks`` (all),
``webhooks-platform`` (no company: every company's events) and each company's
``company_webhooks`` say who hears what. Each endpoint has a stream of deliveries read by the
consumer group ``deliverers`` (``StreamQueue``, the engine of the draft-rules jobs): an entry is
queued by ``webhook_enqueue.lua`` and leaves the stream in ``webhook_finish.lua``, in the same
step as its record says delivered, failed or dropped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import msgspec

from reply_assist.store.connection import Store
from reply_assist.store.jobs import StreamQueue

__all__ = [
    "DELIVERY_GROUP",
    "Delivery",
    "DeliveryRecord",
    "DeliveryState",
    "EndpointRecord",
    "WebhookRepository",
    "message_id",
    "rfc3339",
]

DELIVERY_GROUP = "deliverers"
_SEEN_TTL_S = 30 * 24 * 3600  # longer than any delivery can stay queued
_RECORDS_KEPT = 100


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued delivery of one event to one endpoint (a stream entry)."""

    endpoint_id: str
    entry_id: str
    attempt: int  # 1 on the first delivery of the entry to a worker
    message_id: str  # webhook-id: the same on every attempt
    event_type: str
    body: str
    order_key: str  # "<company>/<review>", "" when the event has no review
    company_id: str

    @property
    def owner(self) -> str:
        return self.endpoint_id

    @property
    def queued_at_ms(self) -> int:
        return int(self.entry_id.split("-", 1)[0])


class EndpointRecord(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    company_id: str | None
    secret: str
    created_at: str
    disabled_since: str | None = None
    last_error: str | None = None
    attempts: int = 0  # failed attempts in a row since the last success
    last_attempt_at: str | None = None
    last_success_at: str | None = None


class DeliveryRecord(msgspec.Struct, kw_only=True):
    id: str  # webhook-id
    type: str
    company_id: str
    queued_at: str
    state: str = "pending"  # pending, delivered, failed (given up), dropped
    attempts: int = 0
    status_codes: list[int] = msgspec.field(default_factory=list)  # 0: no HTTP answer
    last_error: str | None = None
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What a worker reads before an attempt, in one round trip."""

    endpoint: EndpointRecord | None  # None: deleted
    head: str | None  # the review's oldest queued delivery (entry id)
    due_ms: int  # when the next attempt is due (0: now)
    record: DeliveryRecord | None


class WebhookRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._scripts = store.scripts
        self.queue: StreamQueue[Delivery] = StreamQueue(
            store, store.keys.webhook_queue, DELIVERY_GROUP, _delivery
        )

    # ---- endpoints ----------------------------------------------------------------------

    async def create(self, endpoint: EndpointRecord) -> None:
        k = self._keys
        fields: dict[Any, Any] = _fields(endpoint)
        await self._redis.hset(k.webhook(endpoint.id), mapping=fields)
        if endpoint.company_id is None:
            await self._redis.sadd(k.platform_webhooks(), endpoint.id)
        else:
            await self._redis.sadd(k.company_webhooks(endpoint.company_id), endpoint.id)
        await self._redis.sadd(k.webhooks(), endpoint.id)

    async def get(self, endpoint_id: str) -> EndpointRecord | None:
        raw = cast(dict[str, str], await self._redis.hgetall(self._keys.webhook(endpoint_id)))
        return _endpoint(endpoint_id, raw)

    async def ids(self) -> list[str]:
        return sorted(cast(set[str], await self._redis.smembers(self._keys.webhooks())))

    async def get_many(self, endpoint_ids: list[str]) -> list[EndpointRecord]:
        if not endpoint_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for endpoint_id in endpoint_ids:
                pipe.hgetall(self._keys.webhook(endpoint_id))
            raws = await pipe.execute()
        found = (
            _endpoint(i, cast(dict[str, str], r)) for i, r in zip(endpoint_ids, raws, strict=True)
        )
        return [e for e in found if e is not None]

    async def delete(self, endpoint: EndpointRecord) -> None:
        k = self._keys
        if endpoint.company_id is None:
            await self._redis.srem(k.platform_webhooks(), endpoint.id)
        else:
            await self._redis.srem(k.company_webhooks(endpoint.company_id), endpoint.id)
        await self._redis.srem(k.webhooks(), endpoint.id)
        # One slot: the endpoint's tag. Order lists and markers left behind expire.
        await self._redis.delete(
            k.webhook(endpoint.id),
            k.webhook_queue(endpoint.id),
            k.webhook_schedule(endpoint.id),
            k.webhook_deliveries(endpoint.id),
            k.webhook_recent(endpoint.id),
        )

    async def set_secret(self, endpoint_id: str, secret: str) -> bool:
        """Replace the secret; False when the endpoint is gone."""
        key = self._keys.webhook(endpoint_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(key)
            pipe.hset(key, "secret", secret)
            exists, _ = await pipe.execute()
        if not exists:
            await self._redis.delete(key)  # the HSET made a stray hash of a deleted endpoint
        return bool(exists)

    async def subscribers(self, company_id: str) -> list[str]:
        """Endpoints that may hear ``company_id``'s events: one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(self._keys.company_webhooks(company_id))
            pipe.smembers(self._keys.platform_webhooks())
            own, platform = await pipe.execute()
        return sorted(cast(set[str], own) | cast(set[str], platform))

    # ---- queueing -----------------------------------------------------------------------

    async def fan_out(
        self,
        company_id: str,
        event_type: str,
        data: Mapping[str, object],
        *,
        occurred_at: datetime,
        event_key: str,
    ) -> int:
        """Queue an event of ``company_id`` for every endpoint that wants it; how many did.
        Without any endpoint for the company, one round trip.

        The body is the Standard Webhooks shape, ``{"type", "timestamp", "data"}``, made once,
        so every attempt to every endpoint sends the same bytes. ``event_key`` names the event
        (the same key: the same event): its webhook-id derives from it, and queueing it again
        (a relay after a failure) queues nothing."""
        endpoints = await self.subscribers(company_id)
        if not endpoints:
            return 0
        body = msgspec.json.encode(
            {"type": event_type, "timestamp": rfc3339(occurred_at), "data": dict(data)}
        )
        review_id = data.get("review_id")
        msg_id = message_id(company_id, event_type, event_key)
        record = DeliveryRecord(
            id=msg_id, type=event_type, company_id=company_id, queued_at=rfc3339(occurred_at)
        )
        return await self.enqueue(
            endpoints,
            company_id=company_id,
            event_type=event_type,
            message_id=msg_id,
            body=body,
            order_key=f"{company_id}/{review_id}" if isinstance(review_id, str) else "",
            record=record,
            now_ms=int(time.time() * 1000),
        )

    async def enqueue(
        self,
        endpoint_ids: list[str],
        *,
        company_id: str,
        event_type: str,
        message_id: str,
        body: bytes,
        order_key: str,
        record: DeliveryRecord,
        now_ms: int,
    ) -> int:
        """Queue the event for each endpoint that wants it; how many queued it."""
        k = self._keys
        raw_record = msgspec.json.encode(record)
        queued = 0
        for endpoint_id in endpoint_ids:
            queued += int(
                await self._scripts.run(
                    "webhook_enqueue",
                    [
                        k.webhook(endpoint_id),
                        k.webhook_queue(endpoint_id),
                        k.webhook_seen(endpoint_id, message_id),
                        k.webhook_order(endpoint_id, order_key),
                        k.webhook_deliveries(endpoint_id),
                        k.webhook_recent(endpoint_id),
                    ],
                    [
                        event_type,
                        message_id,
                        body,
                        order_key,
                        now_ms,
                        _SEEN_TTL_S,
                        _RECORDS_KEPT,
                        company_id,
                        raw_record,
                    ],
                )
            )
        return queued

    async def state(self, delivery: Delivery) -> DeliveryState:
        k, e = self._keys, delivery.endpoint_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.webhook(e))
            pipe.lindex(k.webhook_order(e, delivery.order_key), 0)
            pipe.hget(k.webhook_schedule(e), delivery.entry_id)
            pipe.hget(k.webhook_deliveries(e), delivery.message_id)
            raw, head, due, record = await pipe.execute()
        return DeliveryState(
            endpoint=_endpoint(e, cast(dict[str, str], raw)),
            head=cast(str | None, head) if delivery.order_key else None,
            due_ms=int(due or 0),
            record=msgspec.json.decode(record, type=DeliveryRecord) if record else None,
        )

    async def record_attempt(
        self,
        delivery: Delivery,
        record: DeliveryRecord,
        due_ms: int,
        endpoint_fields: dict[str, str],
    ) -> None:
        k, e = self._keys, delivery.endpoint_id
        await self._scripts.run(
            "webhook_attempt",
            [k.webhook_deliveries(e), k.webhook_schedule(e), k.webhook(e)],
            [
                delivery.message_id,
                msgspec.json.encode(record),
                delivery.entry_id,
                due_ms,
                *_pairs(endpoint_fields),
            ],
        )

    async def finish(
        self, delivery: Delivery, record: DeliveryRecord, endpoint_fields: dict[str, str]
    ) -> str | None:
        """The delivery leaves the queue with its record; the review's next one, if any."""
        k, e = self._keys, delivery.endpoint_id
        head = await self._scripts.run(
            "webhook_finish",
            [
                k.webhook_queue(e),
                k.webhook_order(e, delivery.order_key),
                k.webhook_deliveries(e),
                k.webhook_schedule(e),
                k.webhook(e),
            ],
            [
                DELIVERY_GROUP,
                delivery.entry_id,
                delivery.message_id,
                msgspec.json.encode(record),
                "1" if delivery.order_key else "0",
                *_pairs(endpoint_fields),
            ],
        )
        return cast(str | None, head) or None

    async def make_due(self, consumer: str, endpoint_id: str, entry_id: str, idle_ms: int) -> None:
        """Bring a delivery that waits in the pending list forward: due at the next take-over
        (an entry not yet read by any worker is not touched: it is read in its turn)."""
        ids: list[Any] = [entry_id]
        await self._redis.xclaim(
            self._keys.webhook_queue(endpoint_id),
            DELIVERY_GROUP,
            consumer,
            0,
            ids,
            idle=idle_ms,
            justid=True,
        )

    async def deliveries(self, endpoint_id: str, limit: int) -> list[DeliveryRecord]:
        """The newest ``limit`` delivery records, newest first."""
        k = self._keys
        ids = cast(
            list[str], await self._redis.zrevrange(k.webhook_recent(endpoint_id), 0, limit - 1)
        )
        if not ids:
            return []
        raws = cast(
            list[str | None], await self._redis.hmget(k.webhook_deliveries(endpoint_id), ids)
        )
        return [msgspec.json.decode(r, type=DeliveryRecord) for r in raws if r]


def message_id(company_id: str, event_type: str, event_key: str) -> str:
    """The webhook-id of an event: derived from what names it, so it is the same whoever
    queues it and however often."""
    digest = hashlib.sha256(f"{company_id}\n{event_type}\n{event_key}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(fields: dict[str, str]) -> list[str]:
    return [x for pair in fields.items() for x in pair]


def _fields(endpoint: EndpointRecord) -> dict[str, str]:
    return {
        "url": endpoint.url,
        "events": " ".join(endpoint.events),
        "company": endpoint.company_id or "",
        "secret": endpoint.secret,
        "created_at": endpoint.created_at,
        "disabled_since": endpoint.disabled_since or "",
        "last_error": endpoint.last_error or "",
        "attempts": str(endpoint.attempts),
        "last_attempt_at": endpoint.last_attempt_at or "",
        "last_success_at": endpoint.last_success_at or "",
    }


def _endpoint(endpoint_id: str, raw: dict[str, str]) -> EndpointRecord | None:
    if not raw or "url" not in raw:
        return None
    return EndpointRecord(
        id=endpoint_id,
        url=raw["url"],
        events=raw.get("events", "").split(),
        company_id=raw.get("company") or None,
        secret=raw.get("secret", ""),
        created_at=raw.get("created_at", ""),
        disabled_since=raw.get("disabled_since") or None,
        last_error=raw.get("last_error") or None,
        attempts=int(raw.get("attempts") or 0),
        last_attempt_at=raw.get("last_attempt_at") or None,
        last_success_at=raw.get("last_success_at") or None,
    )


def _delivery(endpoint_id: str, entry_id: str, fields: dict[str, str], attempt: int) -> Delivery:
    return Delivery(
        endpoint_id=endpoint_id,
        entry_id=entry_id,
        attempt=attempt,
        message_id=fields.get("m", ""),
        event_type=fields.get("t", ""),
        body=fields.get("b", ""),
        order_key=fields.get("o", ""),
        company_id=fields.get("c", ""),
    )

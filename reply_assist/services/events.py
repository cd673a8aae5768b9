"""Events a company's platform hears about: the seam between what happens and webhooks.

A service that makes something happen calls ``emit`` once the change is stored; the webhooks
service (``services.webhooks``) queues the event for every endpoint that wants it. Kept apart so
that usage, drafting and publishing name what happened without knowing how it is delivered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

import msgspec

from reply_assist.runtime import Runtime

__all__ = ["EVENT_TYPES", "EventType", "emit"]

EventType = Literal[
    "reply.published", "reply.updated", "draft.ready", "usage.low", "usage.exhausted"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "reply.published",
    "reply.updated",
    "draft.ready",
    "usage.low",
    "usage.exhausted",
)


async def emit(
    rt: Runtime, company_id: str, event_type: EventType, data: Mapping[str, object]
) -> None:
    """Queue one event of ``company_id`` for delivery. ``data`` never holds a reviewer's data.

    Cheap when the company has no endpoint (one round trip, nothing written). The same event
    emitted twice (the same type and data) is one event: the same webhook-id, queued once.
    ``data["review_id"]``, when given, orders the event after the review's earlier ones.
    Raises ``RedisError`` when Redis fails (the caller's step decides whether that matters).
    """
    payload = {"company_id": company_id, **data}
    key = hashlib.sha256(msgspec.json.encode(payload, order="sorted")).hexdigest()
    await rt.webhooks.fan_out(
        company_id, event_type, payload, occurred_at=datetime.now(UTC), event_key=key
    )

"""Events a company's platform hears about: the seam between what happens and webhooks.

A service that makes something happen calls ``emit`` once the change is stored; the webhooks
service (``services.webhooks``) queues the event for every endpoint that wants it. Kept apart so
that usage, drafting and publishing name what happened without knowing how it is delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

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

    Until webhooks exist nothing is listening, so nothing is queued.
    """
    del rt, company_id, event_type, data

"""Webhook endpoints, the platform admin's side: register, list, read, delete, rotate the
secret, and the recent deliveries.

Scope: only the platform admin token manages endpoints (it may act for every company). An
endpoint registered with a ``company_id`` hears only that company's events; one registered
without hears every company's (the admin's scope is the whole platform). The signing secret
(``whsec_`` and 32 random bytes in base64) is answered once, when made or rotated; it is kept to
sign deliveries and never logged.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from reply_assist.errors import InvalidRequest, NotFound
from reply_assist.runtime import Runtime
from reply_assist.services.access import Principal, require_admin
from reply_assist.services.events import EVENT_TYPES
from reply_assist.services.lookups import require_company
from reply_assist.services.webhook_urls import UrlRefused, check_shape, target_of
from reply_assist.store.webhooks import DeliveryRecord, EndpointRecord, rfc3339

__all__ = [
    "DeliveryRecord",
    "EndpointRecord",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "rotate_secret",
]

log = structlog.get_logger(__name__)

MAX_DELIVERIES_LISTED = 100


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_events(events: Sequence[str]) -> list[str]:
    allowed = ", ".join(EVENT_TYPES)
    if not events:
        raise InvalidRequest(
            f"events: name at least one event type (one of {allowed}).",
            code="webhook_event_unknown",
        )
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidRequest(
            f"events: unknown event type {unknown[0]!r}; the event types are: {allowed}.",
            code="webhook_event_unknown",
            errors=[{"field": "events", "allowed": allowed}],
        )
    return list(dict.fromkeys(events))


def _refused(exc: UrlRefused) -> InvalidRequest:
    return InvalidRequest(f"url: {exc.detail}", code=exc.code)


async def create_webhook(
    rt: Runtime,
    principal: Principal,
    *,
    url: str,
    events: Sequence[str],
    company_id: str | None,
) -> EndpointRecord:
    """Register an endpoint (platform admin); the record holds the secret, to show once."""
    allow_private = rt.settings.webhook_allow_private
    try:
        check_shape(url, allow_private=allow_private)
    except UrlRefused as exc:
        raise _refused(exc) from None
    wanted = _check_events(events)
    require_admin(principal)
    if company_id is not None:
        await require_company(rt, company_id)
    try:
        await target_of(url, allow_private=allow_private)  # resolves: after the role check
    except UrlRefused as exc:
        raise _refused(exc) from None
    endpoint = EndpointRecord(
        id="wh_" + secrets.token_hex(12),
        url=url,
        events=wanted,
        company_id=company_id,
        secret=_new_secret(),
        created_at=rfc3339(datetime.now(UTC)),
    )
    await rt.webhooks.create(endpoint)
    log.info("webhook_registered", endpoint_id=endpoint.id, company_id=company_id, events=wanted)
    return endpoint


async def list_webhooks(rt: Runtime, principal: Principal) -> list[EndpointRecord]:
    require_admin(principal)
    return await rt.webhooks.get_many(await rt.webhooks.ids())


async def get_webhook(rt: Runtime, principal: Principal, endpoint_id: str) -> EndpointRecord:
    require_admin(principal)
    endpoint = await rt.webhooks.get(endpoint_id)
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id.", code="webhook_not_found")
    return endpoint


async def delete_webhook(rt: Runtime, principal: Principal, endpoint_id: str) -> None:
    """Delete an endpoint: nothing more is sent to it (deliveries queued are dropped)."""
    endpoint = await get_webhook(rt, principal, endpoint_id)
    await rt.webhooks.delete(endpoint)
    log.info("webhook_deleted", endpoint_id=endpoint_id)


async def rotate_secret(rt: Runtime, principal: Principal, endpoint_id: str) -> EndpointRecord:
    """A new secret, used from the next attempt on (the old one signs nothing more)."""
    endpoint = await get_webhook(rt, principal, endpoint_id)
    endpoint.secret = _new_secret()
    if not await rt.webhooks.set_secret(endpoint_id, endpoint.secret):
        raise NotFound("No webhook endpoint with this id.", code="webhook_not_found")
    log.info("webhook_secret_rotated", endpoint_id=endpoint_id)
    return endpoint


async def list_deliveries(
    rt: Runtime, principal: Principal, endpoint_id: str, limit: int = 50
) -> list[DeliveryRecord]:
    """The endpoint's most recent deliveries, newest first (at most 100 are kept)."""
    await get_webhook(rt, principal, endpoint_id)
    return await rt.webhooks.deliveries(endpoint_id, max(1, min(limit, MAX_DELIVERIES_LISTED)))

"""Webhook endpoints (platform admin): register, list, read, delete, rotate the secret, and the
recent deliveries. What is sent, and how, is in docs/webhooks.md."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.http.ids import ID_PATTERN, IdField
from reply_assist.runtime import Runtime
from reply_assist.services import webhooks
from reply_assist.services.webhooks import DeliveryRecord, EndpointRecord

__all__ = ["WebhookController"]

_EVENTS = "`reply.published`, `reply.updated`, `draft.ready`, `usage.low`, `usage.exhausted`"


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[
        str,
        Meta(
            max_length=2048,
            description="Where events are POSTed: `https`, resolving to public addresses only.",
        ),
    ]
    events: Annotated[
        list[str], Meta(max_length=10, description=f"The event types wanted: {_EVENTS}.")
    ]
    company_id: Annotated[
        IdField | None,
        Meta(description="Only this company's events; null or absent: every company's."),
    ] = None


class WebhookOut(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    company_id: str | None
    created_at: str
    enabled: Annotated[bool, Meta(description="false once disabled after repeated failures.")]
    disabled_since: str | None
    last_error: Annotated[str | None, Meta(description="Why the last failed attempt failed.")]
    attempts: Annotated[
        int,
        Meta(description="Attempts of the latest failing delivery (0 after a success)."),
    ]
    last_attempt_at: str | None
    last_success_at: str | None


class WebhookCreated(WebhookOut):
    secret: Annotated[
        str,
        Meta(
            description="The signing secret (`whsec_…`), shown only here and when rotated: "
            "verify deliveries with a Standard Webhooks library."
        ),
    ]


class WebhookList(msgspec.Struct):
    items: list[WebhookOut]


class DeliveryOut(msgspec.Struct):
    webhook_id: Annotated[str, Meta(description="The `webhook-id` header of every attempt.")]
    type: str
    company_id: str
    state: Annotated[str, Meta(description="`pending`, `delivered`, `failed` or `dropped`.")]
    attempts: int
    status_codes: Annotated[
        list[int], Meta(description="Each attempt's HTTP status, oldest first (0: no answer).")
    ]
    last_error: str | None
    queued_at: str
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class DeliveryList(msgspec.Struct):
    items: list[DeliveryOut]


def _out(e: EndpointRecord) -> WebhookOut:
    return WebhookOut(
        id=e.id,
        url=e.url,
        events=e.events,
        company_id=e.company_id,
        created_at=e.created_at,
        enabled=e.disabled_since is None,
        disabled_since=e.disabled_since,
        last_error=e.last_error,
        attempts=e.attempts,
        last_attempt_at=e.last_attempt_at,
        last_success_at=e.last_success_at,
    )


def _created(e: EndpointRecord) -> WebhookCreated:
    return WebhookCreated(**msgspec.structs.asdict(_out(e)), secret=e.secret)


def _delivery(r: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(
        webhook_id=r.id,
        type=r.type,
        company_id=r.company_id,
        state=r.state,
        attempts=r.attempts,
        status_codes=r.status_codes,
        last_error=r.last_error,
        queued_at=r.queued_at,
        last_attempt_at=r.last_attempt_at,
        next_attempt_at=r.next_attempt_at,
        delivered_at=r.delivered_at,
    )


EndpointId = Annotated[str, Parameter(pattern=ID_PATTERN, min_length=1, max_length=128)]


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        summary="Register a webhook endpoint (platform admin); the secret is shown once",
        status_code=201,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        data: JSONBody[WebhookIn],
    ) -> WebhookCreated:
        endpoint = await webhooks.create_webhook(
            runtime,
            principal_of(request),
            url=data.url,
            events=data.events,
            company_id=data.company_id,
        )
        return _created(endpoint)

    @get(summary="List webhook endpoints (platform admin); never the secrets")
    async def list_all(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> WebhookList:
        found = await webhooks.list_webhooks(runtime, principal_of(request))
        return WebhookList(items=[_out(e) for e in found])

    @get("/{endpoint_id:str}", summary="Read a webhook endpoint and its delivery state")
    async def read(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        endpoint_id: EndpointId,
    ) -> WebhookOut:
        return _out(await webhooks.get_webhook(runtime, principal_of(request), endpoint_id))

    @delete(
        "/{endpoint_id:str}",
        summary="Delete a webhook endpoint; queued deliveries are dropped",
        status_code=204,
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        endpoint_id: EndpointId,
    ) -> None:
        await webhooks.delete_webhook(runtime, principal_of(request), endpoint_id)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        summary="Replace the signing secret (shown once); the old one signs nothing more",
        status_code=200,
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        endpoint_id: EndpointId,
    ) -> WebhookCreated:
        return _created(await webhooks.rotate_secret(runtime, principal_of(request), endpoint_id))

    @get("/{endpoint_id:str}/deliveries", summary="Recent deliveries to a webhook endpoint")
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        endpoint_id: EndpointId,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> DeliveryList:
        found = await webhooks.list_deliveries(runtime, principal_of(request), endpoint_id, limit)
        return DeliveryList(items=[_delivery(r) for r in found])

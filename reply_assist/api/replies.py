"""Publishing a reply: only ever by an agent's explicit call, every version kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.http.ids import AgentIdField, CompanyId, IdField, ReviewId, rfc3339
from reply_assist.runtime import Runtime
from reply_assist.services.publishing import ReplyVersion, get_reply, publish_reply

__all__ = ["ReplyController"]


PublishIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        required=False,
        description="Makes a retried publish return the first call's answer instead of "
        "publishing again (kept 24 hours).",
    ),
]


class PublishIn(msgspec.Struct):
    text: Annotated[str, Meta(min_length=1, max_length=10_000)]
    agent_id: AgentIdField
    draft_id: IdField | None = None


class ReplyVersionOut(msgspec.Struct):
    review_id: str
    text: str
    version: int
    published_at: str
    approved_by: str
    draft_id: str | None
    edited: bool


class ReplyOut(msgspec.Struct):
    review_id: str
    text: str
    version: int
    published_at: str
    approved_by: str
    draft_id: str | None
    edited: bool
    versions: list[ReplyVersionOut]


def _version_out(review_id: str, v: ReplyVersion) -> ReplyVersionOut:
    return ReplyVersionOut(
        review_id=review_id,
        text=v.text,
        version=v.version,
        published_at=rfc3339(v.published_at),
        approved_by=v.agent_id,
        draft_id=v.draft_id,
        edited=v.edited,
    )


class ReplyController(Controller):
    path = "/companies/{company_id:str}/reviews/{review_id:str}/reply"
    tags = ["replies"]

    @put(
        summary="Approve and publish a reply (role agent): 201 the first time, 200 an update",
        description="A text equal to the current version's publishes nothing (no version, no "
        "event) and is answered 200 with the current version, so a double click or a retry is "
        "harmless. A text with no visible character (white space, zero-width and other "
        "invisible characters) is refused (400 `reply_blank`); `\\r\\n` and `\\r` are kept "
        "as `\\n`. `draft_id` names the draft the text came from (leave it out for a text "
        "written or edited by hand, as the reply desk's Edit reply does); the statistics "
        "count a draft's first publish only. "
        "`Idempotency-Key` works as on generate: a retry gets the first call's answer (even "
        "after a later publish), 409 `idempotency_key_in_use` while it runs, 422 "
        "`idempotency_key_reused` with another body.",
        status_code=200,
    )
    async def publish(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        data: JSONBody[PublishIn],
        idempotency_key: PublishIdempotencyKey = None,
    ) -> Response[ReplyVersionOut]:
        published = await publish_reply(
            runtime,
            principal_of(request),
            company_id,
            review_id,
            text=data.text,
            agent_id=data.agent_id,
            draft_id=data.draft_id,
            now=datetime.now(UTC),
            idempotency_key=idempotency_key,
        )
        return Response(_version_out(review_id, published.version), status_code=published.status)

    @get(summary="The current reply and all its versions")
    async def get_reply(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> ReplyOut:
        versions = await get_reply(runtime, principal_of(request), company_id, review_id)
        current = _version_out(review_id, versions[-1])
        return ReplyOut(
            **msgspec.structs.asdict(current),
            versions=[_version_out(review_id, v) for v in versions],
        )

"""Drafts: generate (JSON or server-sent events), read, edit, and feedback on them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody
from litestar.response import Stream
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.auth import take_prefetched
from reply_assist.http.disconnect import unless_client_leaves
from reply_assist.http.drafts import (
    DraftOut,
    draft_event_stream,
    draft_out,
    replayed_draft_stream,
)
from reply_assist.http.ids import AgentIdField, CompanyId, DraftId, ReviewId, rfc3339
from reply_assist.http.negotiation import wants_event_stream
from reply_assist.models import Reason
from reply_assist.runtime import Runtime
from reply_assist.services.drafts import (
    DraftRecord,
    edit_draft,
    get_draft,
    list_drafts,
    start_generation,
    vote_on_draft,
)

__all__ = ["DraftController", "DraftOut", "draft_out"]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        required=False,
        description="Makes a retried POST return the first call's draft (kept 24 hours).",
    ),
]


class GenerateIn(msgspec.Struct):
    guidance: Annotated[str, Meta(max_length=500)] | None = None


class DraftList(msgspec.Struct):
    items: list[DraftOut]


class EditIn(msgspec.Struct):
    text: Annotated[str, Meta(min_length=1, max_length=10_000)]
    agent_id: AgentIdField


class FeedbackIn(msgspec.Struct):
    vote: Literal["up", "down"]
    agent_id: AgentIdField
    reason: Reason | None = None
    comment: Annotated[str, Meta(max_length=2000)] | None = None


class FeedbackOut(msgspec.Struct):
    draft_id: str
    agent_id: str
    vote: str
    created_at: str
    reason: str | None = None
    comment: str | None = None


class DraftController(Controller):
    path = "/companies/{company_id:str}/reviews/{review_id:str}/drafts"
    tags = ["drafts"]

    @post(
        summary="Generate one draft reply (JSON, or server-sent events with Accept: "
        "text/event-stream)",
        status_code=201,
        # The auth middleware may read company and review and reserve the slot in its own
        # round trip when the body decodes strictly as this type (see auth.AuthMiddleware).
        opt={"generation_gate": GenerateIn | None},
        responses={
            201: ResponseSpec(data_container=DraftOut, description="The stored draft."),
            200: ResponseSpec(
                data_container=str,
                media_type="text/event-stream",
                description='With Accept: text/event-stream: `delta` events ({"text": …}), '
                "then one `draft` event (the draft), or one `error` event (a problem body).",
            ),
        },
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        data: JSONBody[GenerateIn | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DraftOut] | Stream:
        started = await start_generation(
            runtime,
            principal_of(request),
            company_id,
            review_id,
            guidance=data.guidance if data is not None else None,
            idempotency_key=idempotency_key,
            prefetched=take_prefetched(request.scope),
        )
        stream = wants_event_stream(request.headers.get("accept", ""))
        if isinstance(started, DraftRecord):  # an Idempotency-Key replay
            if stream:
                return replayed_draft_stream(started)
            return Response(draft_out(started), status_code=201)
        if stream:
            items = started.stream()
            # Answer 200 once the model has answered HTTP 200 (the first item is ANSWERING), not
            # at its first token: a model that refuses or cannot be reached still gets an
            # ordinary 503 problem response, and starting our response stays off the path from
            # the model's first token to the client's first delta (p99 6.5 → 2.7 ms, 16 streams).
            first = await anext(items)
            return draft_event_stream(first, items)
        # Like a stream, the call ends with its client: nothing stored or counted for nobody.
        record = await unless_client_leaves(request.receive, started.complete)
        return Response(draft_out(record), status_code=201)

    @get(summary="The review's drafts, newest first")
    async def list_drafts(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> DraftList:
        records = await list_drafts(runtime, principal_of(request), company_id, review_id)
        return DraftList(items=[draft_out(r) for r in records])

    @get("/{draft_id:str}", summary="One draft")
    async def get_draft(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        draft_id: DraftId,
    ) -> DraftOut:
        draft = await get_draft(runtime, principal_of(request), company_id, review_id, draft_id)
        return draft_out(draft)

    @patch(
        "/{draft_id:str}",
        summary="Save an agent's edit; the generated text is kept",
        description="A draft that has been published cannot be edited any more: 409 "
        "`draft_already_published` (publish an updated reply instead). Line endings are kept "
        "as `\\n` (`\\r\\n` and `\\r` become `\\n`); a text with no visible character is "
        "refused (400 `reply_blank`); a text equal to the draft's current one saves nothing.",
    )
    async def edit_draft(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        draft_id: DraftId,
        data: JSONBody[EditIn],
    ) -> DraftOut:
        outcome = await edit_draft(
            runtime,
            principal_of(request),
            company_id,
            review_id,
            draft_id,
            text=data.text,
            agent_id=data.agent_id,
        )
        return draft_out(outcome.draft)

    @post(
        "/{draft_id:str}/feedback",
        summary="Thumbs up or down on a draft; an agent's second vote replaces the first",
        description="`reason` goes with the vote's direction: `helpful` with `up`; "
        "`wrong_tone`, `inaccurate`, `too_long`, `too_generic`, `wrong_language` or `other` "
        "with `down` (or none with either); a reason of the other direction is refused (400 "
        "`invalid_request`, listing the allowed values). A `comment` of only white space is no "
        "comment.",
        status_code=201,
    )
    async def feedback(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        draft_id: DraftId,
        data: JSONBody[FeedbackIn],
    ) -> FeedbackOut:
        vote = await vote_on_draft(
            runtime,
            principal_of(request),
            company_id,
            review_id,
            draft_id,
            vote=data.vote,
            reason=data.reason,
            comment=data.comment,
            agent_id=data.agent_id,
        )
        return FeedbackOut(
            draft_id=draft_id,
            agent_id=vote.agent_id,
            vote=vote.vote,
            created_at=rfc3339(vote.created_at),
            reason=vote.reason,
            comment=vote.comment,
        )

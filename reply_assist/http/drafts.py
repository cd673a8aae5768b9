"""A draft on the wire, and the server-sent events of a streamed draft: the API's generate
call and the reply desk's Generate reply send the very same events.

``delta`` events (``{"text": …}``) as the model writes, then one ``draft`` event (the draft as
``GET …/drafts/{draft_id}`` answers it), or one ``error`` event (a problem body) when the call
fails after the stream started, after which nothing is stored or counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
import structlog
from litestar.response import ServerSentEventMessage, Stream
from msgspec import Meta
from redis.exceptions import RedisError

from reply_assist.drafting.base import Answering
from reply_assist.errors import ReplyAssistError, StoreUnavailable
from reply_assist.http.ids import rfc3339
from reply_assist.markets import StarBand
from reply_assist.models import STAR_BAND_DESCRIPTION, DraftUsage, Origin
from reply_assist.services.drafts import DraftRecord

__all__ = [
    "WARNINGS_DESCRIPTION",
    "DraftOut",
    "draft_event_stream",
    "draft_out",
    "replayed_draft_stream",
]

log = structlog.get_logger(__name__)

WARNINGS_DESCRIPTION = (
    "What an agent must look at before publishing, in this order: wrong_language, too_long, "
    "cut_off, url_not_allowed, email_not_allowed, phone_not_allowed (a link, address or number "
    "not in the company's settings), prompt_leak, promise_not_allowed (a refund, discount, "
    "compensation or voucher), admits_fault (legal fault or liability), reviewer_data (the "
    "reviewer's surname or contacts), review_echo (ten or more words copied from the review), "
    "guidance_not_applied (the built-in templates cannot follow guidance). "
    "Empty when the draft passed every check."
)


class DraftOut(msgspec.Struct):
    id: str
    review_id: str
    text: str  # the current text: the agent's edit if there is one, else the generated text
    language: str
    generation: int
    generations_left: int
    model: str
    prompt_version: str
    usage: DraftUsage
    status: Annotated[str, Meta(description="`draft`, or `published` once published as a reply")]
    created_at: str
    warnings: Annotated[list[str], Meta(description=WARNINGS_DESCRIPTION)]
    generated_text: str  # kept beside an agent's edit
    edited: bool
    prompt_truncated: bool  # the review was cut to fit the prompt budget
    edited_by: str | None = None
    edited_at: str | None = None
    published_version: int | None = None
    origin: Annotated[
        Origin,
        Meta(
            description="`request`: asked for by a person or a dashboard (`POST …/drafts`); "
            "`rule`: made in the background by the company's draft rules."
        ),
    ] = "request"
    star_band: Annotated[StarBand | None, Meta(description=STAR_BAND_DESCRIPTION)] = None


def draft_out(record: DraftRecord) -> DraftOut:
    data = record.data
    return DraftOut(
        id=data.id,
        review_id=data.review_id,
        text=record.edited_text if record.edited_text is not None else data.text,
        language=data.language,
        generation=record.generation,
        generations_left=record.generations_left,
        model=data.model,
        prompt_version=data.prompt_version,
        usage=data.usage,
        status=record.status,
        created_at=rfc3339(data.created_at),
        warnings=data.warnings,
        generated_text=data.text,
        edited=record.edited_text is not None and record.edited_text != data.text,
        prompt_truncated=data.prompt_truncated,
        edited_by=record.edited_by,
        edited_at=rfc3339(record.edited_at) if record.edited_at else None,
        published_version=record.published_version,
        origin=data.origin,
        star_band=data.star_band,
    )


def _event(event: str, payload: object) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode())


def _as_response(events: AsyncIterator[ServerSentEventMessage]) -> Stream:
    """A ``text/event-stream`` response of ``events``, as Litestar's ``ServerSentEvent`` makes
    it, without its first step through a worker thread (it reads its preamble, empty here, with
    ``sync_to_thread``): a thread hop on every stream, 8 % of a worker's samples in a soak."""

    async def encoded() -> AsyncIterator[bytes]:
        async for event in events:
            yield event.encode()

    return Stream(
        encoded(),
        status_code=200,
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "Connection": "keep-alive",
            "X-Accel-Buffering": "no",
        },
    )


def replayed_draft_stream(record: DraftRecord) -> Stream:
    """The stream of a draft that already exists (an ``Idempotency-Key`` replay): one event."""

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        yield _event("draft", draft_out(record))

    return _as_response(events())


def draft_event_stream(
    first: Answering | str | DraftRecord, rest: AsyncIterator[Answering | str | DraftRecord]
) -> Stream:
    """The response for a generation's items (``Generation.stream``): ``first`` was already
    taken, so that a refusal before the model answered was an ordinary problem response."""
    return _as_response(_events(first, rest))


async def _events(
    first: Answering | str | DraftRecord, rest: AsyncIterator[Answering | str | DraftRecord]
) -> AsyncIterator[ServerSentEventMessage]:
    """Deltas, then the draft; a failure after the first byte becomes one ``error`` event."""

    async def items() -> AsyncIterator[Answering | str | DraftRecord]:
        yield first
        async for item in rest:
            yield item

    try:
        async for item in items():
            if isinstance(item, DraftRecord):
                yield _event("draft", draft_out(item))
            elif isinstance(item, str):
                yield _event("delta", {"text": item})
    except ReplyAssistError as exc:
        yield _event("error", exc.to_problem())
    except RedisError as exc:
        log.warning("store_error_mid_stream", error=type(exc).__name__)
        yield _event(
            "error", StoreUnavailable("The store failed; nothing was stored.").to_problem()
        )

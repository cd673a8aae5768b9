"""What a request sends and what it accepts: the JSON content type, the Accept header.

``Accept`` is parsed with Litestar's own ``MediaTypeHeader`` (case-insensitive types, ``q`` as
fixed point, specificity); on top of it, a type with ``q=0`` is "not acceptable" (RFC 9110
§12.4.2), which Litestar's ``Accept.best_match`` does not honour when nothing else matches.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request
from litestar.datastructures.headers import Accept, MediaTypeHeader

from reply_assist.errors import UnsupportedMediaType

__all__ = ["EVENT_STREAM", "JSON", "require_json_body", "wants_event_stream"]

JSON: Final = "application/json"
EVENT_STREAM: Final = "text/event-stream"


def wants_event_stream(accept: str) -> bool:
    """Whether an ``Accept`` header prefers server-sent events to JSON.

    JSON when the header is absent, says ``*/*``, ranks JSON at least as high, or refuses the
    event stream with ``q=0``; at equal rank, the type listed first wins.
    """
    ranges = [MediaTypeHeader(part) for part in accept.split(",") if part.strip()]
    acceptable = [r for r in ranges if r.priority[0] > 0]
    refused = [r for r in ranges if r.priority[0] <= 0]
    offered = [t for t in (JSON, EVENT_STREAM) if not _explicitly_refused(t, refused)]
    if not acceptable or not offered:
        return False
    chosen = Accept(",".join(str(r) for r in acceptable)).best_match(offered)
    return chosen == EVENT_STREAM


def _explicitly_refused(media_type: str, refused: list[MediaTypeHeader]) -> bool:
    maintype, _, subtype = media_type.partition("/")
    return any(r.maintype == maintype and r.subtype == subtype for r in refused)


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == JSON or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """415 for a body that does not say it is JSON (a body-less call needs no content type).

    A form post (curl's ``-d`` without ``-H 'Content-Type: application/json'``) or ``text/plain``
    that happens to hold JSON would otherwise be read as JSON: a client bug hidden until a
    stricter server, or a CSRF-style form post, relies on it.
    """
    content_type = request.headers.get("content-type", "")
    if _is_json(content_type):
        return
    if not await request.body():
        return
    sent = content_type.partition(";")[0].strip() or "no Content-Type"
    raise UnsupportedMediaType(
        f"The body must be JSON, sent with 'Content-Type: application/json' (got {sent})."
    )

"""The one mapper from exceptions to RFC 9457 problem responses.

Client mistakes become 4xx with a stable ``code``; a failed dependency a 503 with Retry-After;
anything unexpected a 500 whose detail says nothing about internals (the log has the rest).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from reply_assist import metrics
from reply_assist.errors import (
    PROBLEM_MEDIA_TYPE,
    ClientError,
    InvalidRequest,
    ReplyAssistError,
    StoreUnavailable,
)
from reply_assist.http.middleware import client_went_away, closed_status

__all__ = ["exception_handlers", "problem_response", "response_for"]

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class _HttpProblem(ClientError):
    """A 4xx that Litestar raised itself (no route, wrong method, body too large)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail, code=_HTTP_CODES.get(status, "bad_request"))
        self.status = status  # type: ignore[misc]
        self.title = detail  # type: ignore[misc]


def problem_response(error: ReplyAssistError) -> Response[Any]:
    return Response(
        error.to_problem(),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def _field_of(extra: Any) -> tuple[str, list[dict[str, str]]]:
    """The first invalid field's name and a list of all errors Litestar reported."""
    errors: list[dict[str, str]] = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": str(item.get("key", "")),
                    "source": str(getattr(item.get("source"), "value", item.get("source", ""))),
                    "message": str(item.get("message", "")),
                }
            )
    field = errors[0]["field"] if errors else ""
    return field, errors


_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_BAD_ENUM = re.compile(r"^Invalid enum value ")
# A check in a body type's __post_init__ names its field this way (see models.py).
_NAMED_BY_CHECK = re.compile(r"^Invalid '(?P<name>[^']+)': (?P<message>.+)$", re.DOTALL)
_PATH_PART = re.compile(r"[^.\[\]]+|\[\d+\]")


def _allowed_values(body_type: Any, field: str) -> tuple[Any, ...] | None:
    """The values a Literal field of the body accepts, found by its path (``a.b``, ``c[0]``)."""
    try:
        node: Any = msgspec.inspect.type_info(body_type)
    except Exception:  # not a msgspec-describable type: no list to offer
        return None
    for part in _PATH_PART.findall(field):
        node = _without_none(node)
        if part.startswith("[") and isinstance(node, msgspec.inspect.ListType):
            node = node.item_type
        elif isinstance(node, msgspec.inspect.StructType):
            node = next((f.type for f in node.fields if f.encode_name == part), None)
        else:
            return None
    node = _without_none(node)
    return node.values if isinstance(node, msgspec.inspect.LiteralType) else None


def _allowed_in(request: Request[Any, Any, Any], source: str, field: str) -> tuple[Any, ...] | None:
    """The values a Literal field of the body, or a Literal query parameter, accepts."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    if source == "body":
        data = parameters.get("data")
        return _allowed_values(data.annotation, field) if data is not None else None
    for parameter in parameters.values():  # a query parameter, by its name in the URL
        kwarg = parameter.kwarg_definition
        name = getattr(kwarg, "query", None) or getattr(kwarg, "name", None) or parameter.name
        if name == field:
            return _allowed_values(parameter.annotation, "")
    return None


def _without_none(node: Any) -> Any:
    if isinstance(node, msgspec.inspect.Metadata):  # a field with a description or limits
        node = node.type
    if isinstance(node, msgspec.inspect.UnionType):
        rest = [t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)]
        return rest[0] if len(rest) == 1 else node
    return node


def _explained(request: Request[Any, Any, Any], error: dict[str, str]) -> dict[str, str]:
    """Name a missing field (Litestar reports it as ``data``); list an enum's allowed values."""
    field, message = error["field"], error["message"]
    if missing := _MISSING.match(message):
        name = missing.group("name")
        field = name if field in ("", "data") else f"{field}.{name}"
        return {**error, "field": field, "message": "a required field is missing"}
    if named := _NAMED_BY_CHECK.match(message):
        name = named.group("name")
        field = name if field in ("", "data") else f"{field}.{name}"
        return {**error, "field": field, "message": named.group("message")}
    if _BAD_ENUM.match(message) and error.get("source") in ("body", "query"):
        allowed = _allowed_in(request, error["source"], field)
        if allowed:
            listed = ", ".join(repr(value) for value in allowed)
            return {**error, "message": f"{message}; allowed: {listed}"}
    return error


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    _, errors = _field_of(exc.extra)
    errors = [_explained(request, error) for error in errors]
    field = errors[0]["field"] if errors else ""
    message = errors[0]["message"] if errors else exc.detail
    detail = f"Invalid '{field}': {message}" if field else f"Invalid request: {message}"
    return problem_response(InvalidRequest(detail, errors=errors or None))


def _on_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        return _on_unexpected(_, exc)
    if exc.status_code == 400:
        return problem_response(InvalidRequest(f"Invalid request: {exc.detail}"))
    return problem_response(_HttpProblem(exc.status_code, exc.detail))


def _on_ours(_: Request[Any, Any, Any], exc: ReplyAssistError) -> Response[Any]:
    return problem_response(exc)


def _on_redis(_: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
        metrics.STORE_ERRORS.labels(type(exc).__name__).inc()
        log.warning("store_unavailable", error=type(exc).__name__)
        return problem_response(
            StoreUnavailable("The store (Redis) is unavailable; nothing was changed.")
        )
    return _on_unexpected(_, exc)


def _on_undecodable(_: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # A body that is not UTF-8: Litestar's JSON decoding lets the codec error through.
    return problem_response(InvalidRequest("Invalid request: the body is not valid UTF-8."))


def _on_too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # JSON nested past the decoder's recursion limit (msgspec raises RecursionError).
    return problem_response(InvalidRequest("Invalid request: the body is nested too deeply."))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if client_went_away(request.scope):
        # Reading the body failed because the client left: not our failure, and nobody to tell.
        log.info("client_disconnected", error=type(exc).__name__)
        return Response(None, status_code=closed_status(request.scope))
    log.exception("unexpected_error", error=type(exc).__name__)
    error = ReplyAssistError("An unexpected error occurred; it has been logged.")
    return problem_response(error)


exception_handlers: ExceptionHandlersMap = {
    ReplyAssistError: _on_ours,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    RedisError: _on_redis,
    UnicodeDecodeError: _on_undecodable,
    RecursionError: _on_too_deep,
    Exception: _on_unexpected,
}


def response_for(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The response the handlers above give ``exc``, for code that runs outside Litestar's own
    exception handling (the authentication middleware)."""
    for cls in type(exc).__mro__:
        handler = exception_handlers.get(cls)
        if handler is not None:
            return handler(request, exc)
    return _on_unexpected(request, exc)

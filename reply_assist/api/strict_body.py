"""Request bodies decoded strictly: ``"stars": "2"`` is a 400, not the number 2.

Litestar converts bodies with msgspec in lax mode (``strict=False``, fixed in its signature model),
which turns strings into numbers, booleans and dates and numbers into dates. A client bug would
then store something the client did not mean, so before the handler runs, its body is decoded
once more, strictly, into the handler's own body type; a refusal is the same 400 problem, naming
the field, that Litestar gives for any other invalid body. Well-formed bodies then go through
Litestar's own parsing unchanged. A whole number written as ``5.0`` is still an integer, as JSON
Schema (and so the OpenAPI schema) has it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler

from reply_assist.http.negotiation import require_json_body

__all__ = ["refuse_coerced_body"]

_WHERE = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def _body_type(handler: HTTPRouteHandler) -> Any:
    # Read each time (~0.1 µs: the parsed signature is cached on the handler). A cache of ours
    # keyed by id(handler) gave a handler of a later app, at a freed handler's address, the old
    # handler's body type: a wrong 400 now and then in the tests, which start many apps.
    data = handler.parsed_fn_signature.parameters.get("data")
    return None if data is None else data.annotation


def _number(literal: str) -> float | int:
    """A JSON number with a fraction or exponent; a whole one is an integer, as in JSON Schema."""
    value = float(literal)
    return int(value) if value.is_integer() else value


_untyped = msgspec.json.Decoder(float_hook=_number)


async def refuse_coerced_body(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: 415 when a body is not sent as JSON, 400 when it is valid
    only after lax conversion."""
    body_type = _body_type(request.route_handler)
    if body_type is None:
        return
    await require_json_body(request)  # 415 first: a form post is not JSON to be checked
    raw = await request.body()  # cached: Litestar reads the same bytes afterwards
    try:
        value = _untyped.decode(raw)
    except msgspec.DecodeError:
        return  # empty or not JSON: Litestar's own checks answer that
    try:
        msgspec.convert(value, body_type, strict=True)
    except msgspec.ValidationError as exc:
        strict_error = str(exc)
    else:
        return
    try:
        msgspec.convert(value, body_type, strict=False)
    except msgspec.ValidationError:
        return  # invalid in any mode: Litestar's own 400 names the problem
    match = _WHERE.search(strict_error)
    raise ValidationException(
        detail=strict_error,
        extra=[
            {
                "key": match.group("path") if match else "",
                "message": _WHERE.sub("", strict_error),
                "source": "body",
            }
        ],
    )

"""Request ids and access logs.

The id is the client's ``X-Request-ID`` when it sent a sane one, else a new one; it is bound to
every log line of the request and returned on every response (errors included: the header is
added in the app's ``before_send`` hook, which sees every response).

The access log wraps the whole application (``RequestContext``), outside Litestar's router: a
request that matches no route (404, 405) never reaches route middleware, yet gets its line too.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "SERVER_CLOSED_STATUS",
    "RequestContext",
    "add_request_id_header",
    "client_went_away",
    "closed_status",
    "complete_allow_header",
    "request_id_of",
]

log = structlog.get_logger("reply_assist.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

# The status logged and counted for a client that closed its connection before the answer was
# sent (nginx's convention): nobody received a status, and it is not the service's failure.
CLIENT_CLOSED_REQUEST = 499
# Where the server (connection_guard) notes the status it answered itself when it closed a
# connection in the middle of a request, e.g. 408 for a body past its deadline: the access log
# and the metrics then show that, not 499.
SERVER_CLOSED_STATUS = "server_closed_status"


def request_id_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        rid = sent if _SANE_ID.match(sent) else secrets.token_hex(12)
        state["request_id"] = rid
    return str(rid)


async def add_request_id_header(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id_of(scope)


async def complete_allow_header(message: Message, scope: Scope) -> None:
    """List every method of the path in an automatic OPTIONS answer's ``Allow``.

    Litestar 2.25 makes the OPTIONS handler when a path's first handler is registered and, as
    the path's other handlers join, keeps that handler, whose ``Allow`` still lists only the
    first one's methods (``OPTIONS /v1/companies/acme`` said ``GET, OPTIONS``, without PUT).
    The path's route, found by the handler it holds, knows all of them.
    """
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    handler = scope.get("route_handler")
    if "allow" not in headers or handler is None:
        return
    for route in scope["litestar_app"].routes:
        if handler in getattr(route, "route_handlers", ()):
            headers["Allow"] = ", ".join(sorted(route.methods))
            return


def client_went_away(scope: Scope) -> bool:
    """Whether the client disconnected before the response started (e.g. mid-body)."""
    return bool(scope.get("state", {}).get("client_went_away"))


def closed_status(scope: Scope) -> int:
    """The status to log for a request whose connection closed before its answer: what the
    server answered itself (408 for a body past its deadline), else 499 (the client left)."""
    status: int = scope.get("state", {}).get(SERVER_CLOSED_STATUS, CLIENT_CLOSED_REQUEST)
    return status


class RequestContext:
    """Binds the request id to every log line of an HTTP request and writes its access line;
    wraps the app's whole ASGI handler (``create_app``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, self.app)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        rid = request_id_of(scope)
        started = time.perf_counter()
        status = 500
        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
            await send(message)

        async def receive_wrapper() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect" and not started_response:
                # Litestar turns a body cut short into a 500; the error handler reads this
                # flag and answers (to nobody) CLIENT_CLOSED_REQUEST instead.
                scope["state"]["client_went_away"] = True
            return message

        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                await next_app(scope, receive_wrapper, send_wrapper)
            finally:
                # Path and status only: never query strings, headers or bodies (tokens, text).
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )

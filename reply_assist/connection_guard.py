"""uvicorn's HTTP protocol with the limits that keep slow or idle clients from holding a worker.

* **A deadline for each request head.** A connection whose request head is not complete within
  ``head_timeout_s`` is answered 408 and closed (a client that trickles a header a byte at a
  time, or opens a connection and sends nothing).
* **A deadline for each request body.** A body must be complete within ``body_timeout_s`` of the
  end of its head, however steadily it trickles: else 408 and the connection is closed, and the
  handler waiting for the body sees the client gone (nothing it would have done is done). uvicorn
  has no such deadline: 4,100 connections each sending one byte of a declared 60,000 every 3 s
  held a worker's every connection forever.
* **A cap that evicts the longest wait, not the newcomer.** A worker holds at most
  ``max_connections`` client connections (so sockets never use up the descriptors Redis and the
  model need). When a new one arrives at the cap, the connection that has waited longest *on its
  client* (a head or body not yet complete, or idle between requests) is closed to make room:
  answered 503 with ``Retry-After`` when it was in the middle of a request, closed silently when
  idle. A connection whose complete request is being served is never closed for another one.
  Refusing the newcomer instead (as before) hands the service to whoever opened their sockets
  first: connections that trickle for the whole body deadline, reopened at once, refused every
  new client, health checks included. Evicted, they hold nothing: a client that sends its request
  at once is served, and a slow one is closed only after every connection that has waited longer.
* **A reserve for health checks.** When every connection at the cap is being served (real load,
  not idle sockets: nothing is left to evict), up to ``HEALTH_RESERVE`` more are taken for
  ``/healthz`` and ``/readyz`` only; anything else on them is answered 503 with ``Retry-After``.
  A load balancer's or orchestrator's probe still learns that the process is alive and busy,
  instead of restarting it for being busy.

Responses are also sent head and body in one write (``_HeadJoiningTransport``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reply_assist.http.middleware import SERVER_CLOSED_STATUS

__all__ = ["HEALTH_PATHS", "HEALTH_RESERVE", "ConnectionLimits", "guarded_protocol"]

log = structlog.get_logger("reply_assist.serve")

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
HEALTH_RESERVE = 8  # probes come one at a time; a few cover several probers and a slow /readyz

_TIMED_OUT_STATUS, _EVICTED_STATUS = 408, 503
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_EVICTED = (
    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\n"
    b"connection: close\r\n\r\n"
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    head_timeout_s: float
    body_timeout_s: float
    max_connections: int


class _RareLog:
    """A warning at most every 10 s, with how many times it happened since the last one:
    a flood must not become a log flood."""

    def __init__(self, event: str) -> None:
        self._event = event
        self._last = float("-inf")
        self._count = 0

    def note(self, **fields: Any) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= 10:
            log.warning(self._event, count=self._count, **fields)
            self._last = now
            self._count = 0


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with head and body deadlines, an evicting connection cap
    and a health-check reserve (see the module's docstring). One class per served app: the
    connections waiting on their clients are tracked per class."""
    # Connections waiting on their client, the longest waiting first (a dict keeps the order in
    # which its keys were inserted; a connection that starts waiting again moves to the end).
    waiting: dict[GuardedHttpToolsProtocol, None] = {}
    refused = _RareLog("connection_limit_reached")
    evicted = _RareLog("connection_evicted")
    body_timeouts = _RareLog("request_body_timeout")

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _refused = False
        _in_request = False  # a request's first byte is in and its last one is not
        _in_head = False  # ... and its head is not complete yet
        _head_done_at = 0.0  # when the current request's head was complete (loop time)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections and not self._make_room():
                if len(self.connections) >= limits.max_connections + HEALTH_RESERVE:
                    self._refused = True
                    self.transport = transport
                    transport.abort()
                    refused.note(max_connections=limits.max_connections)
                    return
                self.app = _health_only(self.app)
            super().connection_made(_HeadJoiningTransport(transport, self.loop))  # type: ignore[arg-type]
            waiting[self] = None
            self._arm_head_timer()  # a connection that sends nothing at all is a slow head too

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            waiting.pop(self, None)
            self._disarm_timers()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_request = self._in_head = True
            self._arm_head_timer()  # the next request on a kept-alive connection

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # A body still to come gets its deadline, counted from the end of its head. Armed
            # here rather than when the head completes: most requests arrive whole in one
            # read, and then no timer is made (and cancelled) for them at all.
            if self._in_request and not self._in_head and self._body_timer is None:
                self._body_timer = self.loop.call_at(
                    self._head_done_at + limits.body_timeout_s, self._body_timed_out
                )

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_done_at = self.loop.time()
            self._disarm_head_timer()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_request = False
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None
            if not self.cycle.response_complete:
                waiting.pop(self, None)  # the app serves it now: never evicted for another
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            cycle = self.cycle  # the newest request: a pipelined one may already be complete
            if cycle.response_complete or cycle.more_body:
                waiting.pop(self, None)
                waiting[self] = None  # waits on its client again, from now

        def _make_room(self) -> bool:
            """Close the connection that has waited longest on its client; False if none is."""
            victim = next(iter(waiting), None)
            if victim is None:
                return False
            del waiting[victim]
            victim._close(_EVICTED_STATUS, _EVICTED)
            evicted.note(max_connections=limits.max_connections)
            return True

        def _close(self, status: int, answer: bytes) -> None:
            """Close the connection, sending ``answer`` (a bare response with ``status``) first
            when a request on it is owed one (its head or body was still coming and nothing
            has been answered)."""
            self._disarm_timers()
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if self._in_head or (self._in_request and not cycle.response_started):
                self.transport.write(answer)
            if self._in_request and not self._in_head and not cycle.response_complete:
                # The app may be waiting for the rest of the body: it gets http.disconnect at
                # once, and whatever it sends afterwards goes nowhere (uvicorn drops it).
                cycle.disconnected = True
                cycle.message_event.set()
                cycle.scope["state"][SERVER_CLOSED_STATUS] = status  # for its access log
            self.transport.close()

        def _arm_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(limits.head_timeout_s, self._head_timed_out)

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _disarm_timers(self) -> None:
            self._disarm_head_timer()
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            self.transport.write(_TIMED_OUT)
            self.transport.close()

        def _body_timed_out(self) -> None:
            self._body_timer = None
            body_timeouts.note(body_timeout_s=limits.body_timeout_s)
            self._close(_TIMED_OUT_STATUS, _TIMED_OUT)

    return GuardedHttpToolsProtocol


def _health_only(app: ASGI3Application) -> ASGI3Application:
    """``app`` for the health paths; 503 with ``Retry-After`` and close for anything else."""

    async def health_only(
        scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http" and scope["path"] not in HEALTH_PATHS:
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"retry-after", b"1"),
                        (b"content-length", b"0"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return health_only


class _HeadJoiningTransport:
    """A transport that sends a response's head together with the body that follows it.

    uvicorn writes the status line and headers as soon as the app starts its response, and the
    body as a second write: two system calls and two TCP segments for every small JSON answer,
    each waking the client. Here the head is held until the next write, which for an ordinary
    response comes within the same turn of the event loop (Litestar sends both messages one
    after the other), and is then sent with it in one piece. A head with nothing after it in
    that turn (a stream whose first event is not ready yet) is sent at the end of the turn, so
    nothing waits longer than that. Everything else is the real transport's.
    """

    __slots__ = ("_flush_scheduled", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held = b""
        self._flush_scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            self._held = bytes(data)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush)
            return
        self._transport.write(data)

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(chunks))

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._held and not self._transport.is_closing():
            self._transport.write(self._held)
        self._held = b""

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = b""
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

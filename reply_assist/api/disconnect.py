"""Stop work whose client has gone: a JSON generate call, like a stream, ends with its client.

Without this a client that closed its connection (a timeout, a closed tab) still had its draft
generated, stored and counted against the review's 10, for nobody. The ASGI server reports the
disconnect on ``receive``, once the body has been read; a watcher waits for it beside the work
and cancels the work's scope, so the service's shielded cleanup (releasing the slot and the
Idempotency-Key) runs as it does for a stream whose client went away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from litestar.types import Receive

__all__ = ["ClientGone", "unless_client_leaves"]

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before the answer; the request's work was cancelled. Answered
    (to nobody) as 499 by the app's error handler, which sees that the client went away."""


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # what is left of the body (a call without one gets one empty message)


async def unless_client_leaves(receive: Receive, work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``, cancelled (``ClientGone``) if the client disconnects before it ends."""
    with anyio.CancelScope() as scope:
        watcher = asyncio.ensure_future(_disconnected(receive))

        def on_watched(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                scope.cancel()  # a no-op if the work has ended meanwhile

        watcher.add_done_callback(on_watched)
        try:
            return await work()
        finally:
            watcher.cancel()
    raise ClientGone("the client disconnected before the answer")

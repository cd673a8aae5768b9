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

_WATCH_AFTER_S = 0.05


class ClientGone(Exception):
    """The client disconnected before the answer; the request's work was cancelled. Answered
    (to nobody) as 499 by the app's error handler, which sees that the client went away."""


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # what is left of the body (a call without one gets one empty message)


async def unless_client_leaves(receive: Receive, work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``, cancelled (``ClientGone``) if the client disconnects before it ends.

    The watcher starts only once the work has run ``_WATCH_AFTER_S``: a call that ends sooner
    (a refusal, a replay, a fast model) pays a timer, not a task; one whose client left before
    that is still cancelled then, as the server remembers the disconnect.
    """
    loop = asyncio.get_running_loop()
    watcher: asyncio.Task[None] | None = None
    with anyio.CancelScope() as scope:

        def on_watched(done: asyncio.Task[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                scope.cancel()  # a no-op if the work has ended meanwhile

        def watch() -> None:
            nonlocal watcher
            watcher = loop.create_task(_disconnected(receive))
            watcher.add_done_callback(on_watched)

        timer = loop.call_later(_WATCH_AFTER_S, watch)
        try:
            return await work()
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()
    raise ClientGone("the client disconnected before the answer")

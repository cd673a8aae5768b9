"""Sharing the model's connections fairly between companies.

The model endpoint is reached through one connection pool per process. Without a gate in front
of it, one company's flood (hundreds of long streams) takes every connection, and another
company's call waits for one *inside* the HTTP client, where the wait is charged to the model's
own timeout: it failed with "did not answer in time" although the model answers in 0.1 s.

``FairGate`` admits model calls before they reach the pool:

- at most ``capacity`` calls run at once (the pool's size), so an admitted call never waits for
  a connection, and the model's timeout measures the model alone;
- at most ``per_company`` of them belong to one company (below ``capacity``) while another
  company has asked for a model call in the last ``shared_window_s`` (five minutes), so a
  company flooding the pool leaves room for the others: its excess queues behind itself. A
  company alone (a single-company deployment, or the only one calling lately) may use the whole
  pool: a reserve kept for nobody only slows it down (bench/README.md). A company that calls
  for the first time in five minutes while another holds every connection waits for the first
  one to free (it goes to the company with the fewest calls running: the newcomer), and from
  then on the other is held to its share again;
- when calls wait, a freed place goes to the waiting company with the fewest calls running (of
  equals, the one whose turn came longest ago), its oldest call first, so a flood never stands
  in front of another company's call;
- a call waits at most ``wait_s``, then fails with ``LLMBusy`` (503 ``llm_busy``, with
  ``Retry-After``), a wait of its own, never counted against the model's timeout.

``FairDrafter`` wraps a drafter with a gate: a call holds its place for as long as it uses a
connection (a stream until it ends or its client goes away).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Final

import structlog

from reply_assist.drafting.base import Completion, Drafter, DraftRequest, StreamItem
from reply_assist.errors import LLMBusy

__all__ = ["SHARED_WINDOW_S", "FairDrafter", "FairGate"]

_log = structlog.get_logger(__name__)

# How long after a company's last model call it still counts as calling: while two or more do,
# each is held to its share. Long enough that a company drafting now and then keeps its reserve
# between two drafts; short enough that a lone company gets the whole pool back soon after.
SHARED_WINDOW_S: Final = 300.0


class FairGate:
    """Admits at most ``capacity`` calls at once, ``per_company`` of them per company while
    others call too, fairly."""

    def __init__(
        self,
        capacity: int,
        per_company: int,
        wait_s: float,
        *,
        shared_window_s: float = SHARED_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= per_company <= capacity:
            raise ValueError("per_company must be between 1 and capacity")
        self._capacity = capacity
        self._per_company = per_company
        self._wait_s = wait_s
        self._shared_window_s = shared_window_s
        self._clock = clock
        # The last call (company, when), and the last one of any other company than its own:
        # enough to tell whether anyone but a given company has called within the window.
        self._last: tuple[str, float] | None = None
        self._last_other: tuple[str, float] | None = None
        self._running = 0
        self._running_of: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Companies with waiting calls, in the order they get the next free place.
        self._turns: deque[str] = deque()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    @contextlib.asynccontextmanager
    async def slot(self, company_id: str) -> AsyncIterator[None]:
        """Hold one place for ``company_id`` while the body runs; raises ``LLMBusy`` after
        ``wait_s`` without one."""
        await self._acquire(company_id)
        try:
            yield
        finally:
            self._release(company_id)

    def _note_call(self, company_id: str) -> None:
        last = self._last
        if last is not None and last[0] != company_id:
            self._last_other = last
        self._last = (company_id, self._clock())

    def _share_of(self, company_id: str) -> int:
        """How many calls ``company_id`` may run: its share while another company has called
        within the window, else the whole pool."""
        for entry in (self._last, self._last_other):
            if entry is not None and entry[0] != company_id:
                if self._clock() - entry[1] < self._shared_window_s:
                    return self._per_company
                break
        return self._capacity

    def _may_run(self, company_id: str) -> bool:
        if self._running >= self._capacity:
            return False
        running = self._running_of.get(company_id, 0)
        return running < self._per_company or running < self._share_of(company_id)

    def _admit(self, company_id: str) -> None:
        self._running += 1
        self._running_of[company_id] = self._running_of.get(company_id, 0) + 1

    async def _acquire(self, company_id: str) -> None:
        self._note_call(company_id)
        # A company's own earlier calls go first: never overtake them.
        if company_id not in self._waiting and self._may_run(company_id):
            self._admit(company_id)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(company_id)
        if queue is None:
            queue = self._waiting[company_id] = deque()
            self._turns.append(company_id)
        queue.append(waiter)
        try:
            async with asyncio.timeout(self._wait_s):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                if isinstance(exc, TimeoutError):
                    return  # admitted just as the wait ran out: the place is this call's
                self._release(company_id)  # cancelled while being admitted: hand it on
            else:
                waiter.cancel()
                self._forget(company_id, waiter)
            if isinstance(exc, TimeoutError):
                _log.warning(
                    "llm_queue_timeout",
                    company_id=company_id,
                    running=self._running,
                    waiting=self.waiting,
                )
                raise LLMBusy(
                    "Every connection to the language model is in use; retry later.",
                    retry_after_s=math.ceil(self._wait_s),
                ) from None
            raise

    def _forget(self, company_id: str, waiter: asyncio.Future[None]) -> None:
        queue = self._waiting.get(company_id)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        if not queue:
            del self._waiting[company_id]
            self._turns.remove(company_id)

    def _release(self, company_id: str) -> None:
        self._running -= 1
        left = self._running_of[company_id] - 1
        if left:
            self._running_of[company_id] = left
        else:
            del self._running_of[company_id]
        self._hand_on()

    def _hand_on(self) -> None:
        """Give free places to waiting calls: the company with the fewest calls running first
        (then the one whose turn came longest ago), its oldest call first."""
        while self._turns and self._running < self._capacity:
            # min() keeps the first of equals, and _turns is in turn order.
            company_id = min(self._turns, key=lambda c: self._running_of.get(c, 0))
            running = self._running_of.get(company_id, 0)
            if running >= self._per_company and running >= self._share_of(company_id):
                return  # every waiting company is at its own limit: they wait for their own
            queue = self._waiting[company_id]
            waiter = queue.popleft()
            self._turns.remove(company_id)
            if queue:
                self._turns.append(company_id)  # its next call waits for its next turn
            else:
                del self._waiting[company_id]
            self._admit(company_id)
            waiter.set_result(None)


class FairDrafter:
    """A drafter whose calls pass a ``FairGate`` first, by the company they draft for."""

    def __init__(self, inner: Drafter, gate: FairGate) -> None:
        self._inner = inner
        self._gate = gate

    @property
    def kind(self) -> str:
        return self._inner.kind

    @property
    def connection_failed_at(self) -> float:
        return self._inner.connection_failed_at

    async def complete(self, request: DraftRequest) -> Completion:
        async with self._gate.slot(request.company_id):
            return await self._inner.complete(request)

    async def stream(self, request: DraftRequest) -> AsyncIterator[StreamItem]:
        async with self._gate.slot(request.company_id):
            async for item in self._inner.stream(request):
                yield item

    async def probe(self) -> str | None:
        return await self._inner.probe()

    async def aclose(self) -> None:
        await self._inner.aclose()


if TYPE_CHECKING:
    # Static proof that FairDrafter satisfies the Drafter protocol.
    _drafter_check: type[Drafter] = FairDrafter

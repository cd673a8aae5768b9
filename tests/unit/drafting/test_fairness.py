"""The gate in front of the model's connections: who gets a free place, and how long one waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from reply_assist.drafting.fairness import FairGate
from reply_assist.errors import LLMBusy


class Calls:
    """Calls holding or waiting for a place; each is ended by the test."""

    def __init__(self, gate: FairGate) -> None:
        self.gate = gate
        self.admitted: list[str] = []
        self._ends: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str) -> asyncio.Task[None]:
        end = self._ends[name] = asyncio.Event()

        async def call() -> None:
            async with self.gate.slot(name[0]):  # the company is the name's first letter
                self.admitted.append(name)
                await end.wait()

        task = self._tasks[name] = asyncio.create_task(call())
        return task

    async def end(self, name: str) -> None:
        self._ends[name].set()
        await self._tasks[name]

    async def settle(self) -> None:
        for _ in range(5):
            await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def calls(capacity: int, per_company: int, wait_s: float = 10) -> AsyncIterator[Calls]:
    c = Calls(FairGate(capacity, per_company, wait_s))
    try:
        yield c
    finally:
        for name, end in c._ends.items():
            end.set()
            c._tasks[name].cancel()
        await asyncio.gather(*c._tasks.values(), return_exceptions=True)


async def test_a_company_at_its_share_leaves_the_rest_to_others() -> None:
    async with calls(capacity=4, per_company=3) as c:
        c.start("b0")
        await c.end("b0")  # b has been calling
        for name in ("a1", "a2", "a3", "a4", "a5"):
            c.start(name)
        await c.settle()
        assert c.admitted == ["b0", "a1", "a2", "a3"]  # a4, a5 wait although a place is free
        c.start("b1")
        await c.settle()
        assert c.admitted[-1] == "b1"
        assert (c.gate.running, c.gate.waiting) == (4, 2)


async def test_a_company_alone_uses_the_whole_pool() -> None:
    async with calls(capacity=4, per_company=3) as c:
        for name in ("a1", "a2", "a3", "a4", "a5"):
            c.start(name)
        await c.settle()
        assert c.admitted == ["a1", "a2", "a3", "a4"]  # no reserve held for nobody
        assert (c.gate.running, c.gate.waiting) == (4, 1)


async def test_a_newcomer_gets_the_next_free_place_then_the_share_holds_again() -> None:
    async with calls(capacity=4, per_company=3) as c:
        for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
            c.start(name)
        await c.settle()
        c.start("b1")
        await c.settle()
        assert c.admitted == ["a1", "a2", "a3", "a4"]
        await c.end("a1")
        await c.settle()
        assert c.admitted[-1] == "b1"  # before a's own waiting calls
        await c.end("a2")
        await c.end("a3")
        await c.settle()
        # a runs a4 and a5 now: 2 of its share of 3, never again the whole pool while b calls.
        assert c.admitted[-1] == "a6"
        assert (c.gate.running, c.gate.waiting) == (4, 0)
        await c.end("a4")
        c.start("a7")
        c.start("a8")
        await c.settle()
        assert c.admitted[-1] == "a7"
        assert (c.gate.running, c.gate.waiting) == (4, 1)
        await c.end("b1")
        await c.settle()
        assert (c.gate.running, c.gate.waiting) == (3, 1)  # a at its share, a place kept for b


async def test_the_share_applies_only_while_others_called_lately() -> None:
    now = [0.0]
    gate = FairGate(3, 2, wait_s=10, shared_window_s=300, clock=lambda: now[0])
    c = Calls(gate)
    try:
        c.start("b1")
        await c.end("b1")
        for name in ("a1", "a2", "a3"):
            c.start(name)
        await c.settle()
        assert c.admitted == ["b1", "a1", "a2"]  # b called a moment ago: a keeps to its share
        await c.end("a1")
        now[0] = 301.0  # five minutes without a call from b
        await c.settle()
        c.start("a4")
        await c.settle()
        assert c.admitted[-2:] == ["a3", "a4"]  # a alone again: the whole pool
        assert gate.running == 3
    finally:
        for name in ("a2", "a3", "a4"):
            await c.end(name)


async def test_a_freed_place_goes_to_the_company_with_fewest_calls_running() -> None:
    async with calls(capacity=2, per_company=2) as c:
        for name in ("a1", "a2", "a3", "a4", "a5"):
            c.start(name)
        await c.settle()
        c.start("b1")
        c.start("b2")
        await c.settle()
        assert c.admitted == ["a1", "a2"]
        await c.end("a1")
        await c.settle()
        assert c.admitted[-1] == "b1"  # b arrived last but runs nothing: it goes first
        await c.end("a2")
        await c.settle()
        assert c.admitted[-1] == "a3"  # now a runs nothing, b runs one
        await c.end("b1")
        await c.settle()
        assert c.admitted[-1] == "b2"  # equal (one each): b's turn came longest ago
        assert c.admitted == ["a1", "a2", "b1", "a3", "b2"]


async def test_a_wait_is_bounded_and_answers_busy() -> None:
    gate = FairGate(capacity=1, per_company=1, wait_s=0.05)
    async with gate.slot("a"):
        started = time.perf_counter()
        with pytest.raises(LLMBusy) as caught:
            async with gate.slot("b"):
                pytest.fail("admitted past the capacity")
        assert 0.05 <= time.perf_counter() - started < 1
    assert caught.value.code == "llm_busy"
    assert caught.value.status == 503
    assert caught.value.headers["Retry-After"] == "1"
    assert (gate.running, gate.waiting) == (0, 0)


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    async with calls(capacity=1, per_company=1) as c:
        c.start("a1")
        waiting = c.start("b1")
        c.start("c1")
        await c.settle()
        waiting.cancel()
        await c.settle()
        assert c.gate.waiting == 1
        await c.end("a1")
        await c.settle()
        assert c.admitted == ["a1", "c1"]
        await c.end("c1")
        assert (c.gate.running, c.gate.waiting) == (0, 0)


async def test_a_failing_call_gives_its_place_back() -> None:
    gate = FairGate(capacity=1, per_company=1, wait_s=1)
    with pytest.raises(RuntimeError):
        async with gate.slot("a"):
            raise RuntimeError("the model failed")
    async with gate.slot("b"):
        assert gate.running == 1
    assert gate.running == 0


def test_the_share_must_fit_the_capacity() -> None:
    with pytest.raises(ValueError, match="per_company"):
        FairGate(capacity=2, per_company=3, wait_s=1)

"""The loop that runs background jobs in a process: fetch fairly, run, renew, take over.

One loop per kind of job (``JobKind``): the draft-rules jobs (``services.draft_jobs``, owners
are companies) and the webhook deliveries (``services.webhook_delivery``, owners are endpoints).
Below, "company" is the owner of a stream.

Each round it reads new jobs from the companies' streams (``services.draft_jobs``), giving each
company an equal share of the free places and no company more than ``per_company`` of them, so
one company's thousands of queued jobs never hold back another company's first one: that job
is read in the next round, within ``poll_s``. A company whose stream had nothing is asked again
after a wait that grows to ``poll_s``; one that filled its share is asked again at once.

Every ``check_s`` (at most a quarter of the lease) it renews the jobs it is still running,
takes over jobs that stayed idle past the lease (a dead worker's, or a retry whose backoff has
passed), and reads the queue's size for ``/metrics``. A job whose worker died is therefore taken
over within lease + check_s (65 s by default).

``stop`` stops reading, lets running jobs finish for ``grace_s``, and hands back the rest (they
are due at once for any other worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog

from reply_assist.services.draft_jobs import JobPolicy, QueueStats, StreamEntry

__all__ = ["JobKind", "JobRunner", "RunnerOptions"]

log = structlog.get_logger(__name__)

_COMPANIES_REFRESH_S = 5.0
_FIRST_IDLE_WAIT_S = 0.02
_BATCH_WAIT_S = 0.01  # after a job finishes, gather other free places for one read
_FORGET_EVERY_S = 3600.0  # how often stopped workers' names are dropped from the groups


J = TypeVar("J", bound=StreamEntry)  # a queued entry: its owner, its id, its attempt


class JobKind(Protocol[J]):
    """What the loop needs of one kind of job: each method is one service call."""

    name: str  # in log events: "<name>_handed_back", "<name>_error"

    async def owners(self) -> list[str]: ...
    async def fetch(self, consumer: str, wants: dict[str, int]) -> list[J]: ...
    async def due(self, consumer: str, owners: list[str], limit: int) -> list[J]: ...
    async def renew(self, consumer: str, jobs: list[J]) -> None: ...
    async def prepare(self, jobs: list[J]) -> Callable[[str, J], Awaitable[object]]:
        """What runs each job of this batch (what it needs is read once per batch)."""
        ...

    async def hand_back(self, consumer: str, job: J) -> None: ...
    async def forget(self, owners: list[str]) -> int: ...
    async def stats(self, owners: list[str]) -> QueueStats: ...
    def count(self, outcome: str) -> None: ...
    def running(self, delta: int) -> None: ...
    def measure(self, stats: QueueStats, oldest_age_s: float) -> None: ...


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    concurrency: int
    policy: JobPolicy
    poll_s: float = 0.5
    grace_s: float = 20.0

    @property
    def per_company(self) -> int:
        """Places one company may hold: three quarters, as for the model's connections."""
        return max(1, self.concurrency * 3 // 4)

    @property
    def check_s(self) -> float:
        return min(5.0, self.policy.lease_s / 4)


@dataclass(slots=True)
class _Running(Generic[J]):
    job: J
    task: asyncio.Task[None]
    renewed_at: float


class JobRunner(Generic[J]):
    def __init__(self, kind: JobKind[J], options: RunnerOptions) -> None:
        self._kind = kind
        self._options = options
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        # By (company, entry id): entry ids are times, so two companies' streams can share one.
        self._running: dict[tuple[str, str], _Running[J]] = {}
        self._by_company: Counter[str] = Counter()
        self._companies: list[str] = []
        self._companies_at = float("-inf")
        self._next_poll: dict[str, float] = {}
        self._idle_wait: dict[str, float] = {}
        self._turn = 0
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def running(self) -> int:
        return len(self._running)

    async def run(self) -> None:
        """Run until cancelled or stopped; errors of Redis are logged and retried."""
        log.info(
            "worker_started",
            kind=self._kind.name,
            consumer=self.consumer,
            concurrency=self._options.concurrency,
            lease_s=self._options.policy.lease_s,
        )
        maintenance = asyncio.create_task(self._maintain())
        try:
            while not self._stopping:
                try:
                    await self._round()
                except Exception as exc:  # Redis down: wait and try again
                    log.warning("job_fetch_failed", error=type(exc).__name__)
                    await self._sleep(self._options.poll_s)
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance

    async def stop(self) -> None:
        """Stop reading jobs, let running ones finish for ``grace_s``, hand back the rest."""
        self._stopping = True
        self._wake.set()
        tasks = [r.task for r in self._running.values()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._options.grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        log.info("worker_stopped", kind=self._kind.name, consumer=self.consumer)

    # ---- reading ------------------------------------------------------------------------

    async def _companies_now(self) -> list[str]:
        now = time.monotonic()
        if now - self._companies_at >= _COMPANIES_REFRESH_S:
            self._companies = await self._kind.owners()
            self._companies_at = now
        return self._companies

    async def _round(self) -> None:
        companies = await self._companies_now()
        now = time.monotonic()
        free = self._options.concurrency - len(self._running)
        cap = self._options.per_company
        asking = [
            c for c in companies if self._next_poll.get(c, 0.0) <= now and self._by_company[c] < cap
        ]
        if free > 0 and asking:
            self._turn = (self._turn + 1) % len(asking)
            asking = asking[self._turn :] + asking[: self._turn]
            share = max(1, free // len(asking))
            wants: dict[str, int] = {}
            for company in asking:
                n = min(share, cap - self._by_company[company], free)
                if n <= 0:
                    break
                wants[company] = n
                free -= n
            jobs = await self._kind.fetch(self.consumer, wants)
            await self._start(jobs)
            got = Counter(job.owner for job in jobs)
            for company, asked in wants.items():
                if got[company] >= asked:  # more may be waiting: ask again next round
                    self._next_poll[company] = 0.0
                    self._idle_wait.pop(company, None)
                else:
                    wait = self._idle_wait.get(company, _FIRST_IDLE_WAIT_S / 2) * 2
                    wait = min(wait, self._options.poll_s)
                    self._idle_wait[company] = wait
                    self._next_poll[company] = now + wait
        await self._wait_for_work(companies)

    async def _wait_for_work(self, companies: list[str]) -> None:
        now = time.monotonic()
        soonest = min((self._next_poll.get(c, 0.0) for c in companies), default=now)
        timeout = min(max(soonest - now, _FIRST_IDLE_WAIT_S / 2), self._options.poll_s)
        if len(self._running) >= self._options.concurrency:
            timeout = self._options.poll_s  # nothing can start before a job finishes
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        if self._wake.is_set() and not self._stopping:
            await asyncio.sleep(_BATCH_WAIT_S)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    # ---- running ------------------------------------------------------------------------

    async def _start(self, jobs: list[J]) -> None:
        if not jobs:
            return
        run = await self._kind.prepare(jobs)
        now = time.monotonic()
        for job in jobs:
            key = (job.owner, job.entry_id)
            if key in self._running:  # our own job, claimed again: it still runs
                continue
            task = asyncio.create_task(self._run_one(job, run))
            self._running[key] = _Running(job, task, now)
            self._by_company[job.owner] += 1
            self._kind.running(1)

    async def _run_one(self, job: J, run: Callable[[str, J], Awaitable[object]]) -> None:
        try:
            await run(self.consumer, job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._kind.hand_back(self.consumer, job))
            self._kind.count("handed_back")
            log.info(f"{self._kind.name}_handed_back", owner=job.owner, entry_id=job.entry_id)
        except Exception as exc:  # Redis failed while recording: taken over after the lease
            log.warning(
                f"{self._kind.name}_error",
                owner=job.owner,
                entry_id=job.entry_id,
                error=type(exc).__name__,
            )
        finally:
            del self._running[(job.owner, job.entry_id)]
            self._by_company[job.owner] -= 1
            self._kind.running(-1)
            self._wake.set()

    # ---- upkeep -------------------------------------------------------------------------

    async def _maintain(self) -> None:
        forgot_at = time.monotonic()
        while True:
            await asyncio.sleep(self._options.check_s)
            try:
                await self._renew()
                if not self._stopping:
                    await self._take_over()
                await self._measure()
                if time.monotonic() - forgot_at >= _FORGET_EVERY_S:
                    forgot_at = time.monotonic()
                    await self._kind.forget(await self._companies_now())
            except Exception as exc:
                log.warning("job_upkeep_failed", error=type(exc).__name__)

    async def _renew(self) -> None:
        now = time.monotonic()
        stale = [
            r
            for r in self._running.values()
            if now - r.renewed_at >= self._options.policy.lease_s / 3
        ]
        if stale:
            await self._kind.renew(self.consumer, [r.job for r in stale])
            for r in stale:
                r.renewed_at = now

    async def _take_over(self) -> None:
        free = self._options.concurrency - len(self._running)
        companies = await self._companies_now()
        if free > 0 and companies:
            jobs = await self._kind.due(self.consumer, companies, free)
            await self._start(jobs)

    async def _measure(self) -> None:
        stats = await self._kind.stats(await self._companies_now())
        age = 0.0
        if stats.oldest_queued_ms is not None:
            age = max(0.0, time.time() - stats.oldest_queued_ms / 1000)
        self._kind.measure(stats, age)

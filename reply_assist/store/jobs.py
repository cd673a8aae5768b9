"""The draft-rules jobs, on Redis Streams consumer groups used directly.

Each company has one stream (``keys.jobs``, under the company's hash tag) read by one consumer
group, ``drafters``. What Redis gives, and this module uses as it is:

- an entry is *queued* until a worker reads it (``XREADGROUP``), then *pending* in the group's
  list (the PEL) under that worker's name until it is acknowledged (``XACK``);
- the PEL keeps, per entry, how long since it was last delivered (its idle time) and how many
  times it was delivered: a worker that died leaves its entries there, and another takes them
  over once they have been idle longer than the lease (``XPENDING … IDLE`` then ``XCLAIM``,
  which counts one more delivery, so deliveries are attempts);
- a worker renews the entries it is still working on (``XCLAIM … JUSTID``, which resets the idle
  time and counts nothing), and schedules a retry by setting an entry's idle time
  (``XCLAIM … IDLE``) so that it is taken over exactly when its backoff has passed.

A job's entry is added by the same script that stores its review (``put_review.lua``) and leaves
the stream (``XACK`` + ``XDEL``) in the same script that commits its draft (``commit_draft.lua``)
or records why it was skipped or given up (``job_finish.lua``): the stream holds exactly the
jobs not yet done, and nothing is lost or done twice between two steps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from redis.exceptions import ResponseError

from reply_assist.store.connection import Store

__all__ = ["JOB_GROUP", "JobRepository", "QueueStats", "QueuedJob", "StreamEntry", "StreamQueue"]

JOB_GROUP = "drafters"


class StreamEntry(Protocol):
    """What the queue needs of an entry: whose stream it is in, its id, its attempt."""

    @property
    def owner(self) -> str: ...

    @property
    def entry_id(self) -> str: ...

    @property
    def attempt(self) -> int: ...


E = TypeVar("E", bound=StreamEntry)


@dataclass(frozen=True, slots=True)
class QueuedJob:
    company_id: str
    review_id: str
    entry_id: str  # the stream entry id: its first part is when the job was queued (ms)
    attempt: int  # 1 on the first delivery

    @property
    def owner(self) -> str:
        return self.company_id

    @property
    def queued_at_ms(self) -> int:
        return int(self.entry_id.split("-", 1)[0])


@dataclass(slots=True)
class QueueStats:
    queued: int = 0  # waiting for a first delivery
    pending: int = 0  # delivered and not done: running, or waiting for a retry
    oldest_queued_ms: int | None = None  # when the oldest queued job was queued (epoch ms)


class StreamQueue(Generic[E]):
    """One stream per owner (a company's draft jobs, a webhook endpoint's deliveries), one
    consumer group: the operations above, whatever the entries are. ``make`` turns an entry's
    (owner, id, fields, attempt) into what the caller works with."""

    def __init__(
        self,
        store: Store,
        stream_of: Callable[[str], str],
        group: str,
        make: Callable[[str, str, dict[str, str], int], E],
    ) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._scripts = store.scripts
        self._stream_of = stream_of
        self._group = group
        self._make = make
        self._grouped: set[str] = set()  # streams this process made sure have the group

    async def ensure_groups(self, company_ids: Iterable[str]) -> None:
        """Create each company's stream and group if missing (reading from the stream's start,
        so jobs queued before any worker ran are read too)."""
        for company_id in company_ids:
            stream = self._stream_of(company_id)
            if stream in self._grouped:
                continue
            with contextlib.suppress(ResponseError):  # BUSYGROUP: another worker made it
                await self._redis.xgroup_create(stream, self._group, id="0", mkstream=True)
            self._grouped.add(stream)

    async def read(self, consumer: str, wants: dict[str, int]) -> list[E]:
        """Up to ``wants[company]`` new jobs of each company, for ``consumer``: one pipeline."""
        wants = {c: n for c, n in wants.items() if n > 0}
        if not wants:
            return []
        await self.ensure_groups(wants)
        async with self._redis.pipeline(transaction=False) as pipe:
            for company_id, count in wants.items():
                pipe.xreadgroup(
                    self._group, consumer, {self._stream_of(company_id): ">"}, count=count
                )
            answers = await pipe.execute(raise_on_error=False)
        found: list[E] = []
        for company_id, answer in zip(wants, answers, strict=True):
            if isinstance(answer, ResponseError):  # NOGROUP: the stream was deleted meanwhile
                self._grouped.discard(self._stream_of(company_id))
                continue
            for _, entries in answer or []:
                found += [
                    self._make(company_id, str(entry_id), fields, 1) for entry_id, fields in entries
                ]
        return found

    async def due(
        self, company_ids: list[str], idle_ms: int, count: int
    ) -> list[tuple[str, str, int, str]]:
        """(company, entry id, deliveries, consumer) of pending jobs idle for ``idle_ms`` or
        more: their worker died, or their retry's backoff has passed."""
        if not company_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for company_id in company_ids:
                pipe.xpending_range(
                    self._stream_of(company_id), self._group, "-", "+", count, idle=idle_ms
                )
            answers = await pipe.execute(raise_on_error=False)
        found = []
        for company_id, answer in zip(company_ids, answers, strict=True):
            if isinstance(answer, ResponseError):
                continue
            found += [
                (company_id, str(p["message_id"]), int(p["times_delivered"]), str(p["consumer"]))
                for p in answer
            ]
        return found

    async def claim(
        self, consumer: str, company_id: str, due: list[tuple[str, int]], idle_ms: int
    ) -> list[E]:
        """Take over ``due`` (entry id, deliveries so far) entries still idle for ``idle_ms``;
        another worker that claimed one first keeps it. Entries whose job was deleted are
        dropped from the list by Redis and not returned."""
        if not due:
            return []
        deliveries = dict(due)
        ids: list[Any] = list(deliveries)
        entries = cast(
            list[tuple[str, dict[str, str] | None]],
            await self._redis.xclaim(
                self._stream_of(company_id), self._group, consumer, idle_ms, ids
            ),
        )
        return [
            self._make(company_id, str(entry_id), fields, deliveries[entry_id] + 1)
            for entry_id, fields in entries
            if fields is not None
        ]

    async def renew(self, consumer: str, jobs: list[E]) -> None:
        """Reset the idle time of jobs this worker is still running (counts no delivery)."""
        by_company: dict[str, list[Any]] = {}
        for job in jobs:
            by_company.setdefault(job.owner, []).append(job.entry_id)
        if not by_company:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for company_id, ids in by_company.items():
                pipe.xclaim(self._stream_of(company_id), self._group, consumer, 0, ids, justid=True)
            await pipe.execute(raise_on_error=False)

    async def retry_after(
        self, consumer: str, job: E, idle_ms: int, *, count_attempt: bool = True
    ) -> None:
        """Leave the job pending with its idle time set to ``idle_ms``: it is due again (taken
        over by any worker, this one included) when it reaches the lease. Without
        ``count_attempt`` (a job handed back unfinished) this delivery is not counted."""
        await self._redis.xclaim(
            self._stream_of(job.owner),
            self._group,
            consumer,
            0,
            [job.entry_id],
            idle=max(0, idle_ms),
            retrycount=None if count_attempt else job.attempt - 1,
            justid=True,
        )

    async def forget_idle_consumers(self, company_ids: list[str], idle_ms: int) -> int:
        """Remove the group's consumers that hold no job and were idle ``idle_ms`` (workers
        that stopped: each process reads under a name of its own); how many were removed."""
        removed = 0
        for company_id in company_ids:
            stream = self._stream_of(company_id)
            try:
                consumers = await self._redis.xinfo_consumers(stream, self._group)
            except ResponseError:
                continue
            for consumer in consumers:
                if int(consumer["pending"]) == 0 and int(consumer["idle"]) >= idle_ms:
                    await self._redis.xgroup_delconsumer(stream, self._group, consumer["name"])
                    removed += 1
        return removed

    async def stats(self, company_ids: list[str]) -> QueueStats:
        """Queued and pending jobs of all ``company_ids``, and the oldest queued one's time."""
        stats = QueueStats()
        if not company_ids:
            return stats
        async with self._redis.pipeline(transaction=False) as pipe:
            for company_id in company_ids:
                stream = self._stream_of(company_id)
                pipe.xlen(stream)
                pipe.xpending(stream, self._group)
                pipe.xinfo_groups(stream)
            answers = await pipe.execute(raise_on_error=False)
        waiting: list[tuple[str, str]] = []
        for n, company_id in enumerate(company_ids):
            length, pending, groups = answers[3 * n : 3 * n + 3]
            if any(isinstance(a, ResponseError) for a in (length, pending, groups)):
                continue
            in_pel = int(pending["pending"])
            queued = max(0, int(length) - in_pel)
            stats.queued += queued
            stats.pending += in_pel
            group = next((g for g in groups if g["name"] == self._group), None)
            if queued and group is not None:
                waiting.append((company_id, str(group["last-delivered-id"])))
        if waiting:
            async with self._redis.pipeline(transaction=False) as pipe:
                for company_id, last in waiting:
                    pipe.xrange(self._stream_of(company_id), f"({last}", "+", count=1)
                firsts = await pipe.execute(raise_on_error=False)
            times = [
                int(str(first[0][0]).split("-", 1)[0])
                for first in firsts
                if first and not isinstance(first, ResponseError)
            ]
            stats.oldest_queued_ms = min(times) if times else None
        return stats


class JobRepository(StreamQueue[QueuedJob]):
    """The draft-rules jobs: each company's stream, read by the group ``drafters``."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, store.keys.jobs, JOB_GROUP, _job)

    async def companies(self) -> list[str]:
        """The companies whose streams workers read (their rules were on at some time)."""
        members = await self._redis.smembers(self._keys.job_companies())
        return sorted(cast(set[str], members))

    async def finish(self, job: QueuedJob, state: str) -> None:
        """Done without a draft: the job leaves the stream, the review records ``state``."""
        k = self._keys
        await self._scripts.run(
            "job_finish",
            [k.review(job.company_id, job.review_id), k.jobs(job.company_id)],
            [JOB_GROUP, job.entry_id, state],
        )


def _job(company_id: str, entry_id: str, fields: dict[str, str], attempt: int) -> QueuedJob:
    return QueuedJob(
        company_id=company_id,
        review_id=fields.get("r", ""),
        entry_id=entry_id,
        attempt=attempt,
    )

"""Running one draft-rules job: check it still applies, draft it like ``POST …/drafts``,
and retry, give up or skip as the outcome says.

The draft is made by ``services.generation`` exactly as a person's request is (the same
rules and checks, the same slot among the review's 10 generations, the same fair share of the
model), with ``origin="rule"``; its commit finishes the job in the same script, so a job is
done exactly when its draft exists. A job that runs again (its worker was slow rather than
dead, or died after the commit) finds the draft and stops, before or at the commit.

What happens to a job, and what the review records (``rule`` in its hash):

- drafted: ``d:<draft id>``;
- skipped, when it no longer applies (the review was reported, replied to or drafted by a
  person meanwhile, the rules changed, the limit was reached): ``s:<reason>``, not an error;
- a model or store failure: tried again after a backoff (``backoff_s``, doubling, at most the
  lease), up to ``max_attempts`` attempts in all, then given up: ``f:<reason>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from redis.exceptions import RedisError

from reply_assist import metrics
from reply_assist.errors import ReplyAssistError, UpstreamError
from reply_assist.models import GENERATION_LIMIT, DraftRules
from reply_assist.runtime import Runtime
from reply_assist.services import events
from reply_assist.services.draft_rules import mismatch
from reply_assist.services.generation import GenerateCall, Generation, begin_generation
from reply_assist.services.months import current_month
from reply_assist.store.jobs import QueuedJob, QueueStats, StreamEntry
from reply_assist.store.reviews import Loaded

__all__ = [
    "DraftJobs",
    "JobOutcome",
    "JobPolicy",
    "QueueStats",
    "QueuedJob",
    "StreamEntry",
    "due_jobs",
    "fetch_jobs",
    "forget_stopped_workers",
    "hand_back",
    "job_companies",
    "queue_stats",
    "renew_jobs",
    "rules_of",
    "run_job",
]

log = structlog.get_logger(__name__)

Outcome = Literal["drafted", "skipped", "retried", "failed"]
_STOPPED_WORKER_IDLE_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class JobPolicy:
    lease_s: float  # a job idle this long is taken over (its worker stopped renewing it)
    max_attempts: int  # attempts in all before a job is given up
    backoff_s: float  # wait before the second attempt; doubling, at most the lease

    def backoff_ms(self, attempt: int) -> int:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return int(min(self.backoff_s * 2 ** (attempt - 1), self.lease_s) * 1000)

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    outcome: Outcome
    reason: str | None = None
    draft_id: str | None = None


async def job_companies(rt: Runtime) -> list[str]:
    return await rt.jobs.companies()


async def rules_of(rt: Runtime, company_ids: list[str]) -> dict[str, DraftRules]:
    """The rules as they are now, read once for a batch of jobs (a change reaches every job
    read after it)."""
    return await rt.draft_rules.get_many(company_ids)


async def fetch_jobs(rt: Runtime, consumer: str, wants: dict[str, int]) -> list[QueuedJob]:
    return await rt.jobs.read(consumer, wants)


async def due_jobs(
    rt: Runtime, consumer: str, company_ids: list[str], policy: JobPolicy, limit: int
) -> list[QueuedJob]:
    """Take over jobs idle past the lease: their worker died, or their backoff has passed."""
    found = await rt.jobs.due(company_ids, policy.lease_ms, limit)
    by_company: dict[str, list[tuple[str, int]]] = {}
    owners: dict[tuple[str, str], str] = {}
    for company_id, entry_id, deliveries, owner in found:
        by_company.setdefault(company_id, []).append((entry_id, deliveries))
        owners[(company_id, entry_id)] = owner
    jobs: list[QueuedJob] = []
    for company_id, due in by_company.items():
        jobs += await rt.jobs.claim(consumer, company_id, due, policy.lease_ms)
    for job in jobs:
        previous = owners.get((job.company_id, job.entry_id))
        if previous != consumer:  # not our own retry coming due
            metrics.JOBS.labels("taken_over").inc()
            log.info(
                "rule_draft_taken_over",
                company_id=job.company_id,
                review_id=job.review_id,
                attempt=job.attempt,
                from_worker=previous,
            )
    return jobs


async def renew_jobs(rt: Runtime, consumer: str, jobs: list[QueuedJob]) -> None:
    await rt.jobs.renew(consumer, jobs)


async def hand_back(rt: Runtime, consumer: str, job: QueuedJob, policy: JobPolicy) -> None:
    """A stopping worker gives the job back: due at once for any other worker."""
    await rt.jobs.retry_after(consumer, job, policy.lease_ms, count_attempt=False)


async def forget_stopped_workers(rt: Runtime, company_ids: list[str]) -> int:
    """Drop consumer names of workers gone for a day that hold no job (a name per process)."""
    return await rt.jobs.forget_idle_consumers(company_ids, _STOPPED_WORKER_IDLE_MS)


async def queue_stats(rt: Runtime, company_ids: list[str]) -> QueueStats:
    return await rt.jobs.stats(company_ids)


def _skip_reason(loaded: Loaded, rules: DraftRules, job: QueuedJob) -> str | None:
    company, record = loaded.company, loaded.record
    if company is None:
        return "company_not_found"
    if record is None:
        return "review_not_found"
    state = record.rule_job or ""
    if state.startswith("d:"):
        return "already_drafted"
    if state != f"q:{job.entry_id}":
        return "superseded"
    if record.index is not None and record.index.status == "r":
        return "replied"
    if record.drafts > 0:
        return "has_draft"  # a person generated one meanwhile: the review has its draft
    reason = mismatch(company, rules, record, now=None)
    if reason is not None:
        return reason
    if loaded.quota_exhausted:
        return "quota_exhausted"  # skipped, not retried: the month has no draft left
    if loaded.reservation is None:
        return "generation_limit_reached"
    return None


async def run_job(
    rt: Runtime, consumer: str, job: QueuedJob, rules: DraftRules, policy: JobPolicy
) -> JobOutcome:
    """Run one job to its outcome. Raises only when Redis fails while recording the outcome;
    the job then stays pending and is taken over after the lease."""
    if job.attempt > policy.max_attempts:  # its workers died while running it, every time
        return await _failed(rt, consumer, job, policy, "worker_lost")
    try:
        loaded = await rt.reviews.load_and_reserve(
            job.company_id,
            job.review_id,
            ttl_s=rt.settings.reservation_ttl_s,
            limit=GENERATION_LIMIT,
            month=current_month(),
        )
    except (RedisError, UpstreamError) as exc:
        return await _failed(rt, consumer, job, policy, _cause(exc))
    reason = _skip_reason(loaded, rules, job)
    if reason is not None:
        if loaded.reservation is not None:
            await rt.reviews.release(loaded.reservation)
        return await _skipped(rt, job, reason)
    call = GenerateCall(job.company_id, job.review_id, None, None, origin="rule", job=job.entry_id)
    try:
        started = await begin_generation(rt, call, loaded)
        assert isinstance(started, Generation)  # no Idempotency-Key, so never a replay
        draft = await started.complete()
    except ReplyAssistError as exc:
        if exc.status < 500:  # a refusal: the review no longer qualifies
            return await _skipped(rt, job, exc.code)
        return await _failed(rt, consumer, job, policy, _cause(exc))
    except RedisError as exc:
        return await _failed(rt, consumer, job, policy, _cause(exc))
    metrics.JOBS.labels("done").inc()
    await _announce(rt, job, draft.data.id, draft.data.created_at.isoformat())
    log.info(
        "rule_draft_done",
        company_id=job.company_id,
        review_id=job.review_id,
        draft_id=draft.data.id,
        attempt=job.attempt,
        waited_s=round(draft.data.created_at.timestamp() - job.queued_at_ms / 1000, 3),
    )
    return JobOutcome("drafted", draft_id=draft.data.id)


async def _announce(rt: Runtime, job: QueuedJob, draft_id: str, created_at: str) -> None:
    """``draft.ready`` for the company's webhooks. The draft is stored and the job done
    already: a Redis failure here is logged, never a reason to draft again."""
    try:
        await events.emit(
            rt,
            job.company_id,
            "draft.ready",
            {
                "review_id": job.review_id,
                "draft_id": draft_id,
                "origin": "rule",
                "created_at": created_at.replace("+00:00", "Z"),
            },
        )
    except RedisError as exc:
        log.warning(
            "event_not_queued",
            event_type="draft.ready",
            company_id=job.company_id,
            error=type(exc).__name__,
        )


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ReplyAssistError):
        cause = getattr(exc, "cause", None)
        return f"{exc.code}:{cause}" if cause else exc.code
    return f"store_unavailable:{type(exc).__name__}"


async def _skipped(rt: Runtime, job: QueuedJob, reason: str) -> JobOutcome:
    if reason == "rule_draft_exists":
        reason = "already_drafted"
    await rt.jobs.finish(job, f"s:{reason}")
    metrics.JOBS.labels("skipped").inc()
    log.info(
        "rule_draft_skipped", company_id=job.company_id, review_id=job.review_id, reason=reason
    )
    return JobOutcome("skipped", reason=reason)


async def _failed(
    rt: Runtime, consumer: str, job: QueuedJob, policy: JobPolicy, cause: str
) -> JobOutcome:
    if job.attempt >= policy.max_attempts:
        await rt.jobs.finish(job, f"f:{cause}")
        metrics.JOBS.labels("failed").inc()
        log.warning(
            "rule_draft_given_up",
            company_id=job.company_id,
            review_id=job.review_id,
            attempts=job.attempt,
            reason=cause,
        )
        return JobOutcome("failed", reason=cause)
    wait_ms = policy.backoff_ms(job.attempt)
    await rt.jobs.retry_after(consumer, job, policy.lease_ms - wait_ms)
    metrics.JOBS.labels("retried").inc()
    log.info(
        "rule_draft_retry",
        company_id=job.company_id,
        review_id=job.review_id,
        attempt=job.attempt,
        retry_in_s=wait_ms / 1000,
        reason=cause,
    )
    return JobOutcome("retried", reason=cause)


class DraftJobs:
    """The draft-rules jobs as the job loop (``jobs.runner``) runs them."""

    name = "rule_draft"

    def __init__(self, rt: Runtime, policy: JobPolicy) -> None:
        self._rt = rt
        self.policy = policy

    async def owners(self) -> list[str]:
        return await job_companies(self._rt)

    async def fetch(self, consumer: str, wants: dict[str, int]) -> list[QueuedJob]:
        return await fetch_jobs(self._rt, consumer, wants)

    async def due(self, consumer: str, owners: list[str], limit: int) -> list[QueuedJob]:
        return await due_jobs(self._rt, consumer, owners, self.policy, limit)

    async def renew(self, consumer: str, jobs: list[QueuedJob]) -> None:
        await renew_jobs(self._rt, consumer, jobs)

    async def prepare(
        self, jobs: list[QueuedJob]
    ) -> Callable[[str, QueuedJob], Awaitable[JobOutcome]]:
        rules = await rules_of(self._rt, sorted({j.company_id for j in jobs}))

        def run(consumer: str, job: QueuedJob) -> Awaitable[JobOutcome]:
            return run_job(self._rt, consumer, job, rules[job.company_id], self.policy)

        return run

    async def hand_back(self, consumer: str, job: QueuedJob) -> None:
        await hand_back(self._rt, consumer, job, self.policy)

    async def forget(self, owners: list[str]) -> int:
        return await forget_stopped_workers(self._rt, owners)

    async def stats(self, owners: list[str]) -> QueueStats:
        return await queue_stats(self._rt, owners)

    def count(self, outcome: str) -> None:
        metrics.JOBS.labels(outcome).inc()

    def running(self, delta: int) -> None:
        metrics.JOBS_RUNNING.inc(delta)

    def measure(self, stats: QueueStats, oldest_age_s: float) -> None:
        metrics.JOBS_QUEUED.set(stats.queued)
        metrics.JOBS_PENDING.set(stats.pending)
        metrics.JOBS_OLDEST_QUEUED_AGE.set(oldest_age_s)

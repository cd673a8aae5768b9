"""The service's own Prometheus metrics (requests by route and status come from Litestar's
Prometheus middleware). Metric objects are process-wide by Prometheus's design; they hold no
connections, so this is not the module-level client the design card warns against.
"""

from __future__ import annotations

import collections
import gc
import time
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Metric
from prometheus_client.registry import Collector

__all__ = [
    "DRAFT_WARNINGS",
    "GC_PAUSE",
    "GENERATIONS",
    "JOBS",
    "JOBS_OLDEST_QUEUED_AGE",
    "JOBS_PENDING",
    "JOBS_QUEUED",
    "JOBS_RUNNING",
    "MODEL_LATENCY",
    "MODEL_TOKENS",
    "REFUSALS",
    "STORE_ERRORS",
    "WEBHOOKS_OLDEST_QUEUED_AGE",
    "WEBHOOKS_PENDING",
    "WEBHOOKS_QUEUED",
    "WEBHOOKS_RUNNING",
    "WEBHOOK_ATTEMPT_SECONDS",
    "WEBHOOK_DELIVERIES",
    "watch_gc_pauses",
]

GENERATIONS = Counter(
    "reply_assist_generations_total",
    "Generate calls by outcome: drafted, refused, llm_unavailable, store_unavailable, "
    "cancelled, replayed.",
    ["outcome"],
)
REFUSALS = Counter(
    "reply_assist_refusals_total", "Generate calls refused, by the rule's code.", ["code"]
)
MODEL_LATENCY = Histogram(
    "reply_assist_model_seconds",
    "Time of one model call (all SDK retries included), by drafter and outcome.",
    ["drafter", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
MODEL_TOKENS = Counter(
    "reply_assist_model_tokens_total", "Tokens used by the model, by kind.", ["kind"]
)
STORE_ERRORS = Counter(
    "reply_assist_store_errors_total", "Requests that failed because Redis failed.", ["error"]
)
DRAFT_WARNINGS = Counter(
    "reply_assist_draft_warnings_total",
    "Warnings attached to drafts by the output checks.",
    ["warning"],
)

# Draft-rules jobs (services/draft_jobs.py, jobs/runner.py). The counters and JOBS_RUNNING are
# this process's; the queue gauges are read from Redis by a worker every few seconds and cover
# every company (any worker shows them; one that runs no jobs does not).
JOBS = Counter(
    "reply_assist_jobs_total",
    "Draft-rules jobs by outcome: done (drafted), skipped (no longer applies), retried (a model "
    "or store failure, tried again after a backoff), failed (given up after the last attempt), "
    "taken_over (from a worker that stopped renewing it), handed_back (by a stopping worker).",
    ["outcome"],
)
JOBS_RUNNING = Gauge("reply_assist_jobs_running", "Draft-rules jobs this process is running.")
JOBS_QUEUED = Gauge(
    "reply_assist_jobs_queued", "Draft-rules jobs queued and not yet taken by any worker."
)
JOBS_PENDING = Gauge(
    "reply_assist_jobs_pending",
    "Draft-rules jobs taken by a worker and not finished: running, or waiting for a retry.",
)
JOBS_OLDEST_QUEUED_AGE = Gauge(
    "reply_assist_jobs_oldest_queued_age_seconds",
    "How long the oldest queued draft-rules job has waited (0: none queued).",
)


class _GcPauses(Collector):
    """Pauses the collector callback noted, moved into GC_PAUSE when metrics are read.

    The callback only appends to a deque: it runs in the middle of any allocation, where taking
    the histogram's lock could meet a lock this thread already holds. Registered before
    GC_PAUSE, so a scrape shows every pause up to its own start.
    """

    def __init__(self) -> None:
        self.noted: collections.deque[tuple[int, float]] = collections.deque(maxlen=10_000)
        self.started = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.noted.append((info["generation"], time.perf_counter() - self.started))

    def collect(self) -> list[Metric]:
        while self.noted:
            generation, seconds = self.noted.popleft()
            GC_PAUSE.labels(str(generation)).observe(seconds)
        return []


_gc_pauses = _GcPauses()
REGISTRY.register(_gc_pauses)
GC_PAUSE = Histogram(
    "reply_assist_gc_pause_seconds",
    "Garbage-collection pauses, by generation: the event loop serves nobody meanwhile.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)


def watch_gc_pauses() -> None:
    """Time every collection into GC_PAUSE (idempotent: one callback per process)."""
    if _gc_pauses.on_gc not in gc.callbacks:
        gc.callbacks.append(_gc_pauses.on_gc)


# Webhook deliveries (services/webhook_delivery.py, on the same job loop). As for the jobs:
# counters and WEBHOOKS_RUNNING are this process's, the queue gauges cover every endpoint.
WEBHOOK_DELIVERIES = Counter(
    "reply_assist_webhook_deliveries_total",
    "Webhook deliveries by outcome: delivered (a 2xx), retried (a failed attempt, tried again "
    "after a backoff), failed (the last attempt failed: the endpoint is disabled), dropped (the "
    "endpoint was deleted or disabled), taken_over, handed_back.",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "reply_assist_webhook_attempt_seconds",
    "Time of one webhook delivery attempt (resolving, connecting, the answer), by outcome.",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS_RUNNING = Gauge(
    "reply_assist_webhooks_running", "Webhook deliveries this process is attempting."
)
WEBHOOKS_QUEUED = Gauge(
    "reply_assist_webhooks_queued", "Webhook deliveries queued and not yet taken by any worker."
)
WEBHOOKS_PENDING = Gauge(
    "reply_assist_webhooks_pending",
    "Webhook deliveries taken by a worker and not finished: running, waiting for a retry or "
    "for an earlier event of the same review.",
)
WEBHOOKS_OLDEST_QUEUED_AGE = Gauge(
    "reply_assist_webhooks_oldest_queued_age_seconds",
    "How long the oldest queued webhook delivery has waited (0: none queued).",
)

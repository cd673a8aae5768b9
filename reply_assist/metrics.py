"""The service's own Prometheus metrics (requests by route and status come from Litestar's
Prometheus middleware). Metric objects are process-wide by Prometheus's design; they hold no
connections, so this is not the module-level client the design card warns against.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "DRAFT_WARNINGS",
    "GENERATIONS",
    "MODEL_LATENCY",
    "MODEL_TOKENS",
    "REFUSALS",
    "STORE_ERRORS",
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

"""Feedback statistics, summed from the counters the scripts keep (no scan of drafts)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec

from reply_assist.errors import InvalidRequest
from reply_assist.runtime import Runtime
from reply_assist.store.buckets import widen
from reply_assist.store.stats import StatsTotals

__all__ = ["REASONS", "FeedbackStats", "feedback_stats"]

REASONS = (
    "helpful",
    "wrong_tone",
    "inaccurate",
    "too_long",
    "too_generic",
    "wrong_language",
    "other",
)
# The range the counters can hold; outside it a query is refused rather than scanned.
_EARLIEST = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())


class Votes(msgspec.Struct):
    up: int
    down: int


class Published(msgspec.Struct):
    total: int
    from_draft: int
    unedited: int
    mean_edit_ratio: float | None


class Breakdown(msgspec.Struct):
    drafts: int
    up: int
    down: int


class FeedbackStats(msgspec.Struct):
    since: str
    until: str
    drafts: int
    reviews_with_drafts: int
    votes: Votes
    reasons: dict[str, int]
    published: Published
    by_language: dict[str, Breakdown]
    by_prompt_version: dict[str, Breakdown]


def _breakdown(fields: dict[str, int], prefix: str) -> dict[str, Breakdown]:
    out: dict[str, dict[str, int]] = {}
    for field, value in fields.items():
        if field.startswith(prefix):
            name, _, kind = field[len(prefix) :].rpartition(":")
            out.setdefault(name, {"drafts": 0, "up": 0, "down": 0})[kind] = value
    return {name: Breakdown(**counts) for name, counts in sorted(out.items())}


def _shape(totals: StatsTotals, since: int, until: int) -> FeedbackStats:
    f = totals.fields
    from_draft = f["pub:from_draft"]
    return FeedbackStats(
        since=_iso(since),
        until=_iso(until),
        drafts=f["drafts"],
        reviews_with_drafts=totals.reviews_with_drafts,
        votes=Votes(up=f["up"], down=f["down"]),
        reasons={reason: f[f"reason:{reason}"] for reason in REASONS},
        published=Published(
            total=f["pub:total"],
            from_draft=from_draft,
            unedited=f["pub:unedited"],
            mean_edit_ratio=round(totals.edit_ratio_sum / from_draft, 4) if from_draft else None,
        ),
        by_language=_breakdown(dict(f), "lang:"),
        by_prompt_version=_breakdown(dict(f), "pv:"),
    )


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


async def feedback_stats(
    rt: Runtime, company_ids: list[str], since: datetime | None, until: datetime | None
) -> FeedbackStats:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidRequest(
                f"Invalid '{name}': a timestamp needs an offset (RFC 3339), "
                "e.g. 2026-11-20T00:00:00Z."
            )
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("'until' must be later than 'since'.")
    now = int(time.time())
    start = max(int(since.timestamp()) if since else _EARLIEST, _EARLIEST)
    end = min(int(until.timestamp()) if until else now, now) + 60  # up to the current minute
    if end <= start:  # entirely before 2000 or in the future: nothing can have happened
        return _shape(StatsTotals(), start, start)
    start, end = widen(start, end, now)
    totals = await rt.stats.totals(company_ids, start, end)
    return _shape(totals, start, end)

"""Reading the statistics counters that the draft, vote and publish scripts keep."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from typing import cast

from reply_assist.store.buckets import DAY, Bucket, cover
from reply_assist.store.connection import Store

__all__ = ["EDIT_RATIO_BUCKETS", "StatsRepository", "StatsTotals", "edit_ratio_bucket"]

# The edit ratio histogram's buckets: exactly 0 (published as generated), then tenths,
# each open below and closed above: (0, 0.1], (0.1, 0.2], …, (0.9, 1].
EDIT_RATIO_BUCKETS = ("0", *(f"({i / 10:g},{(i + 1) / 10:g}]" for i in range(10)))


def edit_ratio_bucket(ratio: float) -> int:
    """The index in EDIT_RATIO_BUCKETS of a ratio in [0, 1]."""
    if ratio <= 0:
        return 0
    return min(10, max(1, math.ceil(round(ratio * 10, 9))))


class StatsTotals:
    """Counter fields summed over buckets (and companies), plus the distinct reviews; and, when
    the range was split (a time series), the counter fields of each part."""

    def __init__(self, parts: int = 1) -> None:
        self.fields: Counter[str] = Counter()
        # by field: "pub:edit_ratio_sum" and "L:<language>:pub:edit_ratio_sum"
        self.edit_ratio_sum: defaultdict[str, float] = defaultdict(float)
        self.reviews_with_drafts = 0
        self.parts: list[Counter[str]] = [Counter() for _ in range(parts)]


class StatsRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys

    async def totals(
        self,
        company_ids: list[str],
        since: int,
        until: int,
        *,
        splits: list[int] | None = None,
        language: str | None = None,
        country: str | None = None,
    ) -> StatsTotals:
        """Sum over [since, until) (minute-aligned epoch seconds) for each company.

        ``splits``: day-aligned times inside the range that cut it into parts, each summed on
        its own too. ``language``, ``country``: count distinct reviews among the drafts in that
        language, for reviewers from that country, only.
        """
        edges = [since, *(t for t in (splits or []) if since < t < until), until]
        parts = [cover(a, b) for a, b in itertools.pairwise(edges)]
        totals = StatsTotals(len(parts))
        for company_id in company_ids:
            await self._add_company(totals, company_id, parts, since, until, language, country)
        return totals

    async def _add_company(
        self,
        totals: StatsTotals,
        company_id: str,
        parts: list[list[Bucket]],
        since: int,
        until: int,
        language: str | None,
        country: str | None,
    ) -> None:
        k = self._keys
        days = await self._redis.zrangebyscore(
            k.stats_days(company_id), since // DAY.seconds, (until - 1) // DAY.seconds
        )
        active = {int(d) for d in cast(list[str], days)}
        # Only buckets on days with any activity can hold counts: a year of a quiet company
        # is a handful of reads.
        wanted = [
            (i, b)
            for i, buckets in enumerate(parts)
            for b in buckets
            if (b.index * b.level.seconds) // DAY.seconds in active
        ]
        if not wanted:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, b in wanted:
                pipe.hgetall(k.stats_counts(company_id, b.level.name, b.name))
            pipe.pfcount(
                *(
                    k.stats_reviews(company_id, b.level.name, b.name, language, country)
                    for _, b in wanted
                )
            )
            *hashes, reviews = await pipe.execute()
        for (part, _), counts in zip(wanted, cast(list[dict[str, str]], hashes), strict=True):
            for field, value in counts.items():
                if field.endswith("pub:edit_ratio_sum"):
                    totals.edit_ratio_sum[field] += float(value)
                else:
                    totals.fields[field] += int(value)
                    totals.parts[part][field] += int(value)
        totals.reviews_with_drafts += int(reviews)

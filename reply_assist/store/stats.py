"""Reading the statistics counters that the draft, vote and publish scripts keep."""

from __future__ import annotations

from collections import Counter
from typing import cast

from reply_assist.store.buckets import DAY, Bucket, cover
from reply_assist.store.connection import Store

__all__ = ["StatsRepository", "StatsTotals"]


class StatsTotals:
    """Counter fields summed over buckets (and companies), plus the distinct reviews."""

    def __init__(self) -> None:
        self.fields: Counter[str] = Counter()
        self.edit_ratio_sum = 0.0
        self.reviews_with_drafts = 0


class StatsRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys

    async def totals(self, company_ids: list[str], since: int, until: int) -> StatsTotals:
        """Sum over [since, until) (minute-aligned epoch seconds) for each company."""
        totals = StatsTotals()
        buckets = cover(since, until)
        for company_id in company_ids:
            await self._add_company(totals, company_id, buckets, since, until)
        return totals

    async def _add_company(
        self, totals: StatsTotals, company_id: str, buckets: list[Bucket], since: int, until: int
    ) -> None:
        k = self._keys
        days = await self._redis.zrangebyscore(
            k.stats_days(company_id), since // DAY.seconds, (until - 1) // DAY.seconds
        )
        active = {int(d) for d in cast(list[str], days)}
        # Only buckets on days with any activity can hold counts: a year of a quiet company
        # is a handful of reads.
        wanted = [b for b in buckets if (b.index * b.level.seconds) // DAY.seconds in active]
        if not wanted:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for b in wanted:
                pipe.hgetall(k.stats_counts(company_id, b.level.name, b.name))
            pipe.pfcount(*(k.stats_reviews(company_id, b.level.name, b.name) for b in wanted))
            *hashes, reviews = await pipe.execute()
        for counts in cast(list[dict[str, str]], hashes):
            for field, value in counts.items():
                if field == "pub:edit_ratio_sum":
                    totals.edit_ratio_sum += float(value)
                else:
                    totals.fields[field] += int(value)
        totals.reviews_with_drafts += int(reviews)

"""A company's draft rules: one JSON value under the company's hash tag."""

from __future__ import annotations

import msgspec

from reply_assist.models import Company, DraftRules
from reply_assist.store.connection import Store

__all__ = ["DraftRuleRepository"]


class DraftRuleRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys

    async def company_and_rules(self, company_id: str) -> tuple[Company | None, DraftRules]:
        """The company and its rules (the defaults, off, when none were set): one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.company(company_id))
            pipe.get(self._keys.draft_rules(company_id))
            company_raw, rules_raw = await pipe.execute()
        company = None if company_raw is None else msgspec.json.decode(company_raw, type=Company)
        return company, _rules(rules_raw)

    async def get(self, company_id: str) -> DraftRules:
        return _rules(await self._redis.get(self._keys.draft_rules(company_id)))

    async def put(self, company_id: str, rules: DraftRules) -> None:
        """Store the rules; a company whose rules were ever on stays on the workers' list, so
        that jobs queued before the rules were turned off are still read (and skipped)."""
        if rules.enabled:
            # First, so that no job can be queued for a company the workers do not read.
            await self._redis.sadd(self._keys.job_companies(), company_id)
        await self._redis.set(self._keys.draft_rules(company_id), msgspec.json.encode(rules))

    async def get_many(self, company_ids: list[str]) -> dict[str, DraftRules]:
        if not company_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for company_id in company_ids:
                pipe.get(self._keys.draft_rules(company_id))
            raws = await pipe.execute()
        return {c: _rules(raw) for c, raw in zip(company_ids, raws, strict=True)}


def _rules(raw: str | bytes | None) -> DraftRules:
    return DraftRules() if raw is None else msgspec.json.decode(raw, type=DraftRules)

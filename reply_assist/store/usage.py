"""A company's drafts by month: the allowance, bought drafts (credits) and what was used.

The reservation and commit scripts (lib/usage.lua, commit_draft.lua) hold and use drafts; this
repository adds credits and reads a month back. A month is a calendar month in UTC, ``YYYY-MM``.
"""

from __future__ import annotations

import time
from typing import cast

import msgspec

from reply_assist.store.connection import Store

__all__ = ["CreditsAdded", "MonthUsage", "UsageRepository"]


class MonthUsage(msgspec.Struct, frozen=True):
    """One month as stored: the settings the scripts read, and the month's counts."""

    allowance: int | None  # None: unlimited
    alert_at: int | None
    credits_left: int
    from_allowance: int
    from_credits: int
    by_origin: dict[str, int]
    # model -> (prompt, completion, cached prompt) tokens
    tokens: dict[str, tuple[int, int, int]]
    held: int  # drafts reserved by calls in flight now


class CreditsAdded(msgspec.Struct, frozen=True):
    added: bool  # False: the reference was seen before; nothing was added this time
    credits_left: int
    record: bytes  # what the reference's first purchase stored


class UsageRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._scripts = store.scripts

    async def add_credits(
        self, company_id: str, reference: str, drafts: int, record: bytes
    ) -> CreditsAdded:
        added, left, first = await self._scripts.run(
            "add_credits",
            [self._keys.usage(company_id), self._keys.credit_references(company_id)],
            [reference, drafts, record],
        )
        first_bytes = first.encode() if isinstance(first, str) else first
        return CreditsAdded(added=bool(int(added)), credits_left=int(left), record=first_bytes)

    async def month(self, company_id: str, month: str) -> MonthUsage:
        """One month of the company, in one round trip."""
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(k.usage(company_id), ["allowance", "alert_at", "credits"])
            pipe.hgetall(k.usage_month(company_id, month))
            # Holds not yet expired; the scripts use Redis's clock, this count only informs.
            pipe.zcount(k.usage_held(company_id), int(time.time() * 1000), "+inf")
            settings, raw, held = await pipe.execute()
        fields = cast(dict[str, str], raw)
        allowance, alert_at, credits = settings
        tokens: dict[str, tuple[int, int, int]] = {}
        for prefix, at in (("p:", 0), ("k:", 1), ("cp:", 2)):
            for name, value in fields.items():
                if name.startswith(prefix):
                    model = name[len(prefix) :]
                    counts = list(tokens.get(model, (0, 0, 0)))
                    counts[at] = int(value)
                    tokens[model] = (counts[0], counts[1], counts[2])
        return MonthUsage(
            allowance=None if allowance is None else int(allowance),
            alert_at=None if alert_at is None else int(alert_at),
            credits_left=int(credits or 0),
            from_allowance=int(fields.get("a", 0)),
            from_credits=int(fields.get("c", 0)),
            by_origin={
                name[2:]: int(value) for name, value in fields.items() if name.startswith("o:")
            },
            tokens=tokens,
            held=int(held),
        )

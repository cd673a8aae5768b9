"""Companies and their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import msgspec

from reply_assist.models import Company, Role
from reply_assist.store.connection import Store
from reply_assist.store.keys import Keys

__all__ = [
    "ApiKeyRecord",
    "CompanyRepository",
    "KeyLookup",
    "KeyUse",
    "RateWindow",
    "company_key_args",
    "key_found",
]


class ApiKeyRecord(msgspec.Struct):
    id: str
    role: Role
    created_at: str
    token_hash: str
    label: str | None = None


class KeyLookup(msgspec.Struct):
    """What a key's hash resolves to: enough to authorise without another read."""

    company_id: str
    key_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class KeyUse:
    """A key's calls counted so far in this minute (this call included) and the previous one."""

    this_minute: int
    previous_minute: int


class CompanyRepository:
    def __init__(self, store: Store) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._scripts = store.scripts

    async def get(self, company_id: str) -> Company | None:
        raw = await self._redis.get(self._keys.company(company_id))
        return None if raw is None else msgspec.json.decode(raw, type=Company)

    async def put(self, company: Company) -> bool:
        """Create or replace; True when created."""
        usage = self._keys.usage(company.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            # The scripts that reserve and use drafts read the allowance from the usage hash
            # (lib/usage.lua): one field, never the company's JSON, on every generate call.
            for name, value in (
                ("allowance", company.monthly_draft_allowance),
                ("alert_at", company.usage_alert_at),
            ):
                if value is None:
                    pipe.hdel(usage, name)
                else:
                    pipe.hset(usage, name, value)
            pipe.set(self._keys.company(company.id), msgspec.json.encode(company), get=True)
            pipe.sadd(self._keys.companies(), company.id)
            *_, previous, _ = await pipe.execute()
        return previous is None

    async def all_ids(self) -> list[str]:
        return sorted(cast(set[str], await self._redis.smembers(self._keys.companies())))

    async def add_key(self, company_id: str, record: ApiKeyRecord) -> None:
        """Store a key that names its company: its lookup lives in the company's hash slot."""
        lookup = KeyLookup(company_id=company_id, key_id=record.id, role=record.role)
        # The listing first, then the lookup that makes the key usable: a failure in between
        # leaves a listed key that does not work yet, never a working key nobody can revoke.
        await self._redis.hset(
            self._keys.company_api_keys(company_id), record.id, msgspec.json.encode(record)
        )
        await self._redis.hset(
            self._keys.key_lookups(company_id), record.token_hash, msgspec.json.encode(lookup)
        )

    async def list_keys(self, company_id: str) -> list[ApiKeyRecord]:
        raw = await self._redis.hgetall(self._keys.company_api_keys(company_id))
        records = [msgspec.json.decode(v, type=ApiKeyRecord) for v in raw.values()]
        return sorted(records, key=lambda r: (r.created_at, r.id))

    async def revoke_key(self, company_id: str, key_id: str) -> bool:
        raw = await self._redis.hget(self._keys.company_api_keys(company_id), key_id)
        if raw is None:
            return False
        record = msgspec.json.decode(raw, type=ApiKeyRecord)
        # The lookup first: from this moment the key is refused everywhere. A key issued before
        # keys named their company has its lookup outside the company (``apikey/<hash>``).
        await self._redis.hdel(self._keys.key_lookups(company_id), record.token_hash)
        await self._redis.delete(self._keys.api_key(record.token_hash))
        await self._redis.hdel(self._keys.company_api_keys(company_id), key_id)
        return True

    async def authenticate(
        self, token_hash: str, minute: int | None
    ) -> tuple[KeyLookup, KeyUse | None] | None:
        """Resolve a key and, when ``minute`` is given, count this call in that minute; one round
        trip. None for an unknown key (which counts nothing)."""
        keys = [self._keys.api_key(token_hash)]
        if minute is not None:
            keys += [
                self._keys.rate_limit(token_hash, minute),
                self._keys.rate_limit(token_hash, minute - 1),
            ]
        found = await self._scripts.run("authenticate", keys, [])
        if not found:
            return None
        lookup = msgspec.json.decode(found[0], type=KeyLookup)
        if minute is None:
            return lookup, None
        return lookup, KeyUse(this_minute=int(found[1]), previous_minute=int(found[2]))

    async def authenticate_in_company(
        self, company_id: str, token_hash: str, rate: RateWindow | None
    ) -> tuple[KeyLookup, KeyUse | None] | None:
        """The same for a key that names its company, in that company's slot; one round trip."""
        keys, args = company_key_args(self._keys, company_id, token_hash, rate)
        found = await self._scripts.run("authenticate_in_company", keys, args)
        return None if not found else key_found(found, rate)


@dataclass(frozen=True, slots=True)
class RateWindow:
    """The minute a call falls in, the limit a minute, and how much of the previous minute's
    count still lies in the last 60 s (the sliding window of ratelimit.py)."""

    minute: int
    per_minute: int
    previous_weight: float


def company_key_args(
    keys: Keys, company_id: str, token_hash: str, rate: RateWindow | None
) -> tuple[list[str], list[object]]:
    """KEYS and ARGV of ``authenticate_in_company.lua`` up to its rate limit."""
    minute = rate.minute if rate is not None else 0
    return (
        [
            keys.key_lookups(company_id),
            keys.company_rate_limit(company_id, token_hash, minute),
            keys.company_rate_limit(company_id, token_hash, minute - 1),
        ],
        [
            token_hash,
            rate.per_minute if rate is not None else 0,
            repr(rate.previous_weight) if rate is not None else "0",
        ],
    )


def key_found(found: list[Any], rate: RateWindow | None) -> tuple[KeyLookup, KeyUse | None]:
    """The lookup and the counts from the first three items a key script answers."""
    lookup = msgspec.json.decode(found[0], type=KeyLookup)
    if rate is None:
        return lookup, None
    return lookup, KeyUse(this_minute=int(found[1]), previous_minute=int(found[2]))

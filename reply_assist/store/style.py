"""A company's style profile: what was learned per language and what was pinned, in one hash
under the company's hash tag, read through a short in-process cache like the voice examples.

Fields: ``learned/<language>`` (written when a reply is published) and ``pins`` (written by
``PUT …/style``), each a JSON document the style service owns; this module only stores them.
A draft reads the profile through the cache, so a company's drafts add one Redis read a
minute per process, not one per draft; each cached entry also keeps a small ``derived`` memo
in which the service keeps what it computed from it (the merged style per language), so that
is computed once per entry, not per draft. A write in this process refreshes its own cache at
once; other processes see it within ``ttl_s``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final

from reply_assist.store.connection import Store

__all__ = ["PINS_FIELD", "StyleEntry", "StyleRepository", "learned_field"]

PINS_FIELD: Final = "pins"
_CACHED_COMPANIES: Final = 1024


def learned_field(language: str) -> str:
    return f"learned/{language}"


@dataclass(slots=True)
class StyleEntry:
    """One company's profile as read: raw fields, and the service's memo of what it derived."""

    fields: dict[str, str]
    derived: dict[Any, Any] = field(default_factory=dict)


class StyleRepository:
    def __init__(self, store: Store, ttl_s: float = 60.0) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._ttl_s = ttl_s
        self._cache: OrderedDict[str, tuple[float, StyleEntry]] = OrderedDict()
        self.reads = 0  # Redis reads made, for tests and the curious

    async def read(self, company_id: str, *, fresh: bool = False) -> StyleEntry:
        """The company's profile; from the cache unless ``fresh`` or older than ``ttl_s``."""
        now = time.monotonic()
        hit = self._cache.get(company_id)
        if not fresh and hit is not None and now - hit[0] < self._ttl_s:
            self._cache.move_to_end(company_id)
            return hit[1]
        self.reads += 1
        raw = await self._redis.hgetall(self._keys.style(company_id))
        entry = StyleEntry(fields={_text(k): _text(v) for k, v in raw.items()})
        self._cache[company_id] = (now, entry)
        self._cache.move_to_end(company_id)
        while len(self._cache) > _CACHED_COMPANIES:
            self._cache.popitem(last=False)
        return entry

    async def write(self, company_id: str, name: str, value: bytes) -> None:
        await self._redis.hset(self._keys.style(company_id), name, value)
        self._cache.pop(company_id, None)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

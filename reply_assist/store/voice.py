"""Example candidates of a company's voice: a capped list under the company's hash tag, read
through a short in-process cache so that generating a draft does not add a Redis round trip.

The generate path reads the company, the review and a slot in one script and commits in
another; reading the examples there would change those scripts. Instead each process keeps a
company's candidates for ``ttl_s`` seconds: a company's first draft in a process (and one every
``ttl_s`` after) pays one extra read; every other draft reads none. A publish in this process
refreshes its own cache at once; other processes see a new example within ``ttl_s``.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import msgspec

from reply_assist.markets import StarBand
from reply_assist.store.connection import Store

__all__ = ["VoiceExample", "VoiceRepository"]

MAX_CANDIDATES = 200  # per company: the newest; enough to match on, small to read (~100 KB)
_CACHED_COMPANIES = 1024


class VoiceExample(msgspec.Struct, frozen=True):
    """One candidate as stored; ``services.voice`` decides what becomes one and which to show."""

    review_id: str
    language: str
    stars: int
    review_text: str  # masked, cut: only for choosing, never sent to the model
    reply_text: str  # cleaned: what the model sees
    published_at: float
    # The band the reply was written in, after the company's market shift (``markets``); None
    # for examples kept before it was recorded (``services.voice.example_band``: their stars').
    star_band: StarBand | None = None


class VoiceRepository:
    def __init__(self, store: Store, ttl_s: float = 60.0) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._ttl_s = ttl_s
        self._cache: OrderedDict[str, tuple[float, list[VoiceExample]]] = OrderedDict()
        self._decoder = msgspec.json.Decoder(VoiceExample)
        self.reads = 0  # Redis reads made, for tests and the curious

    async def add(self, company_id: str, example: VoiceExample) -> None:
        key = self._keys.voice(company_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(key, msgspec.json.encode(example))
            pipe.ltrim(key, 0, MAX_CANDIDATES - 1)
            await pipe.execute()
        self._cache.pop(company_id, None)

    async def candidates(self, company_id: str) -> list[VoiceExample]:
        now = time.monotonic()
        hit = self._cache.get(company_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            self._cache.move_to_end(company_id)
            return hit[1]
        self.reads += 1
        raws = await self._redis.lrange(self._keys.voice(company_id), 0, -1)
        examples = []
        for raw in raws:
            try:
                examples.append(self._decoder.decode(raw))
            except msgspec.DecodeError:
                continue  # a record from a newer version: skip it rather than fail a draft
        self._cache[company_id] = (now, examples)
        self._cache.move_to_end(company_id)
        while len(self._cache) > _CACHED_COMPANIES:
            self._cache.popitem(last=False)
        return examples

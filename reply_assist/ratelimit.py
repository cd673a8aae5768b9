"""Requests a minute per API key, shared by every instance through Redis.

A sliding-window counter: the previous minute's count, weighted by how much of it still lies in
the last 60 s, plus this minute's. Smooth at minute boundaries, two small keys per key and minute,
and no round trip of its own: the counting happens in the same script that resolves the key
(``CompanyRepository.authenticate``), so it runs on the service's own Redis pool (embedded store
and Cluster included) rather than a second connection, as a library such as ``limits`` would.
The platform admin token is not an API key and is not limited.
"""

from __future__ import annotations

import math

from reply_assist.errors import RateLimited
from reply_assist.store.companies import KeyUse

__all__ = ["enforce", "minute_of"]


def minute_of(now: float) -> int:
    return int(now // 60)


def enforce(use: KeyUse, per_minute: int, now: float) -> None:
    """Refuse with 429 and the seconds to the next minute when the key is over its limit."""
    elapsed = (now % 60) / 60
    estimate = use.previous_minute * (1 - elapsed) + use.this_minute
    if estimate > per_minute:
        raise RateLimited(retry_after_s=max(1, math.ceil(60 - now % 60)))

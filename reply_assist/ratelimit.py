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

__all__ = ["enforce", "minute_of", "retry_after_s"]


def minute_of(now: float) -> int:
    return int(now // 60)


def enforce(use: KeyUse, per_minute: int, now: float) -> None:
    """Refuse with 429 when the key is over its limit, saying how long to wait."""
    elapsed = (now % 60) / 60
    estimate = use.previous_minute * (1 - elapsed) + use.this_minute
    if estimate > per_minute:
        raise RateLimited(retry_after_s=retry_after_s(use, per_minute, now))


def retry_after_s(use: KeyUse, per_minute: int, now: float) -> int:
    """Seconds until one more call fits in the window, if the key sends nothing meanwhile.

    Refused calls count, and the previous minute's calls weigh on the window until the end of
    the next one: "the next minute" can be far too soon (a flood just before a minute's end is
    still most of the window a second later). So find the first moment at which the window,
    with one more call, is within the limit: later in this minute, as the previous minute's
    weight fades; else in the next minute, as this one's fades; else at the start of the one
    after (this minute's calls no longer count then).
    """
    minute_start = now - now % 60
    room_now = per_minute - use.this_minute - 1  # for the previous minute's faded weight
    if room_now >= 0 and use.previous_minute > 0:
        # previous × (1 − f) ≤ room_now, with f the fraction of this minute gone by
        at = minute_start + 60 * (1 - room_now / use.previous_minute)
    else:
        at = math.inf
    if at >= minute_start + 60:
        # Next minute: this minute's count becomes the previous one; this × (1 − f) + 1 ≤ limit
        fraction = max(0.0, 1 - (per_minute - 1) / use.this_minute)
        at = minute_start + 60 + 60 * fraction
    # A microsecond more, so that a whole number of seconds is not rounded to the boundary.
    return max(1, math.ceil(at - now + 1e-6))

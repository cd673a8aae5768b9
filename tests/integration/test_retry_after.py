"""A client that waits the Retry-After of a 429 gets through (and is not told to wait for ever).

The rate limit is a sliding window over per-minute counters in Redis, and refused calls count
too; so the wait is where the window, with nothing more sent, next has room for one call. The
service's clock is a fake here (the Redis script only sees the minute it is given), so the test
waits exactly the announced seconds without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from reply_assist.services import access
from reply_assist.settings import Settings
from tests.conftest import Api, serve

LIMIT = 5


class Clock:
    """Stands in for the ``time`` module in ``reply_assist.services.access``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.mark.parametrize("seconds_into_minute", [0.5, 20.0, 45.5, 59.5])
@pytest.mark.parametrize(("earlier", "ignored"), [(0, 0), (0, 25), (4, 0), (12, 3)])
async def test_a_client_that_waits_the_announced_time_gets_through(
    with_settings: Callable[..., Settings],
    redis_client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    seconds_into_minute: float,
    earlier: int,
    ignored: int,
) -> None:
    """``earlier`` calls in the previous minute, then calls until a 429, then ``ignored`` more
    429s (a client that did not wait), then the wait the last 429 announced."""
    minute = math.floor(time.time() / 60) * 60
    clock = Clock(minute - 60 + seconds_into_minute)
    monkeypatch.setattr(access, "time", clock)
    async with serve(with_settings(rate_limit_per_min=LIMIT)) as client:
        api = Api(client)
        await api.company()
        key = await api.key(role="dashboard")
        for _ in range(earlier):
            await client.get("/v1/companies/acme", headers=key)
        clock.now = minute + seconds_into_minute
        for _ in range(LIMIT + 1):
            r = await client.get("/v1/companies/acme", headers=key)
            if r.status_code == 429:
                break
        assert r.status_code == 429
        for _ in range(ignored):
            r = await client.get("/v1/companies/acme", headers=key)
            assert r.status_code == 429
        retry_after = int(r.headers["retry-after"])
        assert 1 <= retry_after <= 120
        assert f"retry in {retry_after} s" in r.json()["detail"]
        clock.now += retry_after
        obeyed = await client.get("/v1/companies/acme", headers=key)
        assert obeyed.status_code == 200, (retry_after, obeyed.json())

"""Failed authentication is throttled per client address (the API's bearer tokens and the desk's
sign-in alike), counted in Redis across instances, and every failure is logged without the
credential."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from reply_assist.settings import Settings
from tests.conftest import ADMIN, ADMIN_TOKEN, serve

LIMIT = 3
WRONG = {"Authorization": "Bearer rak_acme_" + "x" * 43}


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return replace(base_settings, auth_failure_limit=LIMIT, auth_failure_window_s=60)


@pytest.fixture
async def second(
    settings: Settings, redis_client: aioredis.Redis
) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service on the same Redis (its own process memory)."""
    async with serve(settings) as http:
        yield http


def _refused(r: httpx.Response) -> bool:
    if r.status_code != 429:
        return False
    assert r.json()["code"] == "too_many_auth_failures"
    assert 0 < int(r.headers["retry-after"]) <= 60
    return True


async def test_past_the_limit_every_token_from_the_address_is_refused(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        for _ in range(LIMIT):
            r = await client.get("/v1/companies/acme", headers=WRONG)
            assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
        assert _refused(await client.get("/v1/companies/acme", headers=WRONG))
        # Right or wrong, nothing is checked from a blocked address: trying tells nothing.
        assert _refused(await client.get("/v1/feedback/stats", headers=ADMIN))
    failed = [e for e in logs if e["event"] == "auth_failed"]
    assert [e["failures"] for e in failed] == [1, 2, 3]
    assert all(e["client"] == "127.0.0.1" and e["path"] == "/v1/companies/acme" for e in failed)
    assert "x" * 43 not in repr(logs)  # never the token
    assert any(e["event"] == "auth_throttled" for e in logs)


async def test_no_token_at_all_is_not_a_failed_attempt(client: httpx.AsyncClient) -> None:
    for _ in range(LIMIT + 2):
        assert (await client.get("/v1/companies/acme")).status_code == 401
    assert (await client.get("/v1/feedback/stats", headers=ADMIN)).status_code == 200


async def test_successes_write_nothing(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, prefix: str
) -> None:
    for _ in range(LIMIT + 2):
        assert (await client.get("/v1/feedback/stats", headers=ADMIN)).status_code == 200
    assert [k async for k in redis_client.scan_iter(match=f"{prefix}:auth-failures/*")] == []
    await client.get("/v1/companies/acme", headers=WRONG)
    assert [k async for k in redis_client.scan_iter(match=f"{prefix}:auth-failures/*")] == [
        f"{prefix}:auth-failures/127.0.0.1"
    ]


async def test_failures_count_across_instances(
    client: httpx.AsyncClient, second: httpx.AsyncClient
) -> None:
    for http in (client, second, client):  # 3 failures, on two instances
        assert (await http.get("/v1/companies/acme", headers=WRONG)).status_code == 401
    # The second instance saw only one failure itself: the count it reads is the shared one.
    assert _refused(await second.get("/v1/companies/acme", headers=WRONG))
    assert _refused(await second.get("/v1/feedback/stats", headers=ADMIN))


async def test_the_desk_sign_in_is_throttled_the_same_way(
    client: httpx.AsyncClient, second: httpx.AsyncClient
) -> None:
    wrong = {"key": "rak_acme_" + "y" * 43}
    for _ in range(LIMIT):
        assert (await client.post("/desk/sign-in", data=wrong)).status_code == 401
    blocked = await client.post("/desk/sign-in", data={"key": ADMIN_TOKEN})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    assert "Too many failed sign-ins" in blocked.text
    # One window for the address: the API is blocked for it too, on every instance.
    assert _refused(await second.get("/v1/companies/acme", headers=WRONG))
    # An empty form is not a guess.
    assert (await client.post("/desk/sign-in", data={"key": ""})).status_code == 429


async def test_the_block_ends_with_its_window(
    redis_client: aioredis.Redis, base_settings: Settings
) -> None:
    settings = replace(base_settings, auth_failure_limit=2, auth_failure_window_s=1)
    async with serve(settings) as client:
        for _ in range(2):
            await client.get("/v1/companies/acme", headers=WRONG)
        assert (await client.get("/v1/feedback/stats", headers=ADMIN)).status_code == 429
        await asyncio.sleep(1.1)
        assert (await client.get("/v1/feedback/stats", headers=ADMIN)).status_code == 200


async def test_a_limit_of_zero_turns_the_throttle_off(
    redis_client: aioredis.Redis, base_settings: Settings
) -> None:
    settings = replace(base_settings, auth_failure_limit=0)
    async with serve(settings) as client:
        with capture_logs() as logs:
            for _ in range(20):
                r = await client.get("/v1/companies/acme", headers=WRONG)
                assert r.status_code == 401
        assert len([e for e in logs if e["event"] == "auth_failed"]) == 20  # still logged
        assert (await client.get("/v1/feedback/stats", headers=ADMIN)).status_code == 200

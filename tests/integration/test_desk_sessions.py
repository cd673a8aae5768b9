"""Desk sessions end after a while without a request, and 8 hours after sign-in however busy
(issue 18, "an idle timeout for desk sessions beside the 8 h limit")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import msgspec
import redis.asyncio as aioredis

from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve
from tests.desk_client import DeskClient


async def signed_in(client: httpx.AsyncClient) -> DeskClient:
    api = Api(client)
    await api.company()
    r = await client.post("/v1/companies/acme/api-keys", json={"role": "agent"}, headers=ADMIN)
    desk = DeskClient(httpx.AsyncClient(base_url=client.base_url, timeout=30))
    await desk.sign_in(r.json()["key"])
    return desk


async def test_a_session_ends_after_the_idle_timeout_and_each_request_renews_it(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    async with serve(with_settings(desk_idle_timeout_s=2)) as client:
        desk = await signed_in(client)
        try:
            for _ in range(4):  # 4.8 s in all, never 2 s without a request
                await asyncio.sleep(1.2)
                assert (await desk.client.get("/desk")).status_code == 200
            await asyncio.sleep(2.5)
            r = await desk.client.get("/desk")
            assert (r.status_code, r.headers.get("location")) == (303, "/desk/sign-in")
        finally:
            await desk.client.aclose()


async def test_a_busy_session_still_ends_8_hours_after_sign_in(
    settings: Settings, client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    desk = await signed_in(client)
    try:
        assert (await desk.client.get("/desk")).status_code == 200
        [key] = [
            k async for k in redis_client.scan_iter(f"{settings.redis_key_prefix}:desk-session/*")
        ]
        ttl = await redis_client.ttl(key)
        assert 0 < ttl <= settings.desk_idle_timeout_s  # the idle timeout, not 8 hours
        session = msgspec.json.decode(await redis_client.get(key))
        session["signed_in_at"] = time.time() - 8 * 3600 - 1  # signed in a working day ago
        await redis_client.set(key, msgspec.json.encode(session), keepttl=True)
        r = await desk.client.get("/desk")
        assert (r.status_code, r.headers.get("location")) == (303, "/desk/sign-in")
        assert await redis_client.exists(key) == 0
    finally:
        await desk.client.aclose()

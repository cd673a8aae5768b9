"""Rate limiting per API key, the publish-event relay, readiness and metrics."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
import respx
from redis.exceptions import ConnectionError as RedisConnectionError

from reply_assist.settings import Settings
from reply_assist.store import replies
from tests.conftest import ADMIN, Api, serve


async def test_rate_limit_per_api_key(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    # (Failed authentication is throttled too; off here, where 40 made-up tokens must each be
    # looked at: test_auth_throttle.py covers the throttle.)
    settings = with_settings(rate_limit_per_min=5, auth_failure_limit=0)
    async with serve(settings) as client, serve(settings) as other_instance:
        api = Api(client)
        await api.company()
        key_a = await api.key(role="dashboard")
        key_b = await api.key(role="dashboard")
        statuses = [
            (await client.get("/v1/companies/acme", headers=key_a)).status_code for _ in range(3)
        ] + [
            (await other_instance.get("/v1/companies/acme", headers=key_a)).status_code
            for _ in range(3)
        ]
        assert statuses == [200] * 5 + [429]  # the limit is shared by every instance
        limited = await client.get("/v1/companies/acme", headers=key_a)
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 120  # up to the end of the next minute
        # Another key of the same company is not starved; the admin is not limited.
        assert (await client.get("/v1/companies/acme", headers=key_b)).status_code == 200
        for _ in range(10):
            assert (await client.get("/v1/companies/acme", headers=ADMIN)).status_code == 200
        # Made-up tokens are refused without leaving a counter behind for each of them.
        counters = f"*{settings.redis_key_prefix}:*/rate/*"
        before = len([k async for k in redis_client.scan_iter(match=counters)])
        for n in range(20):
            bad = {"authorization": f"Bearer rak_made-up-{n}"}
            assert (await client.get("/v1/companies/acme", headers=bad)).status_code == 401
            # well-formed and naming a real company: looked up there, and nothing left either
            bad = {"authorization": f"Bearer rak_acme_{n:043d}"}
            assert (await client.get("/v1/companies/acme", headers=bad)).status_code == 401
        after = len([k async for k in redis_client.scan_iter(match=counters)])
        assert after == before >= 2  # key_a and key_b have theirs


async def test_event_left_in_the_outbox_is_relayed(
    api: Api,
    llm: respx.MockRouter,
    redis_client: aioredis.Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await api.company()
    await api.review()
    agent = await api.key(role="agent")

    async def stream_down(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("stream unreachable")

    monkeypatch.setattr(replies.ReplyRepository, "_deliver", stream_down)
    r = await api.client.put(
        "/v1/companies/acme/reviews/r1/reply",
        json={"text": "Thanks!", "agent_id": "a"},
        headers=agent,
    )
    assert r.status_code == 201  # published all the same
    assert await redis_client.xlen(settings.events_stream) == 0
    monkeypatch.undo()
    monkeypatch.setattr(replies, "_RELAY_GRACE_S", 0.0)
    from reply_assist.store.connection import connect

    store = connect(
        settings.redis_url, prefix=settings.redis_key_prefix, max_connections=4, timeout_s=2
    )
    try:
        relay = replies.ReplyRepository(store, settings.events_stream)
        assert await relay.deliver_pending() == 1
        assert await relay.deliver_pending() == 0  # delivered once, then gone from the outbox
    finally:
        await store.aclose()
    events = await redis_client.xrange(settings.events_stream)
    assert [e[1]["type"] for e in events] == ["reply.published"]
    assert events[0][1]["text"] == "Thanks!"


async def test_events_stream_keeps_about_the_newest_events(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    settings = with_settings(events_max_length=50)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        agent = await api.key(role="agent")
        for n in range(1, 401):
            r = await client.put(
                "/v1/companies/acme/reviews/r1/reply",
                json={"text": f"Thanks! ({n})", "agent_id": "a"},
                headers=agent,
            )
            assert r.status_code == (201 if n == 1 else 200), r.text
        # Trimmed by whole stream nodes (100 entries by default): at least the newest 50 stay.
        length = await redis_client.xlen(settings.events_stream)
        assert 50 <= length <= 150, length
        newest = await redis_client.xrevrange(settings.events_stream, count=1)
        assert newest[0][1]["version"] == "400"
        versions = await client.get("/v1/companies/acme/reviews/r1/reply", headers=agent)
        assert len(versions.json()["versions"]) == 400  # the replies themselves are all kept


async def test_readyz_names_store_and_drafter(api: Api, llm: respx.MockRouter) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["store"]["kind"] == "redis" and body["store"]["ok"] is True
    assert body["drafter"]["kind"] == "openai" and body["drafter"]["ok"] is True


async def test_readyz_fails_when_the_model_endpoint_is_down(
    api: Api, llm: respx.MockRouter
) -> None:
    import httpx

    llm["models"].mock(side_effect=httpx.ConnectError("refused"))
    r = await api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["drafter"]["ok"] is False
    assert "retry-after" in r.headers


async def test_metrics_count_generations_and_refusals(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    await api.review("short", text="too short")
    assert (await api.generate()).status_code == 201
    assert (await api.generate("short")).status_code == 422
    text = (await api.client.get("/metrics")).text
    assert 'reply_assist_generations_total{outcome="drafted"}' in text
    assert 'reply_assist_refusals_total{code="review_too_short"}' in text
    assert "reply_assist_requests_total" in text
    assert "reply_assist_model_seconds_bucket" in text


async def test_metrics_time_full_garbage_collections(api: Api) -> None:
    async def full_collections() -> float:
        for line in (await api.client.get("/metrics")).text.splitlines():
            if line.startswith('reply_assist_gc_pause_seconds_count{generation="2"}'):
                return float(line.split()[-1])
        return 0.0

    before = await full_collections()
    gc.collect()  # the service runs in this process: its collector is ours
    assert await full_collections() >= before + 1  # and any the service ran meanwhile

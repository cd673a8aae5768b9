"""Keys that name their company: two Redis round trips per generate call, keys issued before
still working, revocation immediate everywhere, and no slot held by a call that is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import respx
from redis.asyncio.client import Pipeline

from reply_assist.settings import Settings
from tests.conftest import ADMIN, REPLY, Api, serve, sse_body

pytestmark = pytest.mark.usefixtures("llm")


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the service sends Redis, one entry per round trip (a pipeline is one)."""
    sent: list[str] = []
    command = aioredis.Redis.execute_command
    execute = Pipeline.execute

    async def counted_command(self: Any, *args: Any, **options: Any) -> Any:
        name = str(args[0])
        sent.append(f"{name} {args[1] if name.upper() == 'EVALSHA' else ''}".strip())
        return await command(self, *args, **options)

    async def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append("pipeline")
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(aioredis.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_pipeline)
    return sent


async def _legacy_key(
    redis_client: aioredis.Redis, prefix: str, role: str = "agent"
) -> dict[str, str]:
    """A key as versions before keys named their company issued and stored it."""
    secret = "rak_" + "L" * 43
    token_hash = hashlib.sha256(secret.encode()).hexdigest()
    record = {"id": "key_legacy", "role": role, "created_at": "2026-01-01T00:00:00Z"}
    await redis_client.hset(
        f"{prefix}:{{c:acme}}/api-keys",
        "key_legacy",
        json.dumps({**record, "token_hash": token_hash}),
    )
    lookup = {"company_id": "acme", "key_id": "key_legacy", "role": role}
    await redis_client.set(f"{prefix}:apikey/{token_hash}", json.dumps(lookup))
    return {"Authorization": f"Bearer {secret}"}


async def test_a_key_names_its_company(api: Api) -> None:
    await api.company("acme:eu.north_1-x")
    key = await api.key("acme:eu.north_1-x")
    secret = key["Authorization"].removeprefix("Bearer ")
    assert secret.startswith("rak_acme~eu.north_1-x_")
    assert len(secret) == len("rak_acme~eu.north_1-x_") + 43
    r = await api.client.get("/v1/companies/acme:eu.north_1-x", headers=key)
    assert r.status_code == 200
    # The company part is not a credential: the same secret under another company is refused.
    other = secret.replace("rak_acme~eu.north_1-x_", "rak_acme_")
    await api.company("acme")
    r = await api.client.get("/v1/companies/acme", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 401


async def test_a_generate_call_makes_two_round_trips(
    api: Api, round_trips: list[str], llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()
    key = await api.key()
    assert (await api.generate(headers=key)).status_code == 201  # scripts loaded, pools warm
    round_trips.clear()
    r = await api.generate(headers=key)
    assert r.status_code == 201, r.text
    assert len(round_trips) == 2, round_trips  # before the model, and the commit
    # A streamed draft too.
    llm["chat"].mock(
        return_value=httpx.Response(
            200,
            content=sse_body(
                "Thank you, Erik. ", REPLY, usage={"prompt_tokens": 9, "completion_tokens": 9}
            ),
            headers={"content-type": "text/event-stream"},
        )
    )
    round_trips.clear()
    r = await api.generate(headers={**key, "Accept": "text/event-stream"})
    assert r.status_code == 200
    assert "event: draft" in r.text
    assert len(round_trips) == 2, round_trips


async def test_a_key_issued_before_keeps_working_with_one_more_round_trip(
    api: Api, round_trips: list[str], redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review()
    legacy = await _legacy_key(redis_client, prefix)
    assert (await api.generate(headers=legacy)).status_code == 201
    round_trips.clear()
    r = await api.generate(headers=legacy)
    assert r.status_code == 201, r.text
    assert len(round_trips) == 3, round_trips
    listed = await api.client.get("/v1/companies/acme/api-keys", headers=ADMIN)
    assert [k["id"] for k in listed.json()["items"]] == ["key_legacy"]
    r = await api.client.delete("/v1/companies/acme/api-keys/key_legacy", headers=ADMIN)
    assert r.status_code == 204
    assert (await api.generate(headers=legacy)).status_code == 401


async def test_revocation_is_immediate_on_every_instance(api: Api, settings: Settings) -> None:
    await api.company()
    await api.review()
    key = await api.key()
    async with serve(settings) as other_instance:
        drafts = "/v1/companies/acme/reviews/r1/drafts"
        assert (await other_instance.post(drafts, headers=key)).status_code == 201
        key_id = (await api.client.get("/v1/companies/acme/api-keys", headers=ADMIN)).json()[
            "items"
        ][0]["id"]
        r = await api.client.delete(f"/v1/companies/acme/api-keys/{key_id}", headers=ADMIN)
        assert r.status_code == 204
        for client in (api.client, other_instance):
            assert (await client.post(drafts, headers=key)).status_code == 401
            assert (await client.get("/v1/companies/acme", headers=key)).status_code == 401


@pytest.mark.parametrize(
    ("role", "extra", "status"),
    [
        ("analyst", {}, 403),  # a role that may not generate
        ("agent", {"json": {"guidance": "x" * 501}}, 400),  # a body the handler refuses
        (
            "agent",
            {"content": b'{"guidance": 5}', "headers": {"content-type": "application/json"}},
            400,
        ),
    ],
)
async def test_a_refused_generate_call_holds_no_slot(
    api: Api,
    redis_client: aioredis.Redis,
    prefix: str,
    role: str,
    extra: dict[str, Any],
    status: int,
) -> None:
    await api.company()
    await api.review()
    key = await api.key(role=role)
    headers = {**key, **extra.pop("headers", {})}
    r = await api.generate(headers=headers, **extra)
    assert r.status_code == status, r.text
    assert await redis_client.zcard(f"{prefix}:{{c:acme}}/r/r1/inflight") == 0


async def test_a_rate_limited_generate_call_holds_no_slot(
    with_settings: Any, redis_client: aioredis.Redis, prefix: str
) -> None:
    async with serve(with_settings(rate_limit_per_min=2)) as client:
        api = Api(client)
        await api.company()
        await api.review()
        key = await api.key()
        statuses = [(await api.generate(headers=key)).status_code for _ in range(4)]
        assert statuses == [201, 201, 429, 429]
        assert await redis_client.zcard(f"{prefix}:{{c:acme}}/r/r1/inflight") == 0
        assert await redis_client.hget(f"{prefix}:{{c:acme}}/r/r1", "drafts") == "2"


async def test_a_replayed_idempotent_call_holds_no_slot(
    api: Api, redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review()
    key = await api.key()
    once = {**key, "Idempotency-Key": "k1"}
    first = await api.generate(headers=once)
    again = await api.generate(headers=once)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert await redis_client.zcard(f"{prefix}:{{c:acme}}/r/r1/inflight") == 0
    # and the limit still counts exactly: nine more, then a refusal
    results = [(await api.generate(headers=key)).status_code for _ in range(10)]
    assert results == [201] * 9 + [422]

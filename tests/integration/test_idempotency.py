"""Idempotency-Key on generate: replays, the in-progress race, and reuse with another body."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import respx

from tests.conftest import ADMIN, REPLY, Api, completion


async def used(api: Api) -> int:
    r = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    return int(r.json()["generations_used"])


async def test_retry_replays_the_first_draft_and_counts_once(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()
    headers = {**ADMIN, "Idempotency-Key": "retry-1"}
    first = await api.generate(headers=headers, json={"guidance": "mention the new courier"})
    again = await api.generate(headers=headers, json={"guidance": "mention the new courier"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert llm["chat"].call_count == 1
    assert await used(api) == 1
    # Another key is another generation.
    other = await api.generate(headers={**ADMIN, "Idempotency-Key": "retry-2"})
    assert other.json()["generation"] == 2


async def test_same_key_other_body_is_422(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    headers = {**ADMIN, "Idempotency-Key": "k"}
    assert (await api.generate(headers=headers, json={"guidance": "a"})).status_code == 201
    r = await api.generate(headers=headers, json={"guidance": "b"})
    assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused")


async def test_keys_are_scoped_to_the_review(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review("r1")
    await api.review("r2")
    headers = {**ADMIN, "Idempotency-Key": "same"}
    a = await api.generate("r1", headers=headers)
    b = await api.generate("r2", headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_racing_retries_one_generates_others_get_409(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=slow)
    headers = {**ADMIN, "Idempotency-Key": "race"}
    responses = await asyncio.gather(*(api.generate(headers=headers) for _ in range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "idempotency_key_in_use"
    }
    assert llm["chat"].call_count == 1
    # Once the first call is done, a retry gets its answer.
    replay = await api.generate(headers=headers)
    winner = next(r for r in responses if r.status_code == 201)
    assert (replay.status_code, replay.json()) == (201, winner.json())
    assert await used(api) == 1


async def test_a_failed_first_call_lets_the_retry_run(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    llm["chat"].mock(return_value=httpx.Response(500, json={"error": {"message": "down"}}))
    headers = {**ADMIN, "Idempotency-Key": "after-failure"}
    assert (await api.generate(headers=headers)).status_code == 503
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY)))
    r = await api.generate(headers=headers)
    assert (r.status_code, r.json()["generation"]) == (201, 1)


async def test_replay_over_sse_sends_the_stored_draft(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    headers = {**ADMIN, "Idempotency-Key": "sse"}
    first = await api.generate(headers=headers)
    r = await api.generate(headers={**headers, "Accept": "text/event-stream"})
    assert r.status_code == 200
    assert "event: draft" in r.text
    assert first.json()["id"] in r.text
    assert llm["chat"].call_count == 1


async def test_key_is_kept_at_least_24_hours(
    api: Api, llm: respx.MockRouter, redis_client: Any, prefix: str
) -> None:
    await api.company()
    await api.review()
    await api.generate(headers={**ADMIN, "Idempotency-Key": "ttl"})
    keys = [k async for k in redis_client.scan_iter(match=f"{prefix}*idem*")]
    assert len(keys) == 1
    assert await redis_client.ttl(keys[0]) >= 24 * 3600 - 5

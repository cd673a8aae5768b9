"""The generate path against a real Redis and a model mocked over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from reply_assist.settings import Settings
from tests.conftest import ADMIN, REPLY, Api, completion, sent_messages, serve


async def used(api: Api, review_id: str = "r1") -> int:
    r = await api.client.get(f"/v1/companies/acme/reviews/{review_id}/eligibility", headers=ADMIN)
    return int(r.json()["generations_used"])


async def test_draft_carries_model_usage_and_prompt_version(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()
    r = await api.generate()
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["text"] == REPLY
    assert draft["warnings"] == []
    assert draft["model"] == "gpt-test"
    assert draft["usage"] == {"prompt_tokens": 120, "completion_tokens": 30}
    assert draft["prompt_version"] == "reply-v2"
    assert draft["status"] == "draft"
    assert (draft["generation"], draft["generations_left"]) == (1, 9)
    assert draft["language"] == "en"
    listed = await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    assert [d["id"] for d in listed.json()["items"]] == [draft["id"]]
    one = await api.client.get(f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN)
    assert one.json() == draft


async def test_drafts_are_listed_newest_first(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    ids = [(await api.generate()).json()["id"] for _ in range(3)]
    listed = await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    assert [d["id"] for d in listed.json()["items"]] == ids[::-1]
    assert [d["generation"] for d in listed.json()["items"]] == [3, 2, 1]


async def test_prompt_sent_to_the_model(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["sv"], brand_voice="varm och personlig", signature="Anna, Acme")
    await api.review(text="Paketet kom tre veckor för sent och ingen svarade.", language="sv")
    r = await api.generate(json={"guidance": "mention that we have changed courier"})
    assert r.status_code == 201, r.text
    body = sent_messages(llm["chat"])
    system, user = body["messages"]
    assert (system["role"], user["role"]) == ("system", "user")
    review_text = "Paketet kom tre veckor för sent och ingen svarade."
    assert review_text in user["content"]
    assert review_text not in system["content"]  # untrusted text only in the user part
    assert "varm och personlig" in system["content"]
    assert "Anna, Acme" in system["content"]
    assert "Swedish" in system["content"]
    assert "changed courier" in system["content"]
    assert "2" in system["content"]  # the stars
    assert body["max_tokens"] == 400
    assert body["model"] == "gpt-4.1-mini"


async def test_long_review_is_truncated_not_refused(
    with_settings: Callable[..., Settings], redis_client: Any, llm: respx.MockRouter
) -> None:
    async with serve(with_settings(max_prompt_tokens=800)) as client:
        api = Api(client)
        await api.company()
        text = "The delivery was late again, and customer service never answered. " * 150
        await api.review(text=text)  # ~10,000 characters, ~2,000 tokens
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert r.json()["prompt_truncated"] is True
        user = sent_messages(llm["chat"])["messages"][1]["content"]
        assert len(user) < len(text) / 2
        assert "[…]" in user
        assert user.rstrip().endswith("REVIEW>>>")  # the fence is still closed


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": {"message": "boom"}}),
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "7"}),
        httpx.Response(503, text="upstream overloaded"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
    ],
    ids=["500", "429", "503", "timeout", "connect"],
)
async def test_failing_model_counts_nothing(
    api: Api, llm: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    await api.company()
    await api.review()
    if isinstance(failure, Exception):
        llm["chat"].mock(side_effect=failure)
    else:
        llm["chat"].mock(return_value=failure)
    r = await api.generate()
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "llm_unavailable"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1
    if "429" in str(getattr(failure, "status_code", "")):
        assert r.headers["retry-after"] == "7"
    assert await used(api) == 0
    listed = await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    assert listed.json()["items"] == []
    # The model recovers: the next call is generation 1, not 2.
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY)))
    r = await api.generate()
    assert (r.status_code, r.json()["generation"]) == (201, 1)


async def test_hundred_concurrent_calls_yield_exactly_ten(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()

    async def slow_model(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)  # keep calls in flight together
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=slow_model)
    started = time.perf_counter()
    responses = await asyncio.gather(*(api.generate() for _ in range(100)))
    elapsed = time.perf_counter() - started
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10, statuses
    assert statuses.count(422) == 90
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {
        "generation_limit_reached"
    }
    assert sorted(r.json()["generation"] for r in responses if r.status_code == 201) == list(
        range(1, 11)
    )
    assert llm["chat"].call_count == 10
    assert await used(api) == 10
    print(f"100 concurrent generate calls: {elapsed:.2f} s")


async def test_concurrent_calls_with_failures_never_exceed_ten(
    api: Api, llm: respx.MockRouter
) -> None:
    """Half the model calls fail: failed ones free their slot, and the total is still 10."""
    await api.company()
    await api.review()
    calls = 0

    async def flaky_model(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls % 2:
            return httpx.Response(500, json={"error": {"message": "boom"}})
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=flaky_model)
    # Rounds go on until the limit is reached: how many calls fail per round depends on how the
    # SDK's retries interleave, so a fixed number of rounds would not always fill all ten slots.
    statuses: list[int] = []
    for _ in range(30):
        responses = await asyncio.gather(*(api.generate() for _ in range(20)))
        statuses += [r.status_code for r in responses]
        assert await used(api) <= 10
        if statuses.count(201) >= 10:
            break
    assert statuses.count(201) == 10
    assert statuses.count(503) > 0  # failures did happen, and each freed its slot
    assert set(statuses) <= {201, 422, 503}
    assert await used(api) == 10
    listed = await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    assert len(listed.json()["items"]) == 10


async def test_eligibility_counts_generations_in_flight(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    released = False  # a plain flag: the app may run on another event loop than the test

    async def held_model(request: httpx.Request) -> httpx.Response:
        for _ in range(1000):
            if released:
                break
            await asyncio.sleep(0.005)
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=held_model)
    pending = [asyncio.create_task(api.generate()) for _ in range(3)]
    for _ in range(100):
        if llm["chat"].call_count == 3:
            break
        await asyncio.sleep(0.01)
    result = (
        await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    ).json()
    assert (result["generations_used"], result["generations_left"]) == (3, 7)
    released = True
    assert [r.status_code for r in await asyncio.gather(*pending)] == [201, 201, 201]


async def test_guidance_over_500_characters_is_400(api: Api, llm: Any) -> None:
    await api.company()
    await api.review()
    r = await api.generate(json={"guidance": "x" * 501})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")
    assert "guidance" in r.json()["detail"]

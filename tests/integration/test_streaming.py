"""Streaming generation over server-sent events, read with a real SSE client (httpx-sse)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import respx
from httpx_sse import aconnect_sse

from tests.conftest import ADMIN, Api, sse_body

DRAFTS = "/v1/companies/acme/reviews/r1/drafts"


USAGE = {"prompt_tokens": 111, "completion_tokens": 22}


PARTS = (
    "Hi Erik, thank you for telling us. ",
    "We are truly sorry that your parcel took three weeks and that nobody answered; ",
    "that must have been frustrating. Please contact us so we can make it right. Anna",
)


async def read_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[str, Any]]:
    events = []
    # httpx-sse adds its Accept header to the dict it is given: give it a copy.
    async with aconnect_sse(client, "POST", DRAFTS, headers={**headers}) as source:
        assert source.response.status_code == 200
        async for event in source.aiter_sse():
            events.append((event.event, json.loads(event.data)))
    return events


async def test_stream_deltas_then_the_stored_draft(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    llm["chat"].mock(
        return_value=httpx.Response(
            200,
            content=sse_body(*PARTS, usage=USAGE),
            headers={"content-type": "text/event-stream"},
        )
    )
    events = await read_events(api.client, ADMIN)
    kinds = [kind for kind, _ in events]
    assert kinds == ["delta"] * len(PARTS) + ["draft"]
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    draft = events[-1][1]
    assert draft["text"] == streamed == "".join(PARTS).strip()
    assert draft["usage"] == {"prompt_tokens": 111, "completion_tokens": 22}
    assert (draft["generation"], draft["status"]) == (1, "draft")
    stored = await api.client.get(f"{DRAFTS}/{draft['id']}", headers=ADMIN)
    assert stored.json() == draft
    assert llm["chat"].calls.last.request.content.find(b'"stream":true') >= 0


async def test_stream_broken_mid_way_stores_and_counts_nothing(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()

    async def broken(request: httpx.Request) -> httpx.Response:
        async def body() -> Any:
            yield sse_body(PARTS[0], done=False)
            raise httpx.RemoteProtocolError("peer closed connection")

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    llm["chat"].mock(side_effect=broken)
    events = await read_events(api.client, ADMIN)
    assert [kind for kind, _ in events] == ["delta", "error"]
    problem = events[-1][1]
    assert (problem["status"], problem["code"]) == (503, "llm_unavailable")
    elig = (await api.client.get(f"{DRAFTS[:-7]}/eligibility", headers=ADMIN)).json()
    assert elig["generations_used"] == 0
    assert (await api.client.get(DRAFTS, headers=ADMIN)).json()["items"] == []


async def test_model_refusing_the_call_is_a_plain_503(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    llm["chat"].mock(return_value=httpx.Response(500, json={"error": {"message": "down"}}))
    r = await api.generate(headers={**ADMIN, "Accept": "text/event-stream"})
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "llm_unavailable"
    assert "retry-after" in r.headers


async def test_stream_answers_200_while_the_model_is_still_thinking(
    api: Api, llm: respx.MockRouter
) -> None:
    """The client has its 200 and headers before the model's first token, not after it."""
    await api.company()
    await api.review()
    first_token_sent = False
    release = asyncio.Event()

    async def thinking_model(request: httpx.Request) -> httpx.Response:
        async def body() -> Any:
            nonlocal first_token_sent
            with contextlib.suppress(TimeoutError):  # never hold the server's shutdown
                await asyncio.wait_for(release.wait(), 5)
            first_token_sent = True
            yield sse_body(*PARTS, usage=USAGE)

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    llm["chat"].mock(side_effect=thinking_model)
    # Were the 200 held back until the first token, it would come only when the model gives up
    # waiting for the release, after 5 s: a limit of 2 s tells the two apart.
    async with (
        asyncio.timeout(2),
        aconnect_sse(api.client, "POST", DRAFTS, headers={**ADMIN}) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        assert not first_token_sent
        release.set()
        events = [event.event async for event in source.aiter_sse()]
    assert events == ["delta"] * len(PARTS) + ["draft"]


async def test_stream_broken_before_its_first_token_is_an_error_event(
    api: Api, llm: respx.MockRouter
) -> None:
    """The model accepted the call, so the 200 is out: what breaks next is an error event."""
    await api.company()
    await api.review()
    llm["chat"].mock(
        return_value=httpx.Response(
            200, content=b"data: {not json\n\n", headers={"content-type": "text/event-stream"}
        )
    )
    events = await read_events(api.client, ADMIN)
    assert [(name, body["code"]) for name, body in events] == [("error", "llm_unavailable")]
    assert (await api.client.get(DRAFTS, headers=ADMIN)).json()["items"] == []
    elig = (await api.client.get(f"{DRAFTS[:-7]}/eligibility", headers=ADMIN)).json()
    assert elig["generations_used"] == 0


async def test_refusal_before_streaming_is_a_plain_problem(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review(text="too short")
    r = await api.generate(headers={**ADMIN, "Accept": "text/event-stream"})
    assert (r.status_code, r.json()["code"]) == (422, "review_too_short")


async def test_client_disconnect_mid_stream_releases_the_slot(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()

    async def slow_stream(request: httpx.Request) -> httpx.Response:
        async def body() -> Any:
            yield sse_body(PARTS[0], done=False)
            await asyncio.sleep(5)
            yield sse_body(PARTS[1], usage=USAGE)

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    llm["chat"].mock(side_effect=slow_stream)
    async with aconnect_sse(api.client, "POST", DRAFTS, headers={**ADMIN}) as source:
        async for event in source.aiter_sse():
            assert event.event == "delta"
            break  # the client goes away after the first delta
    for _ in range(100):  # the server notices the disconnect and releases the slot
        elig = (await api.client.get(f"{DRAFTS[:-7]}/eligibility", headers=ADMIN)).json()
        if elig["generations_used"] == 0:
            break
        await asyncio.sleep(0.05)
    assert elig["generations_used"] == 0
    assert (await api.client.get(DRAFTS, headers=ADMIN)).json()["items"] == []

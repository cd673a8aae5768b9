"""One company's flood of model calls never starves another company's call, and a company
alone is never held to a share kept for nobody.

The model is a real HTTP server in this event loop (respx would skip the client's connection
pool, which is what is being tested): it answers a plain completion in ``LATENCY`` s and holds a
stream open, after its first token, until the test lets it go. Company "acme" has been calling;
company "flood" then opens more streams than the pool has connections; "acme" asks for one more
draft.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

from reply_assist.settings import Settings
from tests.conftest import ADMIN, REPLY, Api, completion, serve, sse_body, sse_chunk

LATENCY = 0.1  # the model's answer time for a plain completion
MARGIN = 0.5  # the service's own work on a loaded 2-core machine, with room to spare
POOL = 4  # REPLY_ASSIST_LLM_MAX_CONNECTIONS
FLOOD = 6  # more streams than the pool
SHARE = POOL * 3 // 4  # the default per-company share


class HeldModel:
    """An OpenAI-compatible model whose streams stay open until ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.streams = 0
        self.completions = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = json.loads(body)
        if request.get("stream"):
            self.streams += 1
            headers = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": sse_chunk("Hi"), "more_body": True})
            await self.release.wait()
            rest = sse_body(REPLY[2:], usage={"prompt_tokens": 10, "completion_tokens": 40})
            await send({"type": "http.response.body", "body": rest})
            return
        await asyncio.sleep(LATENCY)
        self.completions += 1
        answer = json.dumps(completion(REPLY)).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def model() -> AsyncIterator[tuple[HeldModel, str]]:
    app = HeldModel()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await _until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield app, f"http://127.0.0.1:{port}/v1"
    finally:
        app.release.set()
        server.should_exit = True
        await task


async def _until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Poll state that has no event to wait on (a server's start, the stub's counters)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_flooding_company_does_not_starve_another(
    model: tuple[HeldModel, str],
    with_settings: Callable[..., Settings],
    redis_client: object,
    transport: str,
) -> None:
    stub, url = model
    settings = with_settings(
        openai_base_url=url,
        llm_http=transport,
        llm_timeout_s=5.0,  # the held streams stay open for a few seconds
        llm_max_connections=POOL,
        llm_queue_wait_s=1.0,
    )
    async with serve(settings) as client:
        api = Api(client)
        for company in ("flood", "acme"):
            await api.company(company)
            await api.review("r1", company)
        # acme has been calling: while it does, the flood is held to its share.
        assert (await api.generate("r1", "acme")).status_code == 201

        async def flood_stream() -> tuple[int, str]:
            async with client.stream(
                "POST",
                "/v1/companies/flood/reviews/r1/drafts",
                headers={**ADMIN, "Accept": "text/event-stream"},
            ) as r:
                return r.status_code, (await r.aread()).decode()

        flood = [asyncio.create_task(flood_stream()) for _ in range(FLOOD)]
        await _until(lambda: stub.streams >= SHARE)

        started = time.perf_counter()
        r = await api.generate("r1", "acme")
        took = time.perf_counter() - started
        assert r.status_code == 201, r.text
        assert took < LATENCY + MARGIN, f"{took:.3f} s for a {LATENCY} s model"
        assert stub.streams == SHARE  # the flood queued behind itself, not in the pool

        # The flood's excess waited its own bounded wait, then got its own 503.
        await _until(lambda: sum(t.done() for t in flood) >= FLOOD - SHARE)
        done = [t for t in flood if t.done()]
        busy = [task.result() for task in done]
        assert len(busy) == FLOOD - SHARE
        for status, body in busy:
            assert status == 503, body
            problem = json.loads(body)
            assert problem["code"] == "llm_busy", body
        stub.release.set()
        held = await asyncio.gather(*(t for t in flood if t not in done))
        assert [status for status, _ in held] == [200] * SHARE
        assert all("event: draft" in body for _, body in held)


async def test_a_busy_answer_carries_retry_after(
    model: tuple[HeldModel, str], with_settings: Callable[..., Settings], redis_client: object
) -> None:
    stub, url = model
    settings = with_settings(
        openai_base_url=url,
        llm_timeout_s=5.0,
        llm_max_connections=1,
        llm_queue_wait_s=0.3,
    )
    async with serve(settings) as client:
        api = Api(client)
        await api.company("flood")
        await api.review("r1", "flood")
        first = asyncio.create_task(
            client.post(
                "/v1/companies/flood/reviews/r1/drafts",
                headers={**ADMIN, "Accept": "text/event-stream"},
            )
        )
        await _until(lambda: stub.streams == 1)
        started = time.perf_counter()
        r = await api.generate("r1", "flood")
        waited = time.perf_counter() - started
        assert r.status_code == 503
        assert r.json()["code"] == "llm_busy"
        assert r.headers["retry-after"] == "1"
        # Its own wait, not the model's 5 s timeout.
        assert settings.llm_queue_wait_s <= waited < settings.llm_queue_wait_s + MARGIN
        stub.release.set()
        assert (await first).status_code == 200
        used = await client.get("/v1/companies/flood/reviews/r1/eligibility", headers=ADMIN)
        assert used.json()["generations_used"] == 1  # the busy call counted nothing


async def test_a_company_alone_uses_every_connection(
    model: tuple[HeldModel, str], with_settings: Callable[..., Settings], redis_client: object
) -> None:
    stub, url = model
    settings = with_settings(
        openai_base_url=url, llm_timeout_s=5.0, llm_max_connections=POOL, llm_queue_wait_s=3.0
    )
    async with serve(settings) as client:
        api = Api(client)
        await api.company("flood")
        await api.review("r1", "flood")

        async def one_stream() -> int:
            async with client.stream(
                "POST",
                "/v1/companies/flood/reviews/r1/drafts",
                headers={**ADMIN, "Accept": "text/event-stream"},
            ) as r:
                await r.aread()
                return r.status_code

        streams = [asyncio.create_task(one_stream()) for _ in range(POOL)]
        # No share held back for other companies while none calls: all POOL streams run.
        await _until(lambda: stub.streams == POOL, limit_s=2.0)
        stub.release.set()
        assert await asyncio.gather(*streams) == [200] * POOL

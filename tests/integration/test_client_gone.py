"""A JSON generate call whose client has gone stops, as a stream does: the model call is
cancelled, nothing is stored or counted, the slot is free at once.

The model is a real HTTP server in this event loop that answers after ``LATENCY`` s and notes
when the service hung up on it before that.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY

from reply_assist.settings import Settings
from tests.conftest import ADMIN, REPLY, Api, completion, serve

LATENCY = 2.0


class SlowModel:
    def __init__(self) -> None:
        self.calls = 0
        self.abandoned = 0  # calls the service hung up on before the answer
        self.answered = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        self.calls += 1
        disconnect = asyncio.ensure_future(receive())
        done, _ = await asyncio.wait({disconnect}, timeout=LATENCY)
        if done:
            self.abandoned += 1
            return
        disconnect.cancel()
        body = json.dumps(completion(REPLY)).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.answered += 1


@pytest.fixture
async def model() -> AsyncIterator[tuple[SlowModel, str]]:
    app = SlowModel()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield app, f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task


def cancelled_count() -> float:
    sample = REGISTRY.get_sample_value("reply_assist_generations_total", {"outcome": "cancelled"})
    return sample or 0.0


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_json_generate_whose_client_left_stops(
    model: tuple[SlowModel, str],
    with_settings: Callable[..., Settings],
    redis_client: object,
    transport: str,
) -> None:
    stub, url = model
    settings = with_settings(openai_base_url=url, llm_http=transport, llm_timeout_s=5.0)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        cancelled_before = cancelled_count()
        with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
            await api.generate(timeout=0.3)
        left_at = time.monotonic()
        while stub.abandoned == 0:  # the service hangs up on the model
            assert time.monotonic() - left_at < LATENCY / 2, "the model call went on"
            await asyncio.sleep(0.02)
        eligibility = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
        assert eligibility.json()["generations_used"] == 0  # the slot is free at once
        await asyncio.sleep(LATENCY)  # long after the model would have answered
        assert (stub.calls, stub.abandoned, stub.answered) == (1, 1, 0)
        drafts = await client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
        assert drafts.json()["items"] == []
        eligibility = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
        assert eligibility.json()["generations_used"] == 0
        assert cancelled_count() == cancelled_before + 1
        # The service still serves: the next call is drafted as ever.
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert r.json()["generation"] == 1

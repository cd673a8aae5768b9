"""The production transport (the SDK over aiohttp) against a real OpenAI-compatible server.

respx only intercepts httpx, so the other tests mock the model that way; here the model is
``bench/stub_llm.py``, a real HTTP server in a subprocess, and nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from httpx_sse import aconnect_sse

from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve, stub_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stub_model(tmp_path_factory.mktemp("stub"), "--tokens", "40") as url:
        yield url + "/v1"


async def test_generate_and_stream_over_aiohttp(
    stub_url: str, with_settings: Callable[..., Settings], redis_client: object
) -> None:
    settings = with_settings(openai_base_url=stub_url, llm_http="aiohttp")
    async with serve(settings) as client:
        assert (await client.get("/readyz")).json()["drafter"]["ok"] is True
        api = Api(client)
        await api.company()
        await api.review()
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert r.json()["usage"]["completion_tokens"] > 0
        async with aconnect_sse(
            client, "POST", "/v1/companies/acme/reviews/r1/drafts", headers={**ADMIN}
        ) as source:
            events = [(e.event, json.loads(e.data)) async for e in source.aiter_sse()]
        assert events[-1][0] == "draft"
        assert "".join(d["text"] for k, d in events if k == "delta") == events[-1][1]["text"]
        used = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
        assert used.json()["generations_used"] == 2

"""Shared fixtures: a real Redis with a key prefix of each test's own, the app, a mocked model.

Tests never flush: they delete only the keys under their own prefix (and their own stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import respx
import structlog
import uvicorn

from reply_assist.app import create_app
from reply_assist.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

REDIS_URL = os.environ.get("REPLY_ASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per mocked call is noise

ADMIN_TOKEN = "test-admin-token-0123456789-abcdefgh"
LLM_BASE = "http://llm.test/v1"
REPLY = (
    "Hi Erik, thank you for taking the time to tell us. We are truly sorry that your parcel "
    "took so long and that nobody answered your emails; that must have been frustrating. "
    "Please get in touch with our customer service so we can put this right. "
    "Anna, Acme kundtjänst"
)


@contextlib.contextmanager
def stub_model(log_dir: Path, *options: str) -> Iterator[str]:
    """``bench/stub_llm.py`` in its own process on a free port (``options`` as its command line
    takes them), for tests that need a real model server over a socket: its ``http://host:port``."""
    log = log_dir / "stub.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "stub_llm.py"), "--port", "0", *options],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while "listening on" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stub model did not start: {log.read_text()}")
            time.sleep(0.05)
        address = log.read_text().split("listening on", 1)[1].split()[0]
        yield address if address.startswith("http") else f"http://{address}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--readme-screenshots",
        action="store_true",
        help="the browser tests also rewrite the README's pictures in docs/screenshots/",
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """create_app configures structlog globally: leave it as each test found it."""
    logging_config = structlog.get_config()
    yield
    structlog.configure(**logging_config)


@pytest.fixture
def prefix() -> str:
    return f"ra-test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - CI starts Redis; say so clearly if not
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def base_settings(prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cache_env = os.environ.get("REPLY_ASSIST_TIKTOKEN_CACHE_DIR")
    cache = Path(cache_env) if cache_env else None
    return Settings(
        admin_token=ADMIN_TOKEN,
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
        events_stream=f"{prefix}:events",
        openai_api_key="test-key",
        openai_base_url=LLM_BASE,
        llm_timeout_s=2.0,
        llm_max_retries=0,
        llm_http="httpx",  # respx intercepts httpx; test_real_model.py covers aiohttp
        rate_limit_per_min=0,
        log_level="WARNING",
        tiktoken_cache_dir=cache or tmp_path_factory.getbasetemp() / "tiktoken",
    )


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """Override in a test module to change settings."""
    return base_settings


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, *, run_jobs: bool | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real socket (uvicorn, this event loop) and an HTTP client for it
    (``run_jobs``: as ``create_app``'s, the draft-rules jobs in the same process).

    A real server, not an in-process transport: concurrent requests really run concurrently
    (Litestar's test client feeds the app one request at a time), and streaming is real.
    """
    config = uvicorn.Config(
        create_app(settings, run_jobs=run_jobs),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            await task  # raises what stopped the start
            raise RuntimeError("the test server did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
        ) as http:
            yield http
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def client(
    settings: Settings, redis_client: aioredis.Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as http:
        yield http


@pytest.fixture
def llm() -> respx.MockRouter:
    """The model endpoint, mocked at the HTTP level; default: a short English reply."""
    with respx.mock(base_url=LLM_BASE, assert_all_called=False) as router:
        router.post("/chat/completions", name="chat").mock(
            return_value=httpx.Response(200, json=completion(REPLY))
        )
        router.get("/models", name="models").mock(
            return_value=httpx.Response(200, json={"object": "list", "data": []})
        )
        # The test's own calls to the app's real socket are not the model's: let them through.
        router.route(host="127.0.0.1").pass_through()
        yield router


def completion(
    text: str, prompt_tokens: int = 120, completion_tokens: int = 30, finish_reason: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def sse_chunk(
    text: str | None = None, *, finish: str | None = None, usage: dict[str, int] | None = None
) -> bytes:
    """One ``chat.completion.chunk`` as an OpenAI-compatible server streams it."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-test",
        "choices": [],
    }
    if text is not None or finish is not None:
        delta = {} if text is None else {"content": text}
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return f"data: {json.dumps(body)}\n\n".encode()


def sse_body(
    *parts: str, usage: dict[str, int] | None = None, done: bool = True, finish: str = "stop"
) -> bytes:
    """A streamed completion of ``parts``; ``done=False`` stops before the model finished."""
    body = b"".join(sse_chunk(p) for p in parts)
    if done:
        body += sse_chunk(finish=finish)
        if usage is not None:
            body += sse_chunk(usage=usage)
        body += b"data: [DONE]\n\n"
    return body


def sent_messages(route: respx.Route) -> dict[str, Any]:
    """The JSON body the SDK actually sent on the route's last call."""
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


# Shared by every test: pass a copy to anything that adds to the headers it is given (httpx-sse).
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

COMPANY = {
    "name": "Acme AB",
    "plan": "enterprise",
    "contract_start": "2026-01-01T00:00:00Z",
    "languages": ["sv", "en"],
    "brand_voice": "warm, informal, first names",
    "signature": "Anna, Acme kundtjänst",
}

REVIEW = {
    "type": "company",
    "title": "Slow delivery",
    "text": "The parcel took three weeks and nobody answered my emails.",
    "stars": 2,
    "created_at": "2026-11-20T08:00:00Z",
    "reported": False,
    "verified": True,
    "author_name": "Erik",
    "language": "en",
}


class Api:
    """Small helpers over the test client, so tests read as the flow they check."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def company(self, company_id: str = "acme", **overrides: Any) -> dict[str, Any]:
        r = await self.client.put(
            f"/v1/companies/{company_id}", json={**COMPANY, **overrides}, headers=ADMIN
        )
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    async def key(self, company_id: str = "acme", role: str = "agent") -> dict[str, str]:
        r = await self.client.post(
            f"/v1/companies/{company_id}/api-keys", json={"role": role}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}

    async def review(
        self, review_id: str = "r1", company_id: str = "acme", **overrides: Any
    ) -> dict[str, Any]:
        body = {k: v for k, v in {**REVIEW, **overrides}.items() if v is not None}
        r = await self.client.put(
            f"/v1/companies/{company_id}/reviews/{review_id}", json=body, headers=ADMIN
        )
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    async def generate(
        self,
        review_id: str = "r1",
        company_id: str = "acme",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/companies/{company_id}/reviews/{review_id}/drafts",
            headers=headers or ADMIN,
            **kwargs,
        )


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def with_settings(base_settings: Settings) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return replace(base_settings, **changes)

    return make

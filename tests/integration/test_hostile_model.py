"""A model server that answers what it should not: far too much, text that is not text, too slowly.

The model is ``bench/stub_llm.py`` in a subprocess (a real socket, over both of the SDK's
transports), switched to a hostile answer through its ``/_config``; its ``/_stats`` say how much
of an answer the service read before it stopped, and how many calls it made.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from httpx_sse import aconnect_sse
from structlog.testing import capture_logs

from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve, sse_chunk, stub_model

ROOT = Path(__file__).resolve().parents[2]
DRAFTS = "/v1/companies/acme/reviews/r1/drafts"
TRANSPORTS = ["httpx", "aiohttp"]
HUGE_COMPLETION = 20_000_000
HUGE_STREAM = 30_000_000
# What the service may read of a hostile answer: its bound, and the kernel's socket buffers
# (a few MB on loopback) that the server fills before it notices nobody reads.
READ_AT_MOST = 10_000_000
CHARS_PER_TOKEN = 16  # a draft keeps at most this many characters per token of max_tokens


def bound(settings: Settings) -> int:
    return CHARS_PER_TOKEN * settings.max_completion_tokens


@pytest.fixture(scope="module")
def stub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stub_model(tmp_path_factory.mktemp("stub"), "--tokens", "40") as url:
        yield url


class Stub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.base_url = f"{url}/v1"
        self._before: dict[str, int] = {}

    async def configure(self, **config: Any) -> None:
        defaults = {"ttft_ms": 0, "tokens_per_s": 0, "tokens": 40, "hostile": ""}
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{self.url}/_config", json={**defaults, **config})
            r.raise_for_status()
        self._before = await self._read()

    async def _read(self) -> dict[str, int]:
        async with httpx.AsyncClient() as http:
            data: dict[str, int] = (await http.get(f"{self.url}/_stats")).json()
            return data

    async def stats(self) -> dict[str, int]:
        """Answers and cut-short answers since ``configure``; ``sent_bytes`` of the last one."""
        now = await self._read()
        return {k: v - self._before.get(k, 0) if k != "sent_bytes" else v for k, v in now.items()}


@pytest.fixture
async def stub(stub_url: str) -> AsyncIterator[Stub]:
    model = Stub(stub_url)
    await model.configure()
    yield model
    await model.configure()


@pytest.fixture
def against(stub: Stub, with_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return with_settings(openai_base_url=stub.base_url, **changes)

    return make


async def read_events(client: httpx.AsyncClient) -> list[tuple[str, Any]]:
    async with aconnect_sse(client, "POST", DRAFTS, headers={**ADMIN}) as source:
        assert source.response.status_code == 200
        return [(e.event, json.loads(e.data)) async for e in source.aiter_sse()]


async def counted(client: httpx.AsyncClient) -> tuple[int, list[dict[str, Any]]]:
    used = await client.get(f"{DRAFTS[:-7]}/eligibility", headers=ADMIN)
    drafts = await client.get(DRAFTS, headers=ADMIN)
    return used.json()["generations_used"], drafts.json()["items"]


# --- item 2: an answer far larger than max_tokens allows -----------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_20_mb_completion_is_cut_at_the_bound_and_read_no_further(
    stub: Stub, against: Callable[..., Settings], redis_client: object, transport: str
) -> None:
    await stub.configure(hostile="huge", hostile_bytes=HUGE_COMPLETION)
    settings = against(llm_http=transport, llm_timeout_s=10.0)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        r = await api.generate()
        assert r.status_code == 201, r.text
        draft = r.json()
        assert bound(settings) // 2 <= len(draft["text"]) <= bound(settings)
        assert draft["text"] == draft["text"].strip()
        assert not draft["text"].endswith(("Er", "tha", "tak"))  # never in the middle of a word
        assert "cut_off" in draft["warnings"]
        stats = await stub.stats()
        # One call (a cut-off flood is not asked for again), and the rest of it never read.
        assert (stats["completions"], stats["cut_short"]) == (0, 1)
        assert stats["sent_bytes"] < READ_AT_MOST
        used, drafts = await counted(client)
        assert (used, [d["text"] for d in drafts]) == (1, [draft["text"]])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_30_mb_stream_is_cut_at_the_bound_and_read_no_further(
    stub: Stub, against: Callable[..., Settings], redis_client: object, transport: str
) -> None:
    await stub.configure(hostile="huge", hostile_bytes=HUGE_STREAM)
    settings = against(llm_http=transport, llm_timeout_s=10.0)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        events = await read_events(client)
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "draft" and set(kinds[:-1]) == {"delta"}, kinds[-3:]
        streamed = "".join(data["text"] for kind, data in events if kind == "delta")
        draft = events[-1][1]
        assert draft["text"] == streamed.strip()
        assert bound(settings) // 2 <= len(draft["text"]) <= bound(settings)
        assert "cut_off" in draft["warnings"]
        stats = await stub.stats()
        assert (stats["streams"], stats["cut_short"]) == (0, 1)
        assert stats["sent_bytes"] < READ_AT_MOST
        used, drafts = await counted(client)
        assert (used, [d["text"] for d in drafts]) == (1, [draft["text"]])


async def test_the_bound_follows_max_completion_tokens(
    stub: Stub, against: Callable[..., Settings], redis_client: object
) -> None:
    await stub.configure(hostile="huge", hostile_bytes=2_000_000)
    settings = against(max_completion_tokens=100, llm_timeout_s=10.0)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert 800 <= len(r.json()["text"]) <= 1600  # 16 characters a token


# --- item 10: text that is not text ----------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_lone_surrogate_in_a_completion_is_a_malformed_response(
    stub: Stub, against: Callable[..., Settings], redis_client: object, transport: str
) -> None:
    await stub.configure(hostile="surrogate")
    async with serve(against(llm_http=transport)) as client:
        api = Api(client)
        await api.company()
        await api.review()
        r = await api.generate()
        assert r.status_code == 503, r.text
        problem = r.json()
        assert (problem["code"], problem["cause"]) == ("llm_unavailable", "malformed_response")
        assert int(r.headers["retry-after"]) > 0
        assert await counted(client) == (0, [])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_lone_surrogate_in_a_stream_is_one_error_event(
    stub: Stub, against: Callable[..., Settings], redis_client: object, transport: str
) -> None:
    await stub.configure(hostile="surrogate")
    async with serve(against(llm_http=transport)) as client:
        api = Api(client)
        await api.company()
        await api.review()
        events = await read_events(client)
        assert [kind for kind, _ in events] == ["error"]
        problem = events[0][1]
        assert (problem["status"], problem["code"]) == (503, "llm_unavailable")
        assert problem["cause"] == "malformed_response"
        assert await counted(client) == (0, [])


# --- item 9: a model that trickles -----------------------------------------------------------


async def test_a_trickling_stream_ends_in_one_error_event_at_the_deadline(
    stub: Stub, against: Callable[..., Settings], redis_client: object
) -> None:
    # A token every 0.25 s, each well within the 1 s read timeout; 40 tokens would take 10 s.
    await stub.configure(tokens_per_s=4, tokens=40)
    settings = against(llm_timeout_s=1.0, llm_max_retries=0)
    deadline_s = 1.0  # one attempt of llm_timeout_s
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        started = time.monotonic()
        events = await read_events(client)
        took = time.monotonic() - started
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "error" and set(kinds[:-1]) <= {"delta"}, kinds
        assert "draft" not in kinds
        problem = events[-1][1]
        assert (problem["code"], problem["cause"]) == ("llm_unavailable", "timeout")
        assert deadline_s <= took < deadline_s + 1.5, took
        assert await counted(client) == (0, [])


def test_a_reservation_outlives_the_longest_call() -> None:
    """A stream (or a JSON call and its retry) ends before its slot's reservation can lapse, so
    no other call takes the slot meanwhile and the draft is never refused at its commit."""
    for settings in (
        Settings(),
        Settings(llm_timeout_s=600, llm_max_retries=10, llm_queue_wait_s=600),
        Settings(llm_timeout_s=0.1, llm_max_retries=0, llm_queue_wait_s=0.05),
    ):
        attempts = settings.llm_max_retries + 1
        model_deadline_s = settings.llm_timeout_s * attempts + settings.llm_max_retries
        one_round = settings.llm_queue_wait_s + model_deadline_s
        assert settings.reservation_ttl_s >= 2 * one_round + 30


# --- item 13: a model's error that echoes the prompt ------------------------------------------

ECHOED_REVIEW = "Ingrid Bergqvist here, the courier smashed my teapot and laughed about it"


@pytest.mark.parametrize("stream", [False, True])
async def test_a_models_error_echoing_the_review_never_reaches_the_log(
    with_settings: Callable[..., Settings],
    redis_client: object,
    llm: respx.MockRouter,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    echo = f"Your prompt was: {ECHOED_REVIEW}"
    error = {"message": echo, "param": echo, "code": echo, "type": echo}
    if stream:  # the model accepts the call, then sends an error in place of its answer
        body = sse_chunk("Hi") + f"data: {json.dumps({'error': error})}\n\n".encode()
        answer = httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    else:
        answer = httpx.Response(400, json={"error": error}, headers={"x-request-id": echo})
    llm["chat"].mock(return_value=answer)
    async with serve(with_settings(log_level="DEBUG")) as client:
        api = Api(client)
        await api.company()
        await api.review(text=ECHOED_REVIEW)
        with capture_logs() as lines:
            if stream:
                events = await read_events(client)
                assert events[-1][0] == "error"
            else:
                r = await api.generate()
                assert r.status_code == 503, r.text
    (model_line,) = [line for line in lines if line["event"].startswith("llm_")]
    assert model_line["error_code"] == "unrecognised"
    out, err = capfd.readouterr()
    logged = out + err + caplog.text + repr(lines)
    for fragment in ("Bergqvist", "teapot", "courier smashed"):
        assert fragment not in logged

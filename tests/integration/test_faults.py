"""Faults injected one at a time, and what the service does about each (issue 4).

In every case the outcome is a 503 with ``Retry-After`` (or a clear 4xx), nothing is counted that
produced no draft (eligibility's ``generations_used`` and the drafts list are unchanged), nothing
acknowledged is lost, and the service keeps serving: the next good call succeeds.

The model is mocked with respx (the ``llm`` fixture) where an HTTP answer is enough; faults that
need a real socket (a model that accepts and never answers, a body that trickles in) use a small
threaded HTTP server, and Redis dying mid-request uses a ``redis-server`` of the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from reply_assist.models import GENERATION_LIMIT
from reply_assist.settings import Settings
from reply_assist.store.connection import Scripts, connect
from reply_assist.store.reviews import ReviewRepository
from tests.conftest import (
    ADMIN,
    COMPANY,
    REPLY,
    REVIEW,
    Api,
    completion,
    serve,
    sse_body,
    sse_chunk,
)

STREAM = {**ADMIN, "Accept": "text/event-stream"}
PROBLEM = "application/problem+json"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert all(body[k] for k in ("type", "title", "detail")), body
    return body


def assert_retry_after(r: httpx.Response, expected: int | None = None) -> None:
    assert "retry-after" in r.headers, r.headers
    seconds = int(r.headers["retry-after"])
    assert seconds >= 1
    if expected is not None:
        assert seconds == expected


async def counted(api: Api, review_id: str = "r1") -> tuple[int, list[str]]:
    """(eligibility's generations_used, the ids in the drafts list)."""
    e = await api.client.get(f"/v1/companies/acme/reviews/{review_id}/eligibility", headers=ADMIN)
    assert e.status_code == 200, e.text
    d = await api.client.get(f"/v1/companies/acme/reviews/{review_id}/drafts", headers=ADMIN)
    assert d.status_code == 200, d.text
    return int(e.json()["generations_used"]), [x["id"] for x in d.json()["items"]]


def sse_events(text: str) -> list[tuple[str, Any]]:
    """The (event, decoded data) pairs of a server-sent event stream."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].lstrip())
        events.append((name, json.loads("\n".join(data)) if data else None))
    return events


def stream_response(body: bytes | httpx.AsyncByteStream) -> httpx.Response:
    headers = {"content-type": "text/event-stream"}
    if isinstance(body, bytes):
        return httpx.Response(200, content=body, headers=headers)
    return httpx.Response(200, stream=body, headers=headers)


class _DropsMidStream(httpx.AsyncByteStream):
    """Two deltas, then the connection goes away (what httpx raises when a peer hangs up)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield sse_chunk("Hi Erik, thank you ")
        yield sse_chunk("for taking the time ")
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


async def setup_review(api: Api) -> None:
    await api.company()
    await api.review()


async def serves_again(api: Api, generation: int = 1) -> None:
    """The next good call succeeds, and it is the review's ``generation``-th draft."""
    r = await api.generate()
    assert r.status_code == 201, r.text
    assert r.json()["generation"] == generation
    assert r.json()["text"] == REPLY


# --------------------------------------------------------------------------------------------
# The model fails
# --------------------------------------------------------------------------------------------


async def test_model_rate_limited_propagates_retry_after(api: Api, llm: respx.MockRouter) -> None:
    await setup_review(api)
    llm["chat"].mock(
        return_value=httpx.Response(
            429,
            headers={"retry-after": "7"},
            json={"error": {"message": "Rate limit reached", "type": "requests", "code": None}},
        )
    )
    r = await api.generate()
    assert_problem(r, 503, "llm_unavailable")
    assert_retry_after(r, 7)
    assert await counted(api) == (0, [])
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY)))
    await serves_again(api)


MODEL_FAILURES: dict[str, httpx.Response] = {
    "server_error_500": httpx.Response(500, json={"error": {"message": "boom", "type": "server"}}),
    "bad_gateway_502": httpx.Response(502, text="<html>Bad gateway</html>"),
    "malformed_json": httpx.Response(
        200, content=b'{"id": "x", "choices": [', headers={"content-type": "application/json"}
    ),
    "not_json_at_all": httpx.Response(
        200, content=b"<html>hello</html>", headers={"content-type": "text/html"}
    ),
    "empty_body": httpx.Response(200, content=b"", headers={"content-type": "application/json"}),
    "wrong_shape": httpx.Response(200, json={"hello": "world"}),
    "no_choices": httpx.Response(200, json={**completion(REPLY), "choices": []}),
    "empty_completion": httpx.Response(200, json=completion("")),
    "blank_completion": httpx.Response(200, json=completion("  \n\t ")),
    "null_content": httpx.Response(
        200,
        json={
            **completion(REPLY),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": None},
                    "finish_reason": "stop",
                }
            ],
        },
    ),
    "bad_api_key_401": httpx.Response(
        401, json={"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}
    ),
}


@pytest.mark.parametrize("fault", list(MODEL_FAILURES))
async def test_model_failure_is_503_and_counts_nothing(
    api: Api, llm: respx.MockRouter, fault: str
) -> None:
    await setup_review(api)
    llm["chat"].mock(return_value=MODEL_FAILURES[fault])
    r = await api.generate()
    assert_problem(r, 503, "llm_unavailable")
    assert_retry_after(r)
    assert await counted(api) == (0, [])
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY)))
    await serves_again(api)


async def test_failure_in_a_streamed_call_before_the_first_delta_is_a_plain_503(
    api: Api, llm: respx.MockRouter
) -> None:
    await setup_review(api)
    llm["chat"].mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    r = await api.generate(headers=STREAM)
    assert_problem(r, 503, "llm_unavailable")
    assert_retry_after(r)
    assert await counted(api) == (0, [])


async def test_failed_call_releases_its_idempotency_key(api: Api, llm: respx.MockRouter) -> None:
    await setup_review(api)
    headers = {**ADMIN, "Idempotency-Key": "retry-me-1"}
    llm["chat"].mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    assert_problem(await api.generate(headers=headers), 503, "llm_unavailable")
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY)))
    first = await api.generate(headers=headers)
    assert first.status_code == 201, first.text
    replay = await api.generate(headers=headers)
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert await counted(api) == (1, [first.json()["id"]])


async def test_retry_after_warnings_that_fails_counts_nothing_or_one(
    api: Api, llm: respx.MockRouter
) -> None:
    """The first answer has a warning (a URL), the retry fails: either the first answer comes
    back with its warning and counts once, or the call is a 503 that counts nothing."""
    await setup_review(api)
    llm["chat"].mock(
        side_effect=[
            httpx.Response(200, json=completion(REPLY + " See http://evil.example/x")),
            httpx.Response(500, json={"error": {"message": "boom"}}),
        ]
    )
    r = await api.generate()
    assert llm["chat"].call_count == 2
    if r.status_code == 201:
        assert "url_not_allowed" in r.json()["warnings"]
        assert await counted(api) == (1, [r.json()["id"]])
    else:
        assert_problem(r, 503, "llm_unavailable")
        assert await counted(api) == (0, [])


# --------------------------------------------------------------------------------------------
# The model hangs
# --------------------------------------------------------------------------------------------


class ModelServer:
    """An OpenAI-compatible endpoint on a real socket, for faults a mock cannot fake.

    ``mode``: ``"hang"`` accepts the request and never answers; ``"trickle"`` answers a valid
    completion one byte every 0.1 s (each read well within any timeout, the whole far past it);
    ``"ok"`` answers at once.
    """

    def __init__(self) -> None:
        self.mode = "hang"
        self.trickle_s = 3.0
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._send(json.dumps({"object": "list", "data": []}).encode())

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                payload = json.dumps(completion(REPLY)).encode()
                if server.mode == "hang":
                    server.closing.wait(10)
                    self.close_connection = True
                elif server.mode == "trickle":
                    padding = int(server.trickle_s / 0.1)
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(padding + len(payload)))
                    self.end_headers()
                    for _ in range(padding):
                        if server.closing.wait(0.1):
                            return
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    self.wfile.write(payload)
                else:
                    self._send(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer()
    yield server
    server.close()


async def test_model_that_never_answers_times_out(
    with_settings: Callable[..., Settings], redis_client: Any, model_server: ModelServer
) -> None:
    settings = with_settings(llm_timeout_s=0.5, openai_base_url=model_server.base_url)
    async with serve(settings) as client:
        api = Api(client)
        await setup_review(api)
        started = time.monotonic()
        r = await api.generate()
        elapsed = time.monotonic() - started
        assert_problem(r, 503, "llm_unavailable")
        assert_retry_after(r)
        assert elapsed < 5, elapsed
        assert await counted(api) == (0, [])
        model_server.mode = "ok"
        await serves_again(api)


@pytest.mark.parametrize("how", ["respx_sleep", "trickling_body"])
async def test_model_slower_than_the_timeout_is_cut_off(
    with_settings: Callable[..., Settings],
    redis_client: Any,
    model_server: ModelServer,
    how: str,
) -> None:
    timeout_s = 0.3
    if how == "trickling_body":
        model_server.mode = "trickle"
        settings = with_settings(llm_timeout_s=timeout_s, openai_base_url=model_server.base_url)
        router: Any = contextlib.nullcontext()  # a real socket: nothing to mock
    else:
        settings = with_settings(llm_timeout_s=timeout_s)

        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(3)
            return httpx.Response(200, json=completion(REPLY))

        router = respx.mock(base_url=settings.openai_base_url, assert_all_called=False)
        router.post("/chat/completions").mock(side_effect=slow)
        router.route(host="127.0.0.1").pass_through()  # the test's calls to the app
    with router:
        async with serve(settings) as client:
            api = Api(client)
            await setup_review(api)
            started = time.monotonic()
            r = await api.generate()
            elapsed = time.monotonic() - started
            assert await counted(api) == (0, [])
            assert_problem(r, 503, "llm_unavailable")
            assert_retry_after(r)
            assert elapsed < 2, elapsed


async def test_model_endpoint_unreachable(
    with_settings: Callable[..., Settings], redis_client: Any
) -> None:
    settings = with_settings(openai_base_url="http://127.0.0.1:1/v1", llm_timeout_s=1.0)
    async with serve(settings) as client:
        api = Api(client)
        await setup_review(api)
        r = await api.generate()
        assert_problem(r, 503, "llm_unavailable")
        assert_retry_after(r)
        assert await counted(api) == (0, [])
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["drafter"]["ok"] is False
        assert ready.json()["store"]["ok"] is True


# --------------------------------------------------------------------------------------------
# The model drops the connection mid-stream
# --------------------------------------------------------------------------------------------


async def test_connection_dropped_mid_stream(api: Api, llm: respx.MockRouter) -> None:
    await setup_review(api)
    llm["chat"].mock(return_value=stream_response(_DropsMidStream()))
    r = await api.generate(headers=STREAM)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    names = [name for name, _ in events]
    assert names[-1] == "error", names
    assert names.count("error") == 1
    assert "draft" not in names
    assert set(names[:-1]) <= {"delta"}
    problem = events[-1][1]
    assert problem["code"] == "llm_unavailable"
    assert problem["status"] == 503
    assert all(problem[k] for k in ("type", "title", "detail")), problem
    assert await counted(api) == (0, [])

    llm["chat"].mock(return_value=stream_response(sse_body("Hi Erik, ", "thank you.")))
    ok = await api.generate(headers=STREAM)
    assert ok.status_code == 200, ok.text
    events = sse_events(ok.text)
    assert [name for name, _ in events] == ["delta", "delta", "draft"]
    draft = events[-1][1]
    assert draft["text"] == "Hi Erik, thank you."
    assert "".join(data["text"] for _, data in events[:-1]) == draft["text"]
    assert draft["generation"] == 1
    assert await counted(api) == (1, [draft["id"]])


async def test_stream_cut_off_without_done_is_not_a_draft(api: Api, llm: respx.MockRouter) -> None:
    await setup_review(api)
    llm["chat"].mock(
        return_value=stream_response(sse_body("Hi Erik, thank you ", "for taking", done=False))
    )
    r = await api.generate(headers=STREAM)
    assert r.status_code == 200, r.text
    names = [name for name, _ in sse_events(r.text)]
    assert await counted(api) == (0, [])
    assert names[-1] == "error", names
    assert "draft" not in names


async def test_stream_answers_200(api: Api, llm: respx.MockRouter) -> None:
    await setup_review(api)
    llm["chat"].mock(return_value=stream_response(sse_body("Hi Erik, ", "thank you.")))
    r = await api.generate(headers=STREAM)
    assert r.status_code == 200, r.status_code


# --------------------------------------------------------------------------------------------
# Redis down at start
# --------------------------------------------------------------------------------------------


async def test_redis_down_at_start(
    with_settings: Callable[..., Settings], redis_client: Any, llm: respx.MockRouter
) -> None:
    settings = with_settings(redis_url="redis://127.0.0.1:1/0", redis_timeout_s=0.5)
    async with serve(settings) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert_retry_after(ready)
        body = ready.json()
        assert body["ready"] is False
        assert body["store"]["ok"] is False
        assert body["store"]["kind"] == "redis"
        assert "127.0.0.1:1" in body["store"]["detail"]
        assert (await client.get("/metrics")).status_code == 200

        key = {"Authorization": "Bearer rak_" + "x" * 43}  # an API key: looked up in Redis
        review = "/v1/companies/acme/reviews/r1"
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("PUT", "/v1/companies/acme", {"json": COMPANY, "headers": ADMIN}),
            ("GET", "/v1/companies/acme", {"headers": ADMIN}),
            ("PUT", review, {"json": REVIEW, "headers": ADMIN}),
            ("GET", f"{review}/eligibility", {"headers": ADMIN}),
            ("POST", f"{review}/drafts", {"headers": ADMIN}),
            ("POST", f"{review}/drafts", {"headers": STREAM}),
            ("GET", f"{review}/drafts", {"headers": ADMIN}),
            ("GET", "/v1/feedback/stats", {"headers": ADMIN}),
            ("GET", "/v1/companies/acme", {"headers": key}),
        ]
        for method, path, kwargs in calls:
            started = time.monotonic()
            r = await client.request(method, path, **kwargs)
            assert_problem(r, 503, "store_unavailable")
            assert_retry_after(r)
            assert time.monotonic() - started < 5
        assert llm["chat"].call_count == 0
        assert (await client.get("/healthz")).status_code == 200


# --------------------------------------------------------------------------------------------
# Redis goes down mid-request, and comes back
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class OwnRedis:
    """A ``redis-server`` of this test's own, which it may kill and restart on the same port.

    Every write is fsynced to an append-only file, so what was acknowledged survives a kill -9.
    """

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


async def test_redis_dies_mid_request_and_comes_back(
    with_settings: Callable[..., Settings], own_redis: OwnRedis, llm: respx.MockRouter
) -> None:
    settings = with_settings(redis_url=own_redis.url, redis_timeout_s=0.5)
    async with serve(settings) as client:
        api = Api(client)
        await setup_review(api)
        first = await api.generate()
        assert first.status_code == 201, first.text

        async def redis_dies_while_the_model_thinks(request: httpx.Request) -> httpx.Response:
            own_redis.kill()
            await asyncio.sleep(0.1)
            return httpx.Response(200, json=completion(REPLY))

        llm["chat"].mock(side_effect=redis_dies_while_the_model_thinks)
        r = await api.generate()
        assert_problem(r, 503, "store_unavailable")
        assert_retry_after(r)
        assert llm["chat"].call_count == 2

        # While Redis is down: alive, not ready, and every store call a quick 503.
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["store"]["ok"] is False
        down = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
        assert_problem(down, 503, "store_unavailable")

        own_redis.start()  # same port, same append-only file; the app is not restarted
        llm["chat"].mock(side_effect=None, return_value=httpx.Response(200, json=completion(REPLY)))
        deadline = time.monotonic() + 10
        while (ready := await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            await asyncio.sleep(0.1)
        assert ready.json()["store"]["ok"] is True

        # Nothing acknowledged was lost; the failed call stored nothing and counted nothing
        # (its reservation, which it could not release, holds a slot until it expires).
        used, ids = await counted(api)
        assert ids == [first.json()["id"]]
        assert used in (1, 2)
        second = await api.generate()
        assert second.status_code == 201, second.text
        assert second.json()["generation"] == 2
        assert (await counted(api))[1] == [second.json()["id"], first.json()["id"]]


# --------------------------------------------------------------------------------------------
# A process dies between reservation and commit
# --------------------------------------------------------------------------------------------


async def _leak_a_reservation(settings: Settings, ttl_s: float) -> None:
    """Another instance reserves a slot for acme/r1, then dies: no commit, no release."""
    store = connect(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        max_connections=2,
        timeout_s=settings.redis_timeout_s,
    )
    try:
        loaded = await ReviewRepository(store).load_and_reserve(
            "acme", "r1", ttl_s=ttl_s, limit=GENERATION_LIMIT, month="2026-12"
        )
        assert loaded.reservation is not None
    finally:
        await store.aclose()


async def _wait_until_used(api: Api, expected: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (used := (await counted(api))[0]) != expected:
        assert time.monotonic() < deadline, f"generations_used stayed {used}, not {expected}"
        await asyncio.sleep(0.1)


async def test_dead_process_slot_comes_back_after_its_ttl(
    api: Api, settings: Settings, llm: respx.MockRouter
) -> None:
    await setup_review(api)
    await _leak_a_reservation(settings, ttl_s=1.0)
    e = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert (e.json()["generations_used"], e.json()["generations_left"]) == (1, 9)
    assert (await counted(api))[1] == []
    await _wait_until_used(api, 0)

    ids = []
    for generation in range(1, GENERATION_LIMIT + 1):
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert r.json()["generation"] == generation
        ids.append(r.json()["id"])
    assert_problem(await api.generate(), 422, "generation_limit_reached")
    e = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert e.json()["reasons"] == ["generation_limit_reached"]
    assert (await counted(api)) == (GENERATION_LIMIT, ids[::-1])


async def test_dead_process_holding_the_last_slot(
    api: Api, settings: Settings, llm: respx.MockRouter
) -> None:
    await setup_review(api)
    for _ in range(GENERATION_LIMIT - 1):
        assert (await api.generate()).status_code == 201
    await _leak_a_reservation(settings, ttl_s=1.0)
    # The dead call's slot counts while it lives: the review is full.
    e = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert e.json()["generations_used"] == GENERATION_LIMIT
    assert e.json()["reasons"] == ["generation_limit_reached"]
    assert_problem(await api.generate(), 422, "generation_limit_reached")
    # Then it expires, and exactly one more draft can be made.
    await _wait_until_used(api, GENERATION_LIMIT - 1)
    last = await api.generate()
    assert last.status_code == 201, last.text
    assert (last.json()["generation"], last.json()["generations_left"]) == (GENERATION_LIMIT, 0)
    assert_problem(await api.generate(), 422, "generation_limit_reached")
    used, ids = await counted(api)
    assert (used, len(ids)) == (GENERATION_LIMIT, GENERATION_LIMIT)


# --------------------------------------------------------------------------------------------
# Shutdown
# --------------------------------------------------------------------------------------------


async def test_store_aclose_closes_the_connection_pool(settings: Settings) -> None:
    """Leaked sockets would surface as ResourceWarnings in whichever later test the garbage
    collector runs in (an error under filterwarnings=error)."""
    store = connect(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        max_connections=2,
        timeout_s=settings.redis_timeout_s,
    )
    pool = store.client.connection_pool
    assert await store.client.ping()
    await store.aclose()
    still_open = [c for c in pool._available_connections if c.is_connected]
    await pool.disconnect()  # so the leak does not fail another test
    assert still_open == []


# --------------------------------------------------------------------------------------------
# A script sent twice: redis-py sends a command again after a timeout, and the first may have run
# --------------------------------------------------------------------------------------------


async def test_scripts_sent_twice_count_once(
    api: Api, llm: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    await setup_review(api)
    run_once = Scripts.run

    async def run_twice(self: Any, name: str, keys: list[str], args: list[Any]) -> Any:
        if name in ("idempotency_begin", "load_and_reserve", "commit_draft", "publish", "vote"):
            await run_once(self, name, keys, args)
        return await run_once(self, name, keys, args)

    monkeypatch.setattr(Scripts, "run", run_twice)
    first = await api.generate(headers={**ADMIN, "Idempotency-Key": "once"})
    assert first.status_code == 201, first.text
    assert (first.json()["generation"], first.json()["generations_left"]) == (1, 9)
    assert await counted(api) == (1, [first.json()["id"]])
    stats = await api.client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)
    assert stats.json()["drafts"] == 1, stats.json()
    for generation in range(2, GENERATION_LIMIT + 1):  # every slot is still usable
        assert (await api.generate()).json()["generation"] == generation
    assert_problem(await api.generate(), 422, "generation_limit_reached")
    feedback = f"/v1/companies/acme/reviews/r1/drafts/{first.json()['id']}/feedback"
    for vote, reason in (("down", "wrong_tone"), ("up", "helpful")):  # each sent twice
        body = {"vote": vote, "agent_id": "a-1", "reason": reason}  # the second replaces the first
        assert (await api.client.post(feedback, json=body, headers=ADMIN)).status_code == 201
    stats = await api.client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)
    assert stats.json()["votes"] == {"up": 1, "down": 0}, stats.json()
    assert stats.json()["reasons"].get("helpful") == 1, stats.json()
    assert stats.json()["reasons"].get("wrong_tone") == 0, stats.json()
    for version, text in ((1, "Thanks, Erik!"), (2, "Thanks again, Erik!")):
        # A publish sent twice is one version, an update (another text) the next.
        reply = {"text": text, "agent_id": "a-1", "draft_id": first.json()["id"]}
        r = await api.client.put("/v1/companies/acme/reviews/r1/reply", json=reply, headers=ADMIN)
        assert r.status_code in (200, 201), r.text
        assert r.json()["version"] == version, r.json()
    versions = await api.client.get("/v1/companies/acme/reviews/r1/reply", headers=ADMIN)
    assert [v["version"] for v in versions.json()["versions"]] == [1, 2]

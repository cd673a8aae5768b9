"""A failed model call names its real cause, over both of the SDK's transports.

Real sockets, not respx: what matters is how httpx and aiohttp (through the SDK, which wraps a
refused connection into a ``ConnectTimeout`` on aiohttp) report a closed port, an unknown
host, a TLS mismatch or a silent server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
import structlog
from structlog.testing import capture_logs

from reply_assist.drafting.base import CompanyFacts, DraftRequest, PromptMessages, ReviewFacts
from reply_assist.drafting.llm import OpenAIDrafter, make_openai_client
from reply_assist.errors import LLMUnavailable

TRANSPORTS = ["httpx", "aiohttp"]

REQUEST = DraftRequest(
    company=CompanyFacts(name="Acme AB"),
    review=ReviewFacts(stars=2, text="The parcel took three weeks.", language="en"),
    messages=PromptMessages(
        system="Answer the review.",
        user="The parcel took three weeks.",
        prompt_version="test",
        prompt_tokens=10,
        truncated=False,
    ),
    max_tokens=50,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
async def plain_server() -> AsyncIterator[int]:
    """Answers anything in plain-text HTTP: not TLS, so https:// to it fails its handshake."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def failure(
    base_url: str, transport: str, *, with_context: bool = False
) -> tuple[LLMUnavailable, list[dict[str, object]]]:
    client = make_openai_client(
        api_key=None,
        base_url=base_url,
        timeout_s=0.5,
        max_retries=0,
        max_connections=2,
        transport=transport,
    )
    drafter = OpenAIDrafter(client, "m")
    try:
        processors = [structlog.contextvars.merge_contextvars] if with_context else []
        with capture_logs(processors=processors) as logs, pytest.raises(LLMUnavailable) as caught:
            await drafter.complete(REQUEST)
    finally:
        await drafter.aclose()
    return caught.value, logs


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_closed_port_is_a_refused_connection_not_a_timeout(transport: str) -> None:
    error, logs = await failure(f"http://127.0.0.1:{closed_port()}/v1", transport)
    assert error.cause == "connection_refused"
    assert error.to_problem().cause == "connection_refused"
    assert "refused the connection" in error.detail
    assert error.code == "llm_unavailable" and error.status == 503
    assert [(line["event"], line["cause"]) for line in logs] == [
        ("llm_connection_error", "connection_refused")
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_unknown_host_is_a_dns_failure(transport: str) -> None:
    error, logs = await failure("http://no-such-host.invalid/v1", transport)
    assert error.cause == "dns"
    assert "could not be resolved" in error.detail
    assert [line["cause"] for line in logs] == ["dns"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tls_to_a_plain_http_server_is_a_tls_failure(
    transport: str, plain_server: int
) -> None:
    error, logs = await failure(f"https://127.0.0.1:{plain_server}/v1", transport)
    assert error.cause == "tls"
    assert "TLS" in error.detail
    assert [line["cause"] for line in logs] == ["tls"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_silent_server_is_a_timeout(transport: str, silent_server: int) -> None:
    error, logs = await failure(f"http://127.0.0.1:{silent_server}/v1", transport)
    assert error.cause == "timeout"
    assert "did not answer in time" in error.detail
    assert [(line["event"], line["cause"]) for line in logs] == [("llm_timeout", "timeout")]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_probe_names_the_cause(transport: str, silent_server: int) -> None:
    for base_url, cause in [
        (f"http://127.0.0.1:{closed_port()}/v1", "connection_refused"),
        ("http://no-such-host.invalid/v1", "dns"),
        (f"http://127.0.0.1:{silent_server}/v1", "timeout"),
    ]:
        client = make_openai_client(
            api_key=None,
            base_url=base_url,
            timeout_s=0.5,
            max_retries=0,
            max_connections=2,
            transport=transport,
        )
        drafter = OpenAIDrafter(client, "m")
        try:
            problem = await drafter.probe()
        finally:
            await drafter.aclose()
        assert problem is not None
        assert f"({cause})" in problem, (base_url, problem)


async def test_an_http_error_status_is_named() -> None:
    with respx.mock(base_url="http://llm.test/v1") as router:
        router.post("/chat/completions").mock(return_value=httpx.Response(502, json={}))
        error, logs = await failure("http://llm.test/v1", "httpx")
    assert error.cause == "http_status"
    assert "HTTP 502" in error.detail
    assert [(line["event"], line["status"]) for line in logs] == [("llm_server_error", 502)]


@pytest.mark.parametrize("status", [429, 500])
@pytest.mark.parametrize(
    ("model_headers", "model_request_id"),
    [({"x-request-id": "req_model_123"}, "req_model_123"), ({}, None)],
)
async def test_the_models_request_id_is_logged_beside_ours(
    status: int, model_headers: dict[str, str], model_request_id: str | None
) -> None:
    """The model's x-request-id goes in llm_request_id; request_id stays the request's own."""
    with respx.mock(base_url="http://llm.test/v1") as router:
        router.post("/chat/completions").mock(
            return_value=httpx.Response(status, json={}, headers=model_headers)
        )
        with structlog.contextvars.bound_contextvars(request_id="ours-1"):
            _, logs = await failure("http://llm.test/v1", "httpx", with_context=True)
    assert [line["event"] for line in logs] == [
        "llm_rate_limited" if status == 429 else "llm_server_error"
    ]
    assert logs[0]["request_id"] == "ours-1"
    assert logs[0]["llm_request_id"] == model_request_id

"""What the operator sees of a failed request: the access log and /metrics tell the status the
client got (401, 429, a client gone before its body), and a model failure names its real cause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
import structlog
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from reply_assist.settings import Settings
from tests.conftest import ADMIN, ADMIN_TOKEN, Api, serve


def requests_counted(path: str, status: int, method: str = "GET") -> float:
    labels = {
        "app_name": "reply_assist",
        "method": method,
        "path": path,
        "status_code": str(status),
    }
    return REGISTRY.get_sample_value("reply_assist_requests_total", labels) or 0.0


def request_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "request"]


async def test_401_and_429_are_logged_and_counted_with_the_status_sent(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    settings = with_settings(rate_limit_per_min=1, log_level="INFO")
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        key = await api.key(role="dashboard")
        path = "/v1/companies/{company_id}"
        before = {status: requests_counted(path, status) for status in (200, 401, 429)}
        with capture_logs() as logs:
            statuses = [
                (await client.get("/v1/companies/acme", headers=headers)).status_code
                for headers in ({"Authorization": "Bearer rak_unknown"}, key, key)
            ]
        assert statuses == [401, 200, 429]
        assert [line["status"] for line in request_lines(logs)] == [401, 200, 429]
        assert not [line for line in logs if line["event"] == "unexpected_error"]
        after = {status: requests_counted(path, status) for status in (200, 401, 429)}
        assert {status: after[status] - before[status] for status in after} == {
            200: 1,
            401: 1,
            429: 1,
        }


async def test_a_client_gone_before_its_body_is_logged_and_counted_as_499(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    settings = with_settings(log_level="INFO")
    async with serve(settings) as client:
        port = client.base_url.port
        path = "/v1/companies/{company_id}"
        before = requests_counted(path, 499, method="PUT")
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"PUT /v1/companies/acme HTTP/1.1\r\nHost: test\r\n"
                + f"Authorization: Bearer {ADMIN_TOKEN}\r\n".encode()
                + b'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name": '
            )
            await writer.drain()
            await asyncio.sleep(0.2)  # the handler is waiting for the rest of the body
            writer.close()
            await writer.wait_closed()
            for _ in range(200):
                if request_lines(logs):
                    break
                await asyncio.sleep(0.01)
        assert [line["status"] for line in request_lines(logs)] == [499]
        assert not [line for line in logs if line["event"] == "unexpected_error"]
        assert requests_counted(path, 499, method="PUT") == before + 1
        # The service is none the worse for it.
        assert (await client.get("/v1/companies/acme", headers=ADMIN)).status_code == 404


async def start_model_listing() -> asyncio.Server:
    """A model endpoint that answers every request with an empty model list, then hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"object": "list", "data": []}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_model_gone_is_named_and_readyz_reports_it_at_once(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis, transport: str
) -> None:
    model = await start_model_listing()
    port = model.sockets[0].getsockname()[1]
    settings = with_settings(openai_base_url=f"http://127.0.0.1:{port}/v1", llm_http=transport)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        await api.review()
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text  # probed now; the next probe is 30 s away
        model.close()
        await model.wait_closed()  # the model is gone: its port refuses connections
        with capture_logs() as logs:
            r = await api.generate()
        assert r.status_code == 503 and "retry-after" in r.headers
        problem = r.json()
        assert problem["code"] == "llm_unavailable"  # the contract's code, whatever the cause
        assert problem["cause"] == "connection_refused"
        assert "refused the connection" in problem["detail"]
        assert [line["event"] for line in logs if line["event"].startswith("llm_")] == [
            "llm_connection_error"
        ]
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["drafter"]["ok"] is False
        assert "(connection_refused)" in ready.json()["drafter"]["detail"]

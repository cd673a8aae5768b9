"""What the operator sees of a failed request: the access log and /metrics tell the status the
client got (401, 429, a client gone before its body), and a model failure names its real cause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

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

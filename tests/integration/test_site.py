"""The small things a newcomer met: ``/`` opens the desk, the icon exists, and every request,
a 404 included, gets its access-log line (issue 17)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
import structlog
from structlog.testing import capture_logs

from reply_assist.settings import Settings
from tests.conftest import serve


def request_lines(logs: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(x["method"], x["path"], x["status"]) for x in logs if x["event"] == "request"]


async def test_every_request_gets_its_access_line_and_the_site_has_a_home_and_an_icon(
    with_settings: Callable[..., Settings], redis_client: aioredis.Redis
) -> None:
    async with serve(with_settings(log_level="INFO")) as client:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            home = await client.get("/")
            icon = await client.get("/favicon.ico")
            missing = await client.get("/no-such-page")
            wrong_method = await client.delete("/healthz")
            desk_missing = await client.get("/desk/no-such-page")
            for _ in range(100):
                if len(request_lines(logs)) == 5:
                    break
                await asyncio.sleep(0.01)
    assert (home.status_code, home.headers["location"]) == (303, "/desk")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert request_lines(logs) == [
        ("GET", "/", 303),
        ("GET", "/favicon.ico", 200),
        ("GET", "/no-such-page", 404),
        ("DELETE", "/healthz", 405),
        ("GET", "/desk/no-such-page", desk_missing.status_code),
    ]
    assert all(line.get("request_id") for line in logs if line["event"] == "request")

"""``reply-assist demo`` against a running service: the URL from the environment, and one
line, not an HTTP library's message, when something is wrong (issue 17)."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import pytest

from reply_assist.cli import main
from tests.conftest import ADMIN_TOKEN


async def test_the_url_comes_from_the_environment(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPLY_ASSIST_URL", str(client.base_url))
    monkeypatch.setenv("REPLY_ASSIST_ADMIN_TOKEN", ADMIN_TOKEN)
    assert await asyncio.to_thread(main, ["demo", "--company", "demo-env"]) == 0
    out = capsys.readouterr().out
    assert f"Open {str(client.base_url).rstrip('/')}/desk" in out
    assert set(re.findall(r"^\s+(agent|dashboard|analyst)\s+rak_\S+$", out, re.M)) == {
        "agent",
        "dashboard",
        "analyst",
    }


async def test_a_wrong_token_is_one_line(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["demo", "--url", str(client.base_url), "--admin-token", "not-the-admin-token-1234"]
    assert await asyncio.to_thread(main, args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "admin token was refused (401)" in err and "httpx" not in err.lower()


def test_no_service_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["demo", "--url", f"http://127.0.0.1:{port}", "--admin-token", "x" * 20]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"no service answered at http://127.0.0.1:{port}" in err

"""The cluster client turns a connection closed under it into one retry, then a ConnectionError."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from reply_assist.store.connection import connect

CLOSED = RuntimeError("unable to perform operation on <TCPTransport closed=True>")


def _cluster() -> Any:
    # Nothing connects until the first command, and every command here is faked.
    return connect(
        "redis://127.0.0.1:1/0?cluster=1", prefix="t", max_connections=2, timeout_s=1
    ).client


async def test_a_connection_closed_under_a_command_is_retried_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes: list[Any] = [CLOSED, "PONG"]

    async def execute(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(RedisCluster, "execute_command", execute)
    assert await _cluster().execute_command("PING") == "PONG"
    assert outcomes == []


@pytest.mark.parametrize("error", [CLOSED, AttributeError("'NoneType' has no 'writelines'")])
async def test_closed_twice_is_a_connection_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    calls = 0

    async def execute(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        raise error

    monkeypatch.setattr(RedisCluster, "execute_command", execute)
    with pytest.raises(RedisConnectionError):  # a 503 with Retry-After, not a 500
        await _cluster().execute_command("PING")
    assert calls == 2


async def test_a_pipeline_is_not_resent_but_fails_as_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def execute(self: ClusterPipeline, *args: Any, **kwargs: Any) -> Any:
        raise CLOSED

    monkeypatch.setattr(ClusterPipeline, "execute", execute)
    pipe = _cluster().pipeline()
    pipe.get("k")
    with pytest.raises(RedisConnectionError):
        await pipe.execute()

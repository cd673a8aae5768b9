"""Connecting to Redis (or to the embedded in-process store) and registering the Lua scripts."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from reply_assist.store.keys import Keys

__all__ = ["Scripts", "Store", "connect"]

Redis = aioredis.Redis

_SCRIPT_NAMES = (
    "reserve",
    "release",
    "commit_draft",
    "vote",
    "publish",
    "edit_draft",
    "idempotency_begin",
    "idempotency_abandon",
)


class Scripts:
    """Every Lua script, registered once; EVALSHA with a fallback to EVAL after a flush/restart."""

    def __init__(self, client: Redis) -> None:
        folder = resources.files("reply_assist.store") / "scripts"
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script((folder / f"{name}.lua").read_text("utf-8"))
            for name in _SCRIPT_NAMES
        }

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)


@dataclass(frozen=True, slots=True)
class Store:
    client: Redis
    keys: Keys
    scripts: Scripts
    embedded: bool
    description: str  # for /readyz and the start line; never contains a password

    async def aclose(self) -> None:
        await self.client.aclose()


def _describe(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"redis ({parts.scheme}://{host}{port})"


def connect(url: str | None, *, prefix: str, max_connections: int, timeout_s: float) -> Store:
    """A store on ``url``, or the embedded in-process one when no URL is configured.

    The pool blocks (up to the socket timeout) instead of raising when all connections are busy:
    redis-py's default pool raises past its size, which under a burst would turn load into 503s.
    """
    client: Redis
    if url is None:
        import fakeredis  # only needed for the embedded store

        # fakeredis runs the same Lua scripts (through lupa), so the rules hold identically.
        client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
        description = "embedded in-process store (fakeredis): nothing survives a restart"
        embedded = True
    else:
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            decode_responses=True,
        )
        client = aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool
        description = _describe(url)
        embedded = False
    return Store(
        client=client,
        keys=Keys(prefix),
        scripts=Scripts(client),
        embedded=embedded,
        description=description,
    )

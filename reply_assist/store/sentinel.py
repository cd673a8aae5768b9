"""Redis Sentinel: the ``redis+sentinel://`` URL, and a client of the group's master.

redis-py has the Sentinel client but no URL form for it, so the URL is parsed here; the client
gets the same options as the single-server one (``connection.connect``), including a pool that
waits for a free connection instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

__all__ = ["SentinelUrl", "is_sentinel_url", "parse_sentinel_url", "sentinel_master"]

_SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_SENTINEL_PORT = 26379
_SENTINEL_FORMAT = "redis+sentinel://[:password@]host:26379[,host:26379…]/<service>[/<db>]"


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    """A parsed ``redis+sentinel://`` URL; neither ``repr`` nor ``describe`` shows the password."""

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    def describe(self) -> str:
        scheme = _SENTINEL_SCHEMES[1] if self.tls else _SENTINEL_SCHEMES[0]
        hosts = ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.sentinels
        )
        db = f"/{self.db}" if self.db else ""
        return f"redis sentinel ({scheme}://{hosts}/{self.service_name}{db})"


def is_sentinel_url(url: str) -> bool:
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() in _SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelUrl:
    """``redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<service>[/<db>]``.

    Split by hand: ``urllib.parse`` reads one ``host:port`` per netloc, so a comma-separated list
    breaks its port parsing (and its IPv6 check). A port defaults to 26379, the database to 0; an
    IPv6 address goes in brackets. ``rediss+sentinel://`` means TLS to the Sentinels and to the
    master. The credentials are the master's (Sentinels are asked without them). A wrong URL is
    a ``ValueError`` naming the variable and the problem, never quoting the URL (its password).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SENTINEL_SCHEMES:
        raise _sentinel_error("it must start with redis+sentinel:// or rediss+sentinel://")
    # The authority ends at the first "/", "?" or "#" (a password must percent-encode them).
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, path = rest[:end], rest[end:]
    if "?" in path or "#" in path:
        raise _sentinel_error("it takes no ?query or #fragment")
    credentials, _, hosts = authority.rpartition("@")
    username, _, password = credentials.partition(":")
    service_name, db = _sentinel_path(path)
    return SentinelUrl(
        sentinels=tuple(
            _sentinel_address(text.strip(), index)
            for index, text in enumerate(hosts.split(","), start=1)
        ),
        service_name=service_name,
        db=db,
        username=unquote(username) or None,
        password=unquote(password) or None,
        tls=scheme.lower() == _SENTINEL_SCHEMES[1],
    )


def _sentinel_error(problem: str) -> ValueError:
    return ValueError(
        f"REPLY_ASSIST_REDIS_URL is not a valid Sentinel URL: {problem} "
        f"(expected {_SENTINEL_FORMAT})"
    )


def _sentinel_address(text: str, index: int) -> tuple[str, int]:
    where = f"Sentinel address {index}"
    if text.startswith("["):  # an IPv6 address: [::1]:26379
        host, closed, rest = text[1:].partition("]")
        if not closed or rest[:1] not in ("", ":"):
            raise _sentinel_error(f"{where} has a malformed [IPv6] address")
    else:
        colon = text.find(":")
        host, rest = (text, "") if colon < 0 else (text[:colon], text[colon:])
        if rest.count(":") > 1:
            raise _sentinel_error(f"{where} looks like an IPv6 address: put it in [brackets]")
    if not host:
        raise _sentinel_error(f"{where} has no host")
    if not rest:
        return host, _SENTINEL_PORT
    port = rest[1:]
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise _sentinel_error(f"{where} has no valid port (1 to 65535)")
    return host, int(port)


def _sentinel_path(path: str) -> tuple[str, int]:
    segments = path.removeprefix("/").split("/")
    if len(segments) > 1 and segments[-1] == "":  # a trailing slash
        segments.pop()
    service_name = unquote(segments[0])
    if not service_name:
        raise _sentinel_error("it names no service: add /<service> after the hosts")
    if len(segments) > 2:
        raise _sentinel_error("expected only /<service>[/<db>] after the hosts")
    db = segments[1] if len(segments) == 2 else "0"
    if not (db.isascii() and db.isdigit()):
        raise _sentinel_error("the database after the service must be a number")
    return service_name, int(db)


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """A Sentinel pool that waits for a free connection instead of failing.

    ``SentinelConnectionPool`` only decides where a new connection goes (it asks the Sentinels for
    the master's address) and derives from the plain pool, which raises ``MaxConnectionsError``
    past its size; ``BlockingConnectionPool`` only changes how a connection is taken and given
    back. The two override different methods, so mixing them gives both, with the same bounded
    wait (``timeout``) as the single-server pool.
    """


class _SentinelMaster(aioredis.Redis):
    """The master's client; closing it also closes the Sentinel clients behind its pool.

    ``Sentinel.master_for`` hands the pool to the client, but the Sentinel's own connections (its
    ``SENTINEL MASTERS`` queries) are not the pool's and would otherwise stay open.
    """

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            pool = self.connection_pool
            if isinstance(pool, SentinelConnectionPool):
                await pool.sentinel_manager.aclose()


def sentinel_master(
    target: SentinelUrl,
    *,
    max_connections: int,
    wait_s: float,
    timeout_s: float,
    **options: Any,
) -> aioredis.Redis:
    """A client of the group's master; ``options`` are those every client of the store gets."""
    sentinel = Sentinel(
        list(target.sentinels),
        # A Sentinel client serves the address lookups of new master connections, at most
        # ``max_connections`` at once, so it never needs more.
        sentinel_kwargs={
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "max_connections": max_connections,
            "ssl": target.tls,
        },
    )
    master: aioredis.Redis = sentinel.master_for(
        target.service_name,
        redis_class=_SentinelMaster,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=max_connections,
        timeout=wait_s,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,  # the pool picks its (TLS) connection class from this
        **options,
    )
    return master

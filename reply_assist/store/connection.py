"""Connecting to Redis (or to the embedded in-process store) and registering the Lua scripts.

Four kinds of store, chosen by ``REPLY_ASSIST_REDIS_URL``:

- unset: the embedded in-process store (fakeredis, the same Lua scripts); nothing survives a
  restart and it cannot be shared between processes;
- ``redis://``, ``rediss://`` or ``unix://``: one Redis server (or a Sentinel-managed primary
  behind a stable address);
- ``redis+sentinel://[[user]:password@]host:26379[,host:26379…]/<service>[/<db>]`` (or
  ``rediss+sentinel://``, TLS to the Sentinels and the master): the master of a Sentinel-managed
  group. The client asks the Sentinels for the master's address on every new connection, so after
  a failover it follows the promoted replica without a restart (see ``sentinel``);
- the same URL with ``?cluster=1`` (``redis://node1:6379/0?cluster=1``): Redis Cluster. The URL
  names any one node; the client discovers the others and follows MOVED/ASK redirections.

Cluster safety: every key of one company carries the hash tag ``{c:<company_id>}`` (see
``keys``), so each Lua script, which only touches one company's keys, runs on one slot; the
cluster client routes EVALSHA by its keys and refuses (``RedisClusterException``) a script call
whose keys span slots, so a key-naming mistake fails loudly instead of silently. Pipelines are
non-transactional and may span slots (the cluster client splits them per node); PFCOUNT over
several keys needs one slot, which the tag gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError

from reply_assist.store.keys import Keys
from reply_assist.store.sentinel import is_sentinel_url, parse_sentinel_url, sentinel_master

__all__ = ["Client", "Scripts", "Store", "connect", "script_sources", "split_cluster_flag"]

Redis = aioredis.Redis
if TYPE_CHECKING:
    Client: TypeAlias = aioredis.Redis | RedisCluster
else:
    # Litestar builds its signature model with msgspec, which walks the annotations of the
    # injected Runtime down to ``Store.client`` and cannot represent a union of two classes; to
    # it the client is opaque, which is all it needs (dataclass instances are passed through).
    Client = Any

_SCRIPT_NAMES = (
    "authenticate",
    "authenticate_in_company",
    "load_and_reserve",
    "release",
    "commit_draft",
    "vote",
    "publish",
    "put_review",
    "edit_draft",
    "idempotency_begin",
    "idempotency_abandon",
    "idempotency_finish",
    "queue_rule_job",
    "job_finish",
    "auth_failure",
    "webhook_enqueue",
    "webhook_attempt",
    "webhook_finish",
    "add_credits",
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


_INCLUDE = "-- #include "


def script_sources() -> dict[str, str]:
    """Each script's source as Redis runs it: a line ``-- #include <name>`` is replaced by
    ``scripts/lib/<name>.lua`` (Lua in Redis cannot load a module, and two scripts share the
    reservation rule, which must not exist twice)."""
    folder = resources.files("reply_assist.store") / "scripts"

    def expand(line: str) -> str:
        if not line.startswith(_INCLUDE):
            return line
        # A part may include another (reserve includes usage, which commit_draft includes too).
        return expanded(folder / "lib" / f"{line.removeprefix(_INCLUDE).strip()}.lua")

    def expanded(path: Traversable) -> str:
        return "".join(expand(line) for line in path.read_text("utf-8").splitlines(True))

    return {name: expanded(folder / f"{name}.lua") for name in _SCRIPT_NAMES}


class Scripts:
    """Every Lua script, registered once; EVALSHA with a fallback to EVAL after a flush/restart.

    On a cluster, EVALSHA goes to the node that owns the first key's slot, and SCRIPT LOAD (after
    a NOSCRIPT reply, e.g. a new or restarted node) goes to every primary.
    """

    def __init__(self, client: Client) -> None:
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(source) for name, source in script_sources().items()
        }

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)


@dataclass(frozen=True, slots=True)
class Store:
    client: Client
    keys: Keys
    scripts: Scripts
    embedded: bool
    description: str  # for /readyz and the start line; never contains a password
    cluster: bool = False

    async def aclose(self) -> None:
        await self.client.aclose()


def split_cluster_flag(url: str) -> tuple[str, bool]:
    """``(url without the cluster flag, whether it asked for Redis Cluster)``.

    The flag is taken out because redis-py passes every other query argument on to its
    connections. ``cluster=1/true/yes/on`` turns cluster mode on, ``0/false/no/off`` off;
    anything else is a ``ValueError`` naming the variable.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value.strip().lower() for name, value in query if name == "cluster"]
    if not flags:
        return url, False
    flag = flags[-1]
    if flag not in _TRUE | _FALSE:
        raise ValueError(
            f"REPLY_ASSIST_REDIS_URL has cluster={flag!r}: expected cluster=1 or cluster=0"
        )
    rest = urlencode([(name, value) for name, value in query if name != "cluster"])
    cleaned = urlunsplit(parts._replace(query=rest))
    cluster = flag in _TRUE
    if cluster and parts.scheme not in ("redis", "rediss"):
        raise ValueError(
            "REPLY_ASSIST_REDIS_URL: Redis Cluster needs a redis:// or rediss:// URL "
            f"(not {parts.scheme}://)"
        )
    return cleaned, cluster


def _describe(url: str, *, cluster: bool = False) -> str:
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    port = f":{parts.port}" if parts.port else ""
    kind = "redis cluster" if cluster else "redis"
    return f"{kind} ({parts.scheme}://{host}{port})"


# Set while the current task holds one of the cluster client's slots, so that a call the client
# makes on its own behalf inside another (a pipeline retrying a redirected command one by one)
# does not wait for a second slot, which could deadlock a saturated client.
_holding_slot: contextvars.ContextVar[bool] = contextvars.ContextVar("holding_slot", default=False)

# When one command times out, redis-py's cluster client drops the node's connections and maps the
# cluster anew, closing connections that other tasks are using; their next write then fails with
# the transport's own error instead of ConnectionError (redis/redis-py#4287): uvloop's RuntimeError
# "the handler is closed", or an AttributeError on the cleared writer. That skipped every retry
# and reached clients as 500s (bench, 4 workers on a cluster: 112 of 2,000 calls). Both fail before
# a byte of the command is written, so the command is sent once more.
_CLOSED_UNDER_US = (RuntimeError, AttributeError, TypeError)


class _BoundedCluster(RedisCluster):
    """A cluster client that waits for a free connection instead of failing.

    redis-py's async cluster client keeps a connection list per node and raises
    ``MaxConnectionsError`` once a node's list is full: under a burst that would turn load into
    503s. Here at most ``max_in_flight`` commands or pipelines run at once; the others wait, up to
    ``wait_s``, then fail with a ``ConnectionError`` like ``BlockingConnectionPool`` does. Each
    running command uses at most one connection per node, so with a per-node limit of twice that
    (room for the nested retries above) a node's list never overflows.
    """

    def __init__(self, *args: Any, max_in_flight: int, wait_s: float, **kwargs: Any) -> None:
        kwargs["max_connections"] = 2 * max_in_flight
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Semaphore(max_in_flight)
        self._gate_size = max_in_flight
        self._wait_s = wait_s

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if _holding_slot.get():
            yield
            return
        try:
            async with asyncio.timeout(self._wait_s):
                await self._gate.acquire()
        except TimeoutError:
            raise RedisConnectionError(
                f"No Redis Cluster connection available: all {self._gate_size} busy for "
                f"{self._wait_s:g} s."
            ) from None
        token = _holding_slot.set(True)
        try:
            yield
        finally:
            _holding_slot.reset(token)
            self._gate.release()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.slot():
            try:
                return await super().execute_command(*args, **kwargs)
            except _CLOSED_UNDER_US:
                try:
                    return await super().execute_command(*args, **kwargs)
                except _CLOSED_UNDER_US as exc:
                    raise _closed(exc) from exc

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises: not in cluster mode
        # redis-py's typing marks a protocol attribute abstract that the class sets at runtime.
        return _BoundedPipeline(self, transaction)  # type: ignore[abstract]


class _BoundedPipeline(ClusterPipeline):
    """A cluster pipeline that takes one of its client's slots while it executes.

    It also allows PFCOUNT, which redis-py blocks in every cluster pipeline because the count of
    a union cannot be split across slots. The statistics count one company's HyperLogLogs, which
    share the company's hash tag, so their PFCOUNT is one command on one slot; keys on different
    slots still fail, with ``RedisClusterException``, when the pipeline routes the command.
    """

    def pfcount(self, *sources: Any) -> Any:
        return self.execute_command("PFCOUNT", *sources)

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        client = self.cluster_client
        assert isinstance(client, _BoundedCluster)
        async with client.slot():
            try:
                return await super().execute(raise_on_error, allow_redirections)
            except _CLOSED_UNDER_US as exc:  # part may have run on another node: no retry here
                raise _closed(exc) from exc


def _closed(exc: BaseException) -> RedisConnectionError:
    return RedisConnectionError(f"A Redis Cluster connection was closed while in use: {exc!r}")


def _options(timeout_s: float) -> dict[str, Any]:
    """What every kind of Redis client gets (single server, cluster, Sentinel's master)."""
    return {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "health_check_interval": 30,
        "decode_responses": True,
    }


def connect(
    url: str | None,
    *,
    prefix: str,
    max_connections: int,
    timeout_s: float,
    pool_wait_s: float | None = None,
) -> Store:
    """A store on ``url``, or the embedded in-process one when no URL is configured.

    The pool blocks (up to ``pool_wait_s``, default the socket timeout) instead of raising when
    all connections are busy: redis-py's default pool raises past its size, which under a burst
    would turn load into 503s. The wait is longer than the socket timeout because a burst queues
    for connections while Redis itself is fine (bench: 949 → 1000 of 1000 with 10 s).
    On a cluster, ``max_connections`` bounds the commands in flight across all nodes (see
    ``_BoundedCluster``); behind Sentinel it bounds the master's pool, which blocks the same way
    (see ``_BlockingSentinelPool``).
    """
    client: Client
    cluster = False
    if url is None:
        import fakeredis  # only needed for the embedded store

        # fakeredis runs the same Lua scripts (through lupa), so the rules hold identically.
        client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
        description = "embedded in-process store (fakeredis): nothing survives a restart"
        embedded = True
    elif is_sentinel_url(url):
        target = parse_sentinel_url(url)
        client = sentinel_master(
            target,
            max_connections=max_connections,
            wait_s=pool_wait_s or timeout_s,
            timeout_s=timeout_s,
            **_options(timeout_s),
        )
        description = target.describe()
        embedded = False
    else:
        url, cluster = split_cluster_flag(url)
        if cluster:
            client = _BoundedCluster.from_url(
                url,
                max_in_flight=max_connections,
                wait_s=pool_wait_s or timeout_s,
                **_options(timeout_s),
            )
        else:
            pool = aioredis.BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=pool_wait_s or timeout_s,
                **_options(timeout_s),
            )
            client = aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool
        description = _describe(url, cluster=cluster)
        embedded = False
    return Store(
        client=client,
        keys=Keys(prefix),
        scripts=Scripts(client),
        embedded=embedded,
        description=description,
        cluster=cluster,
    )

"""Sentinel mode: the service follows a failover without a restart.

The test starts, on loopback in a temporary directory, one Redis master, one replica and one
Sentinel monitoring them (quorum 1, down after 1 s), and serves the app in process (the model is
mocked with respx) on ``redis+sentinel://127.0.0.1:<sentinel port>/<service>``. One test runs the
generate path; the other kills the master and checks that, once Sentinel has promoted the replica,
generate calls succeed again on the new master (a few 503s with Retry-After meanwhile, never a
500), with the Lua scripts loaded again there after NOSCRIPT. Everything started is stopped in a
finally; nothing touches the shared Redis on 6379. A third test checks that the master's pool
waits for a free connection, as the single-server pool does.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import redis
import respx
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.redis_cluster import cluster_ports
from reply_assist.settings import Settings
from reply_assist.store.connection import connect, script_sources
from tests.conftest import ADMIN, Api, serve
from tests.integration.test_cluster import Processes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="redis-server is not on PATH (apt-get install redis-server)",
    ),
]

SERVICE = "reply-assist-test"
DOWN_AFTER_MS = 1000


@dataclass
class SentinelGroup:
    master: subprocess.Popen[bytes]
    master_port: int
    replica_port: int
    sentinel_port: int

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}"


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, decode_responses=True, socket_timeout=2)


def _wait_for(what: str, check: Callable[[], bool], procs: Processes, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.ConnectionError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s:\n{procs.tails()}")
        time.sleep(0.05)


def _start_redis(procs: Processes, name: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(procs.tmp)]
    # No 5 s wait for more replicas before a diskless full sync: there is only one.
    argv += ["--repl-diskless-sync-delay", "0", *extra]
    return procs.spawn(name, argv, {})


def _replica_in_sync(port: int) -> bool:
    with _client(port) as replica:
        return bool(replica.info("replication").get("master_link_status") == "up")


def _sentinel_sees_replica(sentinel_port: int, replica_port: int) -> bool:
    """The Sentinel is connected to the replica, so it can promote it."""
    with _client(sentinel_port) as sentinel:
        replicas = sentinel.sentinel_slaves(SERVICE)
    return any(r["port"] == replica_port and r["flags"] == "slave" for r in replicas)


def start_group(procs: Processes) -> SentinelGroup:
    master_port, replica_port, sentinel_port = cluster_ports(3)  # free, below ephemeral ports
    master = _start_redis(procs, "master", master_port)
    _start_redis(procs, "replica", replica_port, "--replicaof", "127.0.0.1", str(master_port))
    # Sentinel learns of replicas from the master's INFO, which it asks for when it connects and
    # then only every 10 s: start it once the replica is attached, or wait 10 s for it.
    _wait_for("replication", lambda: _replica_in_sync(replica_port), procs)
    config = procs.tmp / "sentinel.conf"  # Sentinel rewrites its config: a file of its own
    config.write_text(
        f"port {sentinel_port}\n"
        "bind 127.0.0.1\n"
        f"dir {procs.tmp}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {SERVICE} 3000\n"
    )
    procs.spawn("sentinel", ["redis-server", str(config), "--sentinel"], {})
    _wait_for("Sentinel's view", lambda: _sentinel_sees_replica(sentinel_port, replica_port), procs)
    return SentinelGroup(master, master_port, replica_port, sentinel_port)


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    procs = Processes(Path(tempfile.mkdtemp(prefix="reply-assist-sentinel-")))
    try:
        yield start_group(procs)
    finally:
        print(procs.tails())  # captured: pytest shows it only when the test fails
        procs.stop()


@pytest.fixture
def settings(base_settings: Settings, group: SentinelGroup) -> Settings:
    return replace(base_settings, redis_url=group.url, redis_timeout_s=1.0)


def _script_shas() -> list[str]:
    """The SHA1 of every Lua script of the store, as EVALSHA names them."""
    return sorted(hashlib.sha1(source.encode()).hexdigest() for source in script_sources().values())


async def _ready_store(http: httpx.AsyncClient) -> str:
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    return str(ready.json()["store"]["detail"])


async def test_generate_works_through_sentinel(
    settings: Settings, group: SentinelGroup, llm: respx.MockRouter
) -> None:
    async with serve(settings) as http:
        detail = await _ready_store(http)
        assert detail == f"redis sentinel ({group.url})"
        api = Api(http)
        await api.company()
        agent = await api.key()
        await api.review()
        once = {**agent, "Idempotency-Key": "k-1"}
        first = await api.generate(headers=once)
        again = await api.generate(headers=once)
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert first.json()["id"] == again.json()["id"]
        listed = await http.get("/v1/companies/acme/reviews/r1/drafts", headers=agent)
        assert [d["id"] for d in listed.json()["items"]] == [first.json()["id"]]
    with _client(group.master_port) as master:  # the data is on the master Sentinel named
        assert master.keys(f"{settings.redis_key_prefix}*")
    assert llm["chat"].call_count == 1


async def test_generate_recovers_after_the_master_dies(
    settings: Settings, group: SentinelGroup, llm: respx.MockRouter
) -> None:
    async with serve(settings) as http:
        api = Api(http)
        await api.company()
        agent = await api.key()
        await api.review()
        before = await api.generate(headers=agent)
        assert before.status_code == 201, before.text
        with _client(group.master_port) as master:
            assert master.execute_command("WAIT", 1, 2000) == 1  # the replica has it all
        with _client(group.replica_port) as replica:
            # Replicas get the scripts' effects, not the scripts: make sure, so the new master
            # must answer NOSCRIPT and the client must load each script again.
            replica.script_flush()
            assert not any(replica.script_exists(*_script_shas()))

        group.master.kill()
        group.master.wait(5)
        killed = time.monotonic()
        statuses: Counter[int] = Counter()
        after = None
        while time.monotonic() - killed < 20:
            response = await api.generate(headers=agent)
            statuses[response.status_code] += 1
            if response.status_code == 201:
                after = response
                break
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "store_unavailable"
            assert response.headers.get("Retry-After")
            await asyncio.sleep(0.1)
        assert after is not None, f"no success within 20 s of the kill: {statuses}"
        # Not before Sentinel could have noticed: the requests did wait for the promotion.
        assert time.monotonic() - killed > DOWN_AFTER_MS / 1000
        assert statuses[503] >= 1

        with _client(group.sentinel_port) as sentinel:
            address = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        assert address == ("127.0.0.1", group.replica_port)
        assert await _ready_store(http) == f"redis sentinel ({group.url})"
        listed = await http.get("/v1/companies/acme/reviews/r1/drafts", headers=agent)
        ids = {d["id"] for d in listed.json()["items"]}
        assert {before.json()["id"], after.json()["id"]} <= ids  # nothing lost in the switch
        with _client(group.replica_port) as promoted:
            # The scripts the generate call ran were loaded again after NOSCRIPT.
            assert any(promoted.script_exists(*_script_shas()))
        stats = await http.get("/v1/companies/acme/feedback/stats", headers=ADMIN)
        assert stats.status_code == 200, stats.text


async def test_the_master_pool_waits_for_a_free_connection(group: SentinelGroup) -> None:
    """Past ``max_connections`` a command waits for a connection, then fails as 503-able."""
    key = f"ra-sentinel-test:{time.monotonic_ns()}"
    waits = connect(group.url, prefix=key, max_connections=2, timeout_s=1, pool_wait_s=2)
    try:
        started = time.monotonic()
        # Six 0.2 s commands through two connections: three waves, none refused.
        results = await asyncio.gather(*(waits.client.blpop([key], timeout=0.2) for _ in range(6)))
        assert results == [None] * 6
        assert time.monotonic() - started >= 0.55
    finally:
        await waits.aclose()

    gives_up = connect(group.url, prefix=key, max_connections=1, timeout_s=1, pool_wait_s=0.1)
    try:

        async def hold_the_only_connection() -> object:
            return await gives_up.client.blpop([key], timeout=0.5)

        held = asyncio.create_task(hold_the_only_connection())
        await asyncio.sleep(0.05)
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await gives_up.client.ping()
        assert await held is None
    finally:
        await gives_up.aclose()

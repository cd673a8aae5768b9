"""Scale-out: two service processes on a three-master Redis Cluster keep the limit of 10 exact.

The test starts everything itself on loopback: three ``redis-server --cluster-enabled yes`` nodes
joined with ``redis-cli --cluster create``, the stub model (``bench/stub_llm.py``) and two
``reply-assist serve`` processes whose ``REPLY_ASSIST_REDIS_URL`` ends in ``?cluster=1``. It then
fires 100 concurrent generate calls for one review, spread over both processes, and afterwards
runs every other Lua script and multi-key command of the store once through the cluster
(idempotency, edit, votes, publish, statistics). Everything it started is stopped in a finally.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bench.redis_cluster import cluster_ports, stop_servers
from bench.redis_cluster import start_cluster as start_cluster_on
from tests.conftest import COMPANY, REVIEW

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
        reason="redis-server and redis-cli are not on PATH (apt-get install redis-server)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "cluster-test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CALLS = 100
LIMIT = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Processes:
    """Everything the test starts, so that the finally can stop all of it."""

    tmp: Path
    redis_ports: list[int] = field(default_factory=list)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(ROOT),
                start_new_session=True,
            )
        self.children.append((name, proc))
        return proc

    def tails(self) -> str:
        parts = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                lines = log.read_text(errors="replace").splitlines()[-8:]
                parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self.children):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        stop_servers(self.tmp, self.redis_ports)
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_cluster(procs: Processes) -> str:
    """Three masters on loopback, joined; returns the service's REPLY_ASSIST_REDIS_URL."""
    ports = cluster_ports(3)
    procs.redis_ports.extend(ports)
    procs.logs.extend(procs.tmp / f"redis-{port}.log" for port in ports)
    return start_cluster_on(procs.tmp, ports)


async def start_stub(procs: Processes) -> int:
    # 300 ms to the answer: all 100 calls are in flight together, so in-flight ones must count.
    proc = procs.spawn(
        "stub",
        [sys.executable, str(ROOT / "bench" / "stub_llm.py"), "--port", "0", "--ttft-ms", "300"],
        {},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = (procs.tmp / "stub.log").read_text()
        if "listening on" in text:
            return int(text.split("listening on", 1)[1].split()[0].rsplit(":", 1)[1])
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the stub model did not start:\n{procs.tails()}")


async def start_command(
    procs: Processes, name: str, command: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, httpx.Response]:
    """``reply-assist <command>`` on a free port, once its ``/readyz`` answers 200: the process,
    its URL and that answer."""
    port = _free_port()
    proc = procs.spawn(
        name, [sys.executable, "-m", "reply_assist.cli", command, "--port", str(port)], env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                ready = await client.get(f"{base}/readyz")
                if ready.status_code == 200:
                    return proc, base, ready
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready:\n{procs.tails()}")


async def start_service(procs: Processes, name: str, env: dict[str, str]) -> str:
    _, base, ready = await start_command(procs, name, "serve", env)
    assert "cluster" in ready.json()["store"]["detail"], ready.text
    return base


@pytest.fixture
async def services() -> AsyncIterator[list[str]]:
    procs = Processes(Path(tempfile.mkdtemp(prefix="reply-assist-cluster-")))
    try:
        redis_url = start_cluster(procs)
        stub_port = await start_stub(procs)
        env = {
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
            "REPLY_ASSIST_REDIS_URL": redis_url,
            "REPLY_ASSIST_REDIS_PREFIX": f"ra-cluster-{os.getpid()}",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{stub_port}/v1",
            "OPENAI_API_KEY": "test",
            "REPLY_ASSIST_MODEL": "gpt-test",
            "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
            "REPLY_ASSIST_LOG_LEVEL": "WARNING",
            # On, but never reached: the key lookup and its counters run in one script, which
            # must find them in one slot.
            "REPLY_ASSIST_RATE_LIMIT_PER_MIN": "1000000",
        }
        bases = await asyncio.gather(
            start_service(procs, "service-a", env), start_service(procs, "service-b", env)
        )
        yield list(bases)
    finally:
        print(procs.tails())  # captured: pytest shows it only when the test fails
        procs.stop()


async def test_limit_of_ten_is_exact_across_two_processes_on_a_cluster(
    services: list[str],
) -> None:
    a, b = services
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=CALLS, max_keepalive_connections=CALLS)
    ) as client:
        r = await client.put(f"{a}/v1/companies/acme", json=COMPANY, headers=ADMIN)
        assert r.status_code == 201, r.text
        r = await client.post(
            f"{b}/v1/companies/acme/api-keys", json={"role": "agent"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        agent = {"Authorization": f"Bearer {r.json()['key']}"}
        r = await client.put(f"{a}/v1/companies/acme/reviews/r1", json=REVIEW, headers=ADMIN)
        assert r.status_code == 201, r.text

        # 100 calls at once for one review, every other one to each process.
        drafts = "/v1/companies/acme/reviews/r1/drafts"
        results = await asyncio.gather(
            *(client.post(f"{(a, b)[i % 2]}{drafts}", headers=agent) for i in range(CALLS))
        )
        statuses = Counter(r.status_code for r in results)
        assert statuses == {201: LIMIT, 422: CALLS - LIMIT}, statuses
        codes = Counter(r.json()["code"] for r in results if r.status_code == 422)
        assert codes == {"generation_limit_reached": CALLS - LIMIT}
        served_by = Counter(i % 2 for i, r in enumerate(results) if r.status_code == 201)
        assert sum(served_by.values()) == LIMIT

        listed = await client.get(f"{b}{drafts}", headers=agent)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert len(items) == LIMIT
        assert sorted(d["generation"] for d in items) == list(range(1, LIMIT + 1))
        eligibility = await client.get(
            f"{a}/v1/companies/acme/reviews/r1/eligibility", headers=agent
        )
        assert eligibility.json()["generations_left"] == 0

        # Every other script and multi-key command, once, through the cluster.
        r = await client.put(f"{b}/v1/companies/acme/reviews/r2", json=REVIEW, headers=ADMIN)
        assert r.status_code == 201, r.text
        drafts2 = "/v1/companies/acme/reviews/r2/drafts"
        once = {**agent, "Idempotency-Key": "k-1"}
        first = await client.post(f"{a}{drafts2}", headers=once)
        again = await client.post(f"{b}{drafts2}", headers=once)
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert first.json()["id"] == again.json()["id"]
        draft_id = first.json()["id"]
        edit = {"text": "Tack Erik!", "agent_id": "a-1"}
        edited = await client.patch(f"{b}{drafts2}/{draft_id}", json=edit, headers=agent)
        assert edited.status_code == 200, edited.text
        for vote, reason in (("down", "too_long"), ("up", "helpful")):  # the second replaces
            r = await client.post(
                f"{a}{drafts2}/{draft_id}/feedback",
                json={"vote": vote, "agent_id": "a-1", "reason": reason},
                headers=agent,
            )
            assert r.status_code == 201, r.text
        reply = "/v1/companies/acme/reviews/r2/reply"
        body = {"text": "Tack Erik!", "agent_id": "a-1", "draft_id": draft_id}
        r = await client.put(f"{a}{reply}", json=body, headers=agent)
        assert r.status_code == 201, r.text
        r = await client.put(f"{b}{reply}", json={**body, "text": "Tack!"}, headers=agent)
        assert r.status_code == 200, r.text
        # The reply desk's list: its indexes moved by the upsert and publish scripts.
        r = await client.put(
            f"{a}/v1/companies/acme/reviews/r1", json={**REVIEW, "stars": 4}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
        listed = await client.get(
            f"{b}/v1/companies/acme/reviews", params={"status": "replied"}, headers=agent
        )
        assert listed.status_code == 200, listed.text
        assert [i["id"] for i in listed.json()["items"]] == ["r2"]
        listed = await client.get(
            f"{a}/v1/companies/acme/reviews",
            params={"status": "needs_reply", "stars": "4,5", "limit": 1},
            headers=agent,
        )
        assert [i["id"] for i in listed.json()["items"]] == ["r1"]
        stats = await client.get(f"{b}/v1/companies/acme/feedback/stats", headers=ADMIN)
        assert stats.status_code == 200, stats.text
        totals = stats.json()
        assert totals["drafts"] == LIMIT + 1
        assert totals["reviews_with_drafts"] == 2
        assert totals["votes"] == {"up": 1, "down": 0}
        assert totals["published"]["total"] == 2
        everyone = await client.get(f"{a}/v1/feedback/stats", headers=ADMIN)
        assert everyone.status_code == 200, everyone.text
        assert everyone.json()["drafts"] == LIMIT + 1

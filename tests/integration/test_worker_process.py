"""``reply-assist worker`` as a real process against a real Redis: a worker killed with
``kill -9`` in the middle of a job has it taken over and done once; SIGTERM finishes the running
job before the process exits; and once on a Redis Cluster, jobs spread over the shards.

The stub model (``bench/stub_llm.py``) answers after a delay set through its ``/_config``, so
that a job is surely in the middle of its model call when the worker is stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from tests.conftest import ADMIN, ADMIN_TOKEN, COMPANY, REDIS_URL, REVIEW
from tests.integration.test_cluster import (
    Processes,
    start_cluster,
    start_command,
    start_service,
    start_stub,
)
from tests.integration.test_draft_rules import recent

pytestmark = pytest.mark.slow

LEASE_S = 3.0
MODEL_S = 3.0


@pytest.fixture
async def procs() -> AsyncIterator[Processes]:
    procs = Processes(Path(tempfile.mkdtemp(prefix="reply-assist-worker-")))
    try:
        yield procs
    finally:
        print(procs.tails())  # captured: shown when the test fails
        procs.stop()


async def start_worker(procs: Processes, name: str, env: dict[str, str]) -> tuple[Any, str]:
    proc, base, _ = await start_command(procs, name, "worker", env)
    return proc, base


async def slow_model(stub_port: int, seconds: float) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"http://127.0.0.1:{stub_port}/_config", json={"ttft_ms": seconds * 1000}
        )
        assert r.status_code == 200, r.text


def worker_env(prefix: str, stub_port: int, redis_url: str = REDIS_URL) -> dict[str, str]:
    return {
        "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
        "REPLY_ASSIST_REDIS_URL": redis_url,
        "REPLY_ASSIST_REDIS_PREFIX": prefix,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{stub_port}/v1",
        "OPENAI_API_KEY": "test",
        "REPLY_ASSIST_MODEL": "gpt-test",
        "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
        "REPLY_ASSIST_LOG_LEVEL": "INFO",
        "REPLY_ASSIST_JOB_LEASE_S": str(LEASE_S),
    }


async def queue_one(client: httpx.AsyncClient, base: str = "") -> None:
    r = await client.put(f"{base}/v1/companies/acme", json=COMPANY, headers=ADMIN)
    assert r.status_code in (200, 201), r.text
    r = await client.put(
        f"{base}/v1/companies/acme/draft-rules", json={"enabled": True}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    review = {**REVIEW, "created_at": recent()}
    r = await client.put(f"{base}/v1/companies/acme/reviews/r1", json=review, headers=ADMIN)
    assert r.status_code == 201, r.text


async def pending(redis_client: aioredis.Redis, prefix: str) -> int:
    try:
        info = await redis_client.xpending(f"{prefix}:{{c:acme}}/jobs", "drafters")
    except ResponseError:  # no worker has made the group yet
        return 0
    return int(info["pending"])


async def drafts(client: httpx.AsyncClient, base: str = "") -> list[Any]:
    r = await client.get(f"{base}/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    return list(r.json()["items"])


async def test_a_worker_killed_mid_job_has_its_job_taken_over_and_done_once(
    procs: Processes, client: httpx.AsyncClient, redis_client: aioredis.Redis, prefix: str
) -> None:
    stub = await start_stub(procs)
    await slow_model(stub, MODEL_S)
    first, _ = await start_worker(procs, "worker-1", worker_env(prefix, stub))
    await queue_one(client)
    deadline = time.monotonic() + 10
    while await pending(redis_client, prefix) == 0:  # worker 1 took it and calls the model
        assert time.monotonic() < deadline, procs.tails()
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(5)
    killed = time.monotonic()
    assert await drafts(client) == []
    _, second = await start_worker(procs, "worker-2", worker_env(prefix, stub))
    while not (found := await drafts(client)):
        # The lease, the takeover check (a quarter of it), the model, a start: well inside.
        assert time.monotonic() - killed < LEASE_S + LEASE_S / 4 + MODEL_S + 20, procs.tails()
        await asyncio.sleep(0.1)
    await asyncio.sleep(LEASE_S + 1)  # nothing else comes later
    found = await drafts(client)
    assert len(found) == 1 and found[0]["origin"] == "rule"
    assert await pending(redis_client, prefix) == 0
    async with httpx.AsyncClient(timeout=5) as http:
        metrics = (await http.get(f"{second}/metrics")).text
        ready = (await http.get(f"{second}/readyz")).json()
    assert 'reply_assist_jobs_total{outcome="taken_over"} 1.0' in metrics
    assert 'reply_assist_jobs_total{outcome="done"} 1.0' in metrics
    assert "reply_assist_jobs_queued 0.0" in metrics
    assert ready["store"]["ok"] and ready["drafter"]["ok"]


async def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(
    procs: Processes, client: httpx.AsyncClient, redis_client: aioredis.Redis, prefix: str
) -> None:
    stub = await start_stub(procs)
    await slow_model(stub, 2.0)
    worker, _ = await start_worker(procs, "worker", worker_env(prefix, stub))
    await queue_one(client)
    deadline = time.monotonic() + 10
    while await pending(redis_client, prefix) == 0:
        assert time.monotonic() < deadline, procs.tails()
        await asyncio.sleep(0.05)
    os.killpg(worker.pid, signal.SIGTERM)
    # uvicorn ends by re-raising the signal once its graceful shutdown is done.
    assert await asyncio.to_thread(worker.wait, 30) in (0, -signal.SIGTERM)
    assert "worker_stopped" in (procs.tmp / "worker.log").read_text()
    found = await drafts(client)
    assert len(found) == 1 and found[0]["origin"] == "rule"
    assert await pending(redis_client, prefix) == 0


async def test_jobs_run_on_a_redis_cluster_with_streams_on_several_shards(
    procs: Processes,
) -> None:
    redis_url = start_cluster(procs)
    stub = await start_stub(procs)
    prefix = f"ra-worker-cluster-{os.getpid()}"
    env = worker_env(prefix, stub, redis_url) | {"REPLY_ASSIST_RATE_LIMIT_PER_MIN": "0"}
    base, _ = await asyncio.gather(
        start_service(procs, "service", env), start_worker(procs, "worker", env)
    )
    companies = [f"co{i}" for i in range(6)]
    async with httpx.AsyncClient(timeout=30) as client:
        for company in companies:
            r = await client.put(f"{base}/v1/companies/{company}", json=COMPANY, headers=ADMIN)
            assert r.status_code == 201, r.text
            r = await client.put(
                f"{base}/v1/companies/{company}/draft-rules", json={"enabled": True}, headers=ADMIN
            )
            assert r.status_code == 200, r.text
            review = {**REVIEW, "created_at": recent()}
            r = await client.put(
                f"{base}/v1/companies/{company}/reviews/r1", json=review, headers=ADMIN
            )
            assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        for company in companies:
            url = f"{base}/v1/companies/{company}/reviews/r1/drafts"
            while not (items := (await client.get(url, headers=ADMIN)).json()["items"]):
                assert time.monotonic() < deadline, procs.tails()
                await asyncio.sleep(0.1)
            assert [d["origin"] for d in items] == ["rule"]
    # The companies' job streams live on more than one shard.
    cluster = aioredis.RedisCluster.from_url(redis_url.replace("?cluster=1", ""))
    try:
        await cluster.initialize()
        nodes = {cluster.get_node_from_key(f"{prefix}:{{c:{c}}}/jobs").port for c in companies}
    finally:
        await cluster.aclose()
    assert len(nodes) > 1

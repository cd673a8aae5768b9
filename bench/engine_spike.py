"""Spike: SAQ against Redis Streams consumer groups used directly, for the draft-rules jobs.

Not part of the service: it measures the two likeliest engines on the job shape of the
background drafts before one was chosen (the note and ``bench/results.md`` hold its numbers).
Needs ``pip install saq`` beside the service's environment. Each engine runs the same jobs: a
"draft" that waits ``--job-s`` (the stub model's 0.5 s) and writes one key. Measured per engine:

- throughput: 2,000 jobs over 20 companies, one worker process, concurrency 100, job 0.5 s;
- CPU per job: the worker process's own CPU (user + system) over 5,000 jobs of 0 s, divided;
- takeover: a worker process is killed (``kill -9``) in the middle of a 30 s job; a second
  worker starts at once; the time until the job is done by the second;
- fairness: company A queues 1,000 jobs, then company B one; concurrency 50, job 0.5 s; the time
  until B's job is done;
- cluster: the same enqueue, dequeue and finish on a three-master Redis Cluster.

Run: ``python bench/engine_spike.py --redis redis://127.0.0.1:6379/0``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

ROOT = Path(__file__).resolve().parents[1]
GROUP = "drafters"


def _client(url: str) -> Any:
    """A pool that waits for a free connection (redis-py's default raises past 100)."""
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=64, timeout=20)
    return aioredis.Redis.from_pool(pool)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# Redis Streams, used directly: one stream per company under its hash tag, one consumer group.
# ---------------------------------------------------------------------------------------------


def _stream(prefix: str, company: str) -> str:
    return f"{prefix}:{{c:{company}}}/jobs"


async def streams_enqueue(client: Any, prefix: str, company: str, n: int) -> None:
    async with client.pipeline(transaction=False) as pipe:
        for i in range(n):
            pipe.xadd(_stream(prefix, company), {"r": f"r{i}"})
        await pipe.execute()


async def streams_worker(
    client: Any,
    prefix: str,
    companies: list[str],
    *,
    concurrency: int,
    job_s: float,
    stop_after: int | None,
    lease_ms: int = 60_000,
) -> int:
    """Read each company's stream for its share of the free slots, run, XACK; take over entries
    idle longer than the lease (XAUTOCLAIM). Returns the jobs done."""
    consumer = uuid.uuid4().hex[:8]
    for company in companies:
        with contextlib.suppress(ResponseError):
            await client.xgroup_create(_stream(prefix, company), GROUP, id="0", mkstream=True)
    running: dict[str, int] = dict.fromkeys(companies, 0)
    done = 0
    tasks: set[asyncio.Task[None]] = set()
    last_claim = 0.0

    async def run(company: str, entry_id: str) -> None:
        nonlocal done
        try:
            if job_s:
                await asyncio.sleep(job_s)
            async with client.pipeline(transaction=False) as pipe:
                pipe.set(f"{prefix}:{{c:{company}}}/done/{entry_id}", "1")
                pipe.xack(_stream(prefix, company), GROUP, entry_id)
                await pipe.execute()
            done += 1
        finally:
            running[company] -= 1

    idle = 0.01
    while stop_after is None or done < stop_after:
        free = concurrency - sum(running.values())
        got = 0
        if free > 0:
            share = max(1, free // len(companies))
            async with client.pipeline(transaction=False) as pipe:
                for company in companies:
                    pipe.xreadgroup(GROUP, consumer, {_stream(prefix, company): ">"}, count=share)
                if time.monotonic() - last_claim > 1.0:
                    for company in companies:
                        pipe.xautoclaim(
                            _stream(prefix, company), GROUP, consumer, lease_ms, "0-0", count=share
                        )
                    last_claim = time.monotonic()
                answers = await pipe.execute()
            batches: list[tuple[str, list[Any]]] = []
            for company, answer in zip(companies, answers[: len(companies)], strict=True):
                entries = answer[0][1] if answer else []
                batches.append((company, entries))
            for company, answer in zip(companies, answers[len(companies) :], strict=False):
                batches.append((company, answer[1]))
            for company, entries in batches:
                for entry_id, _ in entries:
                    running[company] += 1
                    got += 1
                    task = asyncio.create_task(run(company, entry_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        if got:
            idle = 0.01
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(idle)
            idle = min(idle * 2, 0.2)
    return done


# ---------------------------------------------------------------------------------------------
# SAQ: one queue (its keys under one hash tag, so a Cluster can hold it), a job per draft.
# ---------------------------------------------------------------------------------------------


async def _saq_draft(ctx: dict[str, Any], *, company: str, review: str, job_s: float) -> None:
    if job_s:
        await asyncio.sleep(job_s)
    redis = ctx["worker"].queue.redis
    if await redis.set(f"saq-spike:{{c:{company}}}/done/{review}", "1", nx=True):
        await redis.incr("saq-spike:{done}")
    else:  # the same job ran twice (swept while it ran, then retried)
        await redis.incr("saq-spike:{twice}")


def saq_queue(client: Any, name: str) -> Any:
    from saq.queue.redis import RedisQueue

    return RedisQueue(client, name=name)


async def saq_enqueue(queue: Any, company: str, n: int, job_s: float, **job: Any) -> None:
    from saq import Job

    await asyncio.gather(
        *(
            queue.enqueue(
                Job(
                    "_saq_draft",
                    kwargs={"company": company, "review": f"r{i}", "job_s": job_s},
                    **job,
                )
            )
            for i in range(n)
        )
    )


async def saq_run(queue: Any, concurrency: int, until: Any) -> None:
    from saq import Worker

    worker = Worker(
        queue,
        functions=[("_saq_draft", _saq_draft)],
        concurrency=concurrency,
        timers={"sweep": 5, "schedule": 1, "worker_info": 10, "abort": 1},
    )
    task = asyncio.create_task(worker.start())
    try:
        while not await until():  # noqa: ASYNC110 - polling Redis, not an in-process event
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


async def _count_done(client: Any, pattern: str) -> int:
    n = 0
    async for _ in client.scan_iter(match=pattern, count=1000):
        n += 1
    return n


async def _cleanup(client: Any, *patterns: str) -> None:
    for pattern in patterns:
        keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
        for i in range(0, len(keys), 500):
            for key in keys[i : i + 500]:
                await client.delete(key)


async def measure_streams(url: str, jobs: int, job_s: float, concurrency: int) -> dict[str, float]:
    client = _client(url)
    prefix = f"spike-s:{uuid.uuid4().hex[:6]}"
    companies = [f"co{i}" for i in range(20)]
    for company in companies:
        await streams_enqueue(client, prefix, company, jobs // 20)
    started, cpu = time.perf_counter(), _cpu_s()
    done = await streams_worker(
        client, prefix, companies, concurrency=concurrency, job_s=job_s, stop_after=jobs
    )
    wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    await _cleanup(client, f"{prefix}*")
    await client.aclose()
    return {
        "jobs": done,
        "wall_s": wall,
        "jobs_per_s": done / wall,
        "cpu_ms_per_job": cpu / done * 1000,
    }


async def measure_saq(url: str, jobs: int, job_s: float, concurrency: int) -> dict[str, float]:
    client = _client(url)
    name = f"{{spike-q-{uuid.uuid4().hex[:6]}}}"
    queue = saq_queue(client, name)
    await queue.connect() if hasattr(queue, "connect") else None
    for i in range(20):
        await saq_enqueue(queue, f"co{i}", jobs // 20, job_s)
    started, cpu = time.perf_counter(), _cpu_s()

    async def finished() -> bool:
        return int(await client.get("saq-spike:{done}") or 0) >= jobs

    await saq_run(queue, concurrency, finished)
    wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    done = int(await client.get("saq-spike:{done}") or 0)
    twice = int(await client.get("saq-spike:{twice}") or 0)
    if twice:
        print(f"saq: {twice} of {jobs} jobs ran twice", flush=True)
    await _cleanup(client, "saq-spike:*", f"saq:*{name}*")
    await client.aclose()
    return {
        "jobs": done,
        "wall_s": wall,
        "jobs_per_s": done / wall,
        "cpu_ms_per_job": cpu / done * 1000,
    }


async def fairness(url: str, engine: str) -> float:
    """Seconds until company B's one job is done behind company A's 1,000."""
    client = _client(url)
    if engine == "streams":
        prefix = f"spike-f:{uuid.uuid4().hex[:6]}"
        await streams_enqueue(client, prefix, "A", 1000)
        await streams_enqueue(client, prefix, "B", 1)
        started = time.perf_counter()
        task = asyncio.create_task(
            streams_worker(client, prefix, ["A", "B"], concurrency=50, job_s=0.5, stop_after=None)
        )
        while not [k async for k in client.scan_iter(match=f"{prefix}:{{c:B}}/done/*")]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        took = time.perf_counter() - started
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await _cleanup(client, f"{prefix}*")
    else:
        name = f"{{spike-f-{uuid.uuid4().hex[:6]}}}"
        queue = saq_queue(client, name)
        await saq_enqueue(queue, "A", 1000, 0.5)
        await saq_enqueue(queue, "B", 1, 0.5)
        started = time.perf_counter()

        async def b_done() -> bool:
            return bool(await client.exists("saq-spike:{c:B}/done/r0"))

        await saq_run(queue, 50, b_done)
        took = time.perf_counter() - started
        await _cleanup(client, "saq-spike:*", f"saq:*{name}*")
    await client.aclose()
    return took


def _child(engine: str, url: str, key: str, job_s: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--redis",
            url,
            "--key",
            key,
            "--job-s",
            str(job_s),
        ],
        start_new_session=True,
    )


async def takeover(url: str, engine: str) -> float:
    """Seconds from ``kill -9`` of the worker holding a 30 s job to that job being done."""
    client = _client(url)
    key = uuid.uuid4().hex[:6]
    if engine == "streams":
        pending = f"spike-k:{key}:{{c:A}}/jobs"
        await client.xgroup_create(pending, GROUP, id="0", mkstream=True)
        await streams_enqueue(client, f"spike-k:{key}", "A", 1)
        done_pattern = f"spike-k:{key}:{{c:A}}/done/*"
    else:
        queue = saq_queue(client, f"{{spike-k-{key}}}")
        # SAQ takes over a job whose heartbeat stopped (or that outlived its timeout) when a
        # worker sweeps: heartbeat 60 s is the shortest that a live 30 s job never misses.
        await saq_enqueue(queue, "A", 1, 0, heartbeat=60, timeout=120, retries=3)
        pending = None
        done_pattern = "saq-spike:{c:A}/done/*"
    first = _child(engine, url, key, 30.0)
    # Wait until the job is being worked on, then kill the worker.
    for _ in range(400):
        await asyncio.sleep(0.05)
        if engine == "streams" and pending is not None:
            info = await client.xpending(pending, GROUP)
            if info["pending"]:
                break
        elif engine == "saq" and await queue.count("active"):
            break
    await asyncio.sleep(1)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed = time.perf_counter()
    second = _child(engine, url, key, 0.0)
    try:
        while not [k async for k in client.scan_iter(match=done_pattern)]:
            await asyncio.sleep(0.2)
            if time.perf_counter() - killed > 300:
                return float("inf")
        return time.perf_counter() - killed
    finally:
        os.kill(second.pid, signal.SIGTERM)
        second.wait()
        await _cleanup(client, f"spike-k:{key}*", "saq-spike:*", f"saq:*spike-k-{key}*")
        await client.aclose()


async def child(engine: str, url: str, key: str, job_s: float) -> None:
    client = _client(url)
    if engine == "streams":
        await streams_worker(
            client, f"spike-k:{key}", ["A"], concurrency=10, job_s=job_s, stop_after=None
        )
    else:
        queue = saq_queue(client, f"{{spike-k-{key}}}")
        # The job's own wait is in its kwargs (0 in the enqueue above): the first worker holds
        # the job far longer by sleeping here instead of finishing.
        from saq import Worker

        async def slow(ctx: dict[str, Any], **kwargs: Any) -> None:
            await asyncio.sleep(job_s)
            await _saq_draft(ctx, **kwargs)

        worker = Worker(
            queue,
            functions=[("_saq_draft", slow)],
            concurrency=10,
            timers={"sweep": 5, "schedule": 1, "worker_info": 10, "abort": 1},
        )
        await worker.start()


async def cluster_check(engine: str) -> str:
    sys.path.insert(0, str(ROOT))
    from bench.redis_cluster import cluster_ports, start_cluster, stop_servers

    tmp = Path(tempfile.mkdtemp(prefix="spike-cluster-"))
    ports = cluster_ports(3)
    try:
        url = start_cluster(tmp, ports).replace("?cluster=1", "")
        client = RedisCluster.from_url(url)
        try:
            if engine == "streams":
                companies = [f"co{i}" for i in range(20)]
                for company in companies:
                    await streams_enqueue(client, "spike-c", company, 5)
                done = await streams_worker(
                    client, "spike-c", companies, concurrency=20, job_s=0, stop_after=100
                )
                slots = {await client.cluster_keyslot(_stream("spike-c", c)) for c in companies}
                nodes = {client.get_node_from_key(_stream("spike-c", c)).port for c in companies}
                return (
                    f"ok: {done} jobs; 20 company streams on {len(slots)} slots, {len(nodes)} nodes"
                )
            queue = saq_queue(client, "{spike-c}")
            await saq_enqueue(queue, "co0", 20, 0)

            async def finished() -> bool:
                return int(await client.get("saq-spike:{done}") or 0) >= 20

            await asyncio.wait_for(saq_run(queue, 10, finished), 30)
            return "ok: 20 jobs; one queue = one slot (one node holds all jobs)"
        finally:
            await client.aclose()
    except Exception as exc:
        return f"failed: {type(exc).__name__}: {exc}"[:200]
    finally:
        stop_servers(tmp, ports)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--child")
    parser.add_argument("--key", default="")
    parser.add_argument("--job-s", type=float, default=0.5)
    parser.add_argument("--engines", default="streams,saq")
    args = parser.parse_args()
    if args.child:
        await child(args.child, args.redis, args.key, args.job_s)
        return
    results: dict[str, dict[str, Any]] = {}
    for engine in args.engines.split(","):
        measure = measure_streams if engine == "streams" else measure_saq
        r: dict[str, Any] = {}
        r["throughput"] = await measure(args.redis, 2000, 0.5, 100)
        print(engine, "throughput", r["throughput"], flush=True)
        r["cpu"] = await measure(args.redis, 5000, 0.0, 100)
        r["fairness_b_s"] = await fairness(args.redis, engine)
        r["takeover_s"] = await takeover(args.redis, engine)
        r["cluster"] = await cluster_check(engine)
        results[engine] = r
        print(engine, json.dumps(r, default=lambda x: round(x, 3)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Phase 6: throughput with 1, 2 and 4 workers, on one Redis and (``--cluster``) on a Cluster."""

from __future__ import annotations

import asyncio
import itertools
import json

from harness.bench import Bench, Ctx
from harness.constants import BENCH_COMPANY, BENCH_REVIEW, CLUSTER_COMPANIES, COMPANY, LIMIT
from harness.http import HttpPool, http_request, run_calls
from harness.model import Target
from redis_cluster import cluster_ports, redis_cli, start_cluster, stop_servers


async def run(bench: Bench, ctx: Ctx) -> None:
    args = bench.args
    plan = bench.plan
    service = ctx.service
    reviews = ctx.reviews
    print("bench: 6 workers", flush=True)
    await bench.configure_stub()
    for n in plan.workers:
        target = await bench.start_service(workers=n)
        target.token = service.token
        await workers_row(
            bench,
            target,
            [target.generate(r) for r in reviews.take(plan.overhead_warmup)],
            [target.generate(r) for r in reviews.take(plan.workers_calls)],
            "6 workers" if n == plan.workers[0] else "",
            f"{n} worker(s)",
        )
    if args.cluster:
        await cluster_workers(bench)


async def workers_row(
    bench: Bench,
    target: Target,
    warmup: list[bytes],
    measured: list[bytes],
    section: str,
    what: str,
) -> None:
    """Warm ``target`` up, measure its throughput, stop it and add the row."""
    concurrency = bench.plan.workers_concurrency
    pool = HttpPool(target.port, concurrency)
    await run_calls(pool, warmup, 8)
    run = await run_calls(pool, measured, concurrency)
    pool.close()
    assert target.proc is not None
    bench.stop(target.proc)
    bench.row(
        section,
        f"{what}, {concurrency} callers: calls/s; p50 / p99 ms",
        {"service": f"{run.rps:.0f}; {run.p(0.5) * 1e3:.0f} / {run.p(0.99) * 1e3:.0f}"},
    )
    if run.describe_failures():
        bench.notes.append(f"{what}: failures {run.describe_failures()}")
    await asyncio.sleep(0.5)


async def cluster_workers(bench: Bench) -> None:
    """Phase 6 again with the service on a three-master Redis Cluster (started here), the
    calls spread over ``CLUSTER_COMPANIES`` companies, each with its own key."""
    plan = bench.plan
    tmp = bench.tmp / "cluster"
    tmp.mkdir()
    ports = cluster_ports(3)
    try:
        url, prefix = start_cluster(tmp, ports), f"{bench.prefix}-cluster"
        setup = await bench.start_service(
            name="cluster-setup", REPLY_ASSIST_REDIS_URL=url, REPLY_ASSIST_REDIS_PREFIX=prefix
        )
        calls = await cluster_calls(
            bench, setup, (plan.overhead_warmup + plan.workers_calls) * len(plan.workers)
        )
        assert setup.proc is not None
        bench.stop(setup.proc)
        for n in plan.workers:
            target = await bench.start_service(
                workers=n,
                name="cluster",
                REPLY_ASSIST_REDIS_URL=url,
                REPLY_ASSIST_REDIS_PREFIX=prefix,
            )
            warmup, calls = calls[: plan.overhead_warmup], calls[plan.overhead_warmup :]
            measured, calls = calls[: plan.workers_calls], calls[plan.workers_calls :]
            await workers_row(
                bench,
                target,
                warmup,
                measured,
                "6 on a cluster" if n == plan.workers[0] else "",
                f"{n} worker(s) on Redis Cluster (3 masters, {CLUSTER_COMPANIES} companies)",
            )
        spread = " / ".join(redis_cli(p, "dbsize").strip() for p in ports)
        bench.notes.append(f"cluster: keys on each of the three masters afterwards: {spread}")
    finally:
        stop_servers(tmp, ports)


async def cluster_calls(bench: Bench, service: Target, calls: int) -> list[bytes]:
    """Companies, keys and reviews for ``calls`` generate calls, created through ``service``;
    the calls in an order that takes turns between the companies."""
    pool = HttpPool(service.port, 16)
    reviews = -(-calls // LIMIT)
    per_company: list[list[bytes]] = []
    try:
        for c in range(CLUSTER_COMPANIES):
            company = f"{COMPANY}-{c:02d}"
            body = {**BENCH_COMPANY, "name": f"Acme {c}"}
            await bench.expect(pool, "PUT", f"/v1/companies/{company}", body, (201, 200))
            key = await bench.expect(
                pool, "POST", f"/v1/companies/{company}/api-keys", {"role": "dashboard"}, (201,)
            )
            token = json.loads(key)["key"]
            ids = [f"r{i:06d}" for i in range(c, reviews, CLUSTER_COMPANIES)]
            for rid in ids:
                path = f"/v1/companies/{company}/reviews/{rid}"
                await bench.expect(pool, "PUT", path, BENCH_REVIEW, (201, 200))
            per_company.append(
                [
                    http_request("POST", f"{path}/drafts", token)
                    for rid in ids
                    for path in [f"/v1/companies/{company}/reviews/{rid}"] * LIMIT
                ]
            )
    finally:
        pool.close()
    turns = [call for group in itertools.zip_longest(*per_company) for call in group if call]
    return turns[:calls]

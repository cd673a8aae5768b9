"""Measure reply-assist against its floor, in one run, and print the table.

    python bench/run.py            # the full run (about 3 minutes on 2 cores)
    python bench/run.py --quick    # smaller counts, same table (about 1 minute)

Starts, on free loopback ports: a private ``redis-server`` (unless ``--redis-url`` is given), the
stub model (``stub_llm.py``), the service (``reply-assist serve``) and the floor
(``floor_app.py``), creates a company, an API key and enough reviews through the API, and
measures side by side (see README.md in this folder for what each number means):

1. overhead: generate calls with a zero-latency model, latency one at a time and throughput;
2. concurrency: a burst of 1,000 calls in flight at once (10 per review) with a 1 s model;
3. streaming: time from the model's first token to the client's first ``delta`` event;
4. Redis commands per generate call (INFO commandstats, and MONITOR for the split);
5. memory: the worker's RSS after start and after 10,000 drafts;
6. throughput with 1, 2 and 4 workers; 7 (``--servers``) uvicorn/asyncio and granian;
8. RSS and PSS of every process with 1, 2 and 4 workers (``--baseline DIR``: and of the code in
   DIR, e.g. the commit before, in the same phase);
9. (``--phases 9``) a soak: a steady rate for ``--soak-minutes``, memory every minute.

Each phase is one module of ``phases/`` with a ``run(bench, ctx)``; ``harness/`` holds what they
share (processes, the HTTP load generator, the plan, the table).
The table is printed and written to ``bench/results.md``. Every process it starts is stopped at
the end, and keys it wrote to a shared Redis (``--redis-url``) are deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from harness.bench import Bench, Ctx
from harness.constants import BENCH_DIR
from harness.model import Plan, Results, Reviews
from harness.procs import rss_mb
from phases import concurrency, memory, overhead, redis_trips, servers, soak, streaming, workers

# The phases in the order they run: (its number in --phases, the module with its ``run``).
# Phases 1–4 compare the service with the floors; 5 on measures the service alone.
PHASES = [
    ("1", overhead),
    ("2", concurrency),
    ("3", streaming),
    ("4", redis_trips),
    ("5", memory),
]


async def run_phases(bench: Bench) -> None:
    args, plan = bench.args, bench.plan
    bench.start_redis()
    await bench.start_stub()
    await bench.configure_stub()
    service = await bench.start_service()
    assert service.proc is not None
    rss_start = rss_mb(service.proc.pid)
    floor = await bench.start_floor()
    reviews = await bench.setup_api(service)
    targets = [service, floor]
    if plan.patches:
        patched_env = dict(item.partition("=")[::2] for item in args.patched_env)
        patched = await bench.start_service(
            server="patched",
            name="service+patches",
            BENCH_PATCHES=",".join(plan.patches),
            **patched_env,
        )
        patched.token = service.token
        targets.append(patched)
    for http in plan.floor_http:
        targets.append(await bench.start_floor(http))
    if args.baseline and set("1234") & set(plan.phases):
        # The code before the change, beside it in every phase (same Redis, company, reviews):
        # a key of its own, as it issues them.
        before = await bench.start_service(name="service before", code=Path(args.baseline))
        before.token = await bench.new_key(before)
        targets.append(before)
    bench.extra_columns = [t.name for t in targets[2:]]
    ctx = Ctx(
        service=service,
        floor=floor,
        targets=targets,
        reviews=reviews,
        floor_reviews=Reviews(prefix="f"),
        res={t.name: Results() for t in targets},
        rss_start=rss_start,
    )
    print(f"bench: run {bench.run_id}, logs in {bench.tmp}", flush=True)
    for number, phase in PHASES:
        if number in plan.phases:
            await phase.run(bench, ctx)
    for t in targets:
        if t.proc is not None:
            bench.stop(t.proc)
    # Services of their own, one after the other.
    if "6" in plan.phases:
        await workers.run(bench, ctx)
        await servers.run(bench, ctx)
    if "8" in plan.phases:
        await memory.run_workers(bench, ctx)
    if "9" in plan.phases:
        await soak.run(bench, ctx)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _with_default_server(servers: list[str]) -> list[str]:
    """The servers to compare in phase 7: the default (uvicorn) first whenever others are."""
    return ["uvicorn", *(s for s in servers if s != "uvicorn")] if servers else []


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    floor_http = args.floor_http
    if floor_http is None:
        floor_http = "aiohttp" if _has("aiohttp") else ""
    return Plan(
        overhead_warmup=100 if quick else 200,
        overhead_latency=args.n or (300 if quick else 2000),
        overhead_throughput=args.n or (500 if quick else 2000),
        overhead_concurrency=args.concurrency,
        burst=args.burst or (300 if quick else 1000),
        stream=100 if quick else 200,
        stream_concurrency=[1, 16],
        commands=50 if quick else 200,
        memory=args.drafts or (1000 if quick else 10_000),
        memory_concurrency=32,
        workers=[int(w) for w in args.workers.split(",") if w],
        workers_calls=500 if quick else 2000,
        workers_concurrency=64,
        # Other servers are compared with the default one measured in the same phase, not with
        # phase 1's numbers, which were taken minutes earlier on a machine that may differ.
        servers=_with_default_server([s for s in args.servers.split(",") if s]),
        floor_http=[h for h in floor_http.split(",") if h],
        patches=[p for p in args.patches.split(",") if p],
        phases=args.phases,
        memory_versions=2 if args.baseline else 1,
        soak_calls=int(args.soak_minutes * 60 * args.soak_rate),
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    if args.baseline:
        args.baseline = str(Path(args.baseline).resolve())
    return args


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smaller counts, same table (~1 min)")
    p.add_argument("--n", type=int, default=0, help="calls per overhead measurement (2000)")
    p.add_argument("--concurrency", type=int, default=32, help="callers for throughput (32)")
    p.add_argument("--burst", type=int, default=0, help="calls in the burst (1000)")
    p.add_argument("--drafts", type=int, default=0, help="drafts for the memory phase (10000)")
    p.add_argument("--workers", default="1,2,4", help="worker counts to compare (1,2,4)")
    p.add_argument(
        "--servers",
        default="",
        help="compare these with uvicorn (the default) in phase 7: uvicorn-asyncio,granian",
    )
    p.add_argument(
        "--floor-http",
        default=None,
        help="extra floors with another SDK transport: httpx2,aiohttp (aiohttp if installed)",
    )
    p.add_argument(
        "--patches",
        default="",
        help="also measure the service with bench/patched_app.py's patches, e.g. "
        "aiohttp,quietlogs,lingua,leakcache",
    )
    p.add_argument(
        "--phases",
        default="12345678",
        help="which phases to run (12345678; 7 runs with 6 when --servers is given, 9 is the soak)",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="DIR",
        help="phase 8 also measures the reply_assist in DIR, e.g. the commit before: "
        "mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before",
    )
    p.add_argument("--soak-minutes", type=float, default=15, help="phase 9: how long (15)")
    p.add_argument("--soak-rate", type=float, default=200, help="phase 9: calls a second (200)")
    p.add_argument("--soak-streams", type=float, default=0.2, help="phase 9: share streamed (0.2)")
    p.add_argument("--soak-workers", type=int, default=4, help="phase 9: workers (4)")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="phase 6 also on a three-master Redis Cluster started on loopback",
    )
    p.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the service (and the patched one); repeatable",
    )
    p.add_argument(
        "--patched-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the patched service only; repeatable",
    )
    p.add_argument("--tokens", type=int, default=60, help="completion length of the stub (60)")
    p.add_argument("--stream-tps", type=float, default=200.0, help="stub tokens/s, streaming")
    p.add_argument("--stream-tokens", type=int, default=20, help="stub tokens, streaming (20)")
    p.add_argument("--llm-connections", type=int, default=1000, help="model pool, every app")
    p.add_argument("--redis-connections", type=int, default=64, help="Redis pool, every app")
    p.add_argument("--redis-url", default=None, help="use this Redis instead of a private one")
    p.add_argument(
        "--allowance",
        type=int,
        default=None,
        help="give the bench company this monthly draft allowance (unset: unlimited); set it "
        "above the calls the run makes, or they are refused with 402",
    )
    p.add_argument("--timeout", type=float, default=1800, help="give up after this many s")
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    p.add_argument("--output", default=str(BENCH_DIR / "results.md"))
    return p


async def _amain(args: argparse.Namespace) -> int:
    bench = Bench(args, make_plan(args))
    try:
        async with asyncio.timeout(args.timeout):
            await run_phases(bench)
    except BaseException as exc:
        print(f"bench: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for proc in bench.procs:
            if not proc.alive():
                print(f"--- {proc.name}\n{proc.tail()}", file=sys.stderr)
        args.keep_logs = True
        print(f"bench: logs kept in {bench.tmp}", file=sys.stderr)
        await bench.cleanup()
        # What was measured before the failure is kept: a late failure must not cost a whole run.
        bench.notes.append(f"the run FAILED before its end: {type(exc).__name__}: {exc}")
        partial = Path(args.output).with_suffix(".partial.md")
        partial.write_text(bench.report())
        print(f"bench: what was measured is in {partial}", file=sys.stderr)
        if isinstance(exc, Exception):
            return 1
        raise
    await bench.cleanup()
    report = bench.report()
    print()
    print(report)
    Path(args.output).write_text(report)  # noqa: ASYNC240 - once, at the end
    print(f"bench: written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_amain(args))
    return uvloop.run(_amain(args))


if __name__ == "__main__":
    sys.exit(main())

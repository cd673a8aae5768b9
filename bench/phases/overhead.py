"""Phase 1: the overhead of a generate call with a zero-latency model, one at a time and with
32 callers, against the floors.

One at a time, the targets take turns in rounds of ``ROUND`` calls (A B C, then B C A, …) rather
than one after the other: on a shared 2-core machine the speed of the machine drifts over a
minute, and taking turns spreads that drift over every target alike instead of charging it to
whichever ran during the slow part. The server's own CPU per call (user + system time of all its
processes, from ``/proc``) is reported beside the latency: it does not include the load
generator, the stub or Redis, and moves far less from run to run than a latency does."""

from __future__ import annotations

from harness.bench import Bench, Ctx, base_floor, met, target_floor
from harness.http import HttpPool, Run, run_calls
from harness.model import Results, Reviews, Target
from harness.procs import cpu_s

ROUND = 100  # calls a target makes in a row before the next one takes its turn


async def run(bench: Bench, ctx: Ctx) -> None:
    res = ctx.res
    targets = ctx.targets
    plan = bench.plan
    print("bench: 1/6 overhead with a zero-latency model", flush=True)
    await bench.configure_stub()
    pools = {t.name: HttpPool(t.port, max(plan.overhead_concurrency, 4)) for t in targets}
    for t in targets:
        await run_calls(
            pools[t.name], [t.generate(r) for r in ctx.source(t).take(plan.overhead_warmup)], 4
        )
    await _one_at_a_time(bench, ctx, pools)
    for t in targets:
        await _concurrent(bench, t, ctx.source(t), pools[t.name], res[t.name])
        pools[t.name].close()
    _overhead_rows(bench, res)


async def _one_at_a_time(bench: Bench, ctx: Ctx, pools: dict[str, HttpPool]) -> None:
    targets = ctx.targets
    runs = {t.name: Run() for t in targets}
    cpu = dict.fromkeys(runs, 0.0)
    model_calls = dict.fromkeys(runs, 0)
    rounds = -(-bench.plan.overhead_latency // ROUND)
    for i in range(rounds):
        for t in targets[i % len(targets) :] + targets[: i % len(targets)]:
            calls = [t.generate(r) for r in ctx.source(t).take(ROUND)]
            stub_before = await bench.stub_calls()
            cpu_before = cpu_s(t.proc.pid) if t.proc else 0.0
            block = await run_calls(pools[t.name], calls, 1)
            cpu[t.name] += (cpu_s(t.proc.pid) if t.proc else 0.0) - cpu_before
            model_calls[t.name] += await bench.stub_calls() - stub_before
            run = runs[t.name]
            run.latencies += block.latencies
            run.statuses.update(block.statuses)
            run.errors.update(block.errors)
            run.wall += block.wall
    for t in targets:
        res = ctx.res[t.name]
        res.seq = runs[t.name]
        res.model_calls = model_calls[t.name] / max(1, res.seq.ok)
        res.cpu_ms_per_call = cpu[t.name] * 1e3 / max(1, res.seq.ok)
        if res.seq.describe_failures():
            bench.notes.append(f"overhead {t.name} one at a time: {res.seq.describe_failures()}")


async def overhead(bench: Bench, target: Target, reviews: Reviews, res: Results) -> None:
    """One server alone (phase 7 compares servers this way): warm-up, one at a time, then
    concurrent."""
    plan = bench.plan
    pool = HttpPool(target.port, max(plan.overhead_concurrency, 4))
    await run_calls(pool, [target.generate(r) for r in reviews.take(plan.overhead_warmup)], 4)
    res.seq = await run_calls(
        pool, [target.generate(r) for r in reviews.take(plan.overhead_latency)], 1
    )
    await _concurrent(bench, target, reviews, pool, res)
    pool.close()


async def _concurrent(
    bench: Bench, target: Target, reviews: Reviews, pool: HttpPool, res: Results
) -> None:
    plan = bench.plan
    res.par = await run_calls(
        pool,
        [target.generate(r) for r in reviews.take(plan.overhead_throughput)],
        plan.overhead_concurrency,
    )
    if res.par.describe_failures():
        bench.notes.append(f"overhead {target.name} concurrent: {res.par.describe_failures()}")


def _overhead_rows(bench: Bench, res: dict[str, Results]) -> None:
    plan = bench.plan
    floor = res[target_floor(res)]
    assert floor.seq is not None
    assert floor.par is not None
    f50 = floor.seq.p(0.5)

    s = res["service"]
    assert s.seq is not None
    assert s.par is not None
    ratio = s.seq.p(0.5) / f50
    cells = {}
    for n, r in res.items():
        assert r.seq is not None
        cell = f"{r.seq.p(0.5) * 1e3:.2f}"
        base = base_floor(n, res)
        if base is not None:
            b50 = res[base].seq.p(0.5)  # type: ignore[union-attr]
            cell += f" ({r.seq.p(0.5) / b50:.2f}× {base})"
        cells[n] = cell
    bench.row(
        "1 overhead",
        f"p50 latency, one call at a time (n={plan.overhead_latency}), ms",
        cells,
        f"{ratio:.2f}×",
        f"≤ 1.25× {target_floor(res)}",
        met(ratio <= 1.25),
    )
    bench.row(
        "",
        "p99 latency, one call at a time, ms",
        {n: f"{r.seq.p(0.99) * 1e3:.2f}" for n, r in res.items() if r.seq},
        f"{s.seq.p(0.99) / floor.seq.p(0.99):.2f}×",
    )
    bench.row(
        "",
        f"throughput with {plan.overhead_concurrency} callers "
        f"(n={plan.overhead_throughput}), calls/s",
        {n: f"{r.par.rps:.0f}" for n, r in res.items() if r.par},
        f"{s.par.rps / floor.par.rps:.2f}×",
    )
    bench.row(
        "",
        f"p50 / p99 latency with {plan.overhead_concurrency} callers, ms",
        {
            n: f"{r.par.p(0.5) * 1e3:.1f} / {r.par.p(0.99) * 1e3:.1f}"
            for n, r in res.items()
            if r.par
        },
    )
    bench.row(
        "",
        "the server's own CPU per call, one at a time (all its processes), ms",
        {n: f"{r.cpu_ms_per_call:.2f}" for n, r in res.items()},
        f"{s.cpu_ms_per_call / floor.cpu_ms_per_call:.2f}×",
    )
    bench.row(
        "",
        "model calls per generate call",
        {n: f"{r.model_calls:.2f}" for n, r in res.items()},
    )

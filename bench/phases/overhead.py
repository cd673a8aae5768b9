"""Phase 1: the overhead of a generate call with a zero-latency model, one at a time and with
32 callers, against the floors."""

from __future__ import annotations

from harness.bench import Bench, Ctx, base_floor, met, target_floor
from harness.http import HttpPool, run_calls
from harness.model import Results, Reviews, Target


async def run(bench: Bench, ctx: Ctx) -> None:
    res = ctx.res
    targets = ctx.targets
    review_source = ctx.source
    print("bench: 1/6 overhead with a zero-latency model", flush=True)
    await bench.configure_stub()
    for t in targets:
        await overhead(bench, t, review_source(t), res[t.name])
    _overhead_rows(bench, res)


async def overhead(bench: Bench, target: Target, reviews: Reviews, res: Results) -> None:
    plan = bench.plan
    pool = HttpPool(target.port, max(plan.overhead_concurrency, 4))
    await run_calls(pool, [target.generate(r) for r in reviews.take(plan.overhead_warmup)], 4)
    before = await bench.stub_calls()
    res.seq = await run_calls(
        pool, [target.generate(r) for r in reviews.take(plan.overhead_latency)], 1
    )
    res.model_calls = (await bench.stub_calls() - before) / max(1, res.seq.ok)
    res.par = await run_calls(
        pool,
        [target.generate(r) for r in reviews.take(plan.overhead_throughput)],
        plan.overhead_concurrency,
    )
    pool.close()
    for label, run in (("one at a time", res.seq), ("concurrent", res.par)):
        if run.describe_failures():
            bench.notes.append(f"overhead {target.name} {label}: {run.describe_failures()}")


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
        "model calls per generate call",
        {n: f"{r.model_calls:.2f}" for n, r in res.items()},
    )

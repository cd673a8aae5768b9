"""Phase 2: 1,000 generate calls in flight at once with a 1 s model."""

from __future__ import annotations

import asyncio

from harness.bench import Bench, Ctx, base_floor, met, target_floor
from harness.constants import LIMIT, MODEL_LATENCY_S
from harness.http import burst
from harness.model import Results


async def run(bench: Bench, ctx: Ctx) -> None:
    plan = bench.plan
    res = ctx.res
    service = ctx.service
    targets = ctx.targets
    reviews = ctx.reviews
    review_source = ctx.source
    print(f"bench: 2/6 {plan.burst} calls at once with a 1 s model", flush=True)
    await bench.configure_stub(ttft_ms=MODEL_LATENCY_S * 1000)
    for t in targets:
        await asyncio.sleep(1.0)
        reqs = [t.generate(r) for r in review_source(t).take(plan.burst)]
        res[t.name].burst = await burst(t.port, reqs)
        if res[t.name].burst.describe_failures():  # type: ignore[union-attr]
            bench.notes.append(
                f"burst {t.name}: failures {res[t.name].burst.describe_failures()}"  # type: ignore[union-attr]
            )
    _burst_rows(bench, res)
    if plan.default_pool_burst:
        await asyncio.sleep(1.0)
        default = await bench.start_service(name="service-pool200")
        default.token = service.token
        d_burst = await burst(default.port, [default.generate(r) for r in reviews.take(plan.burst)])
        assert default.proc is not None
        bench.stop(default.proc)
        bench.row(
            "",
            "same burst, service with its default model pool (200 connections): successes; wall s",
            {"service": f"{d_burst.ok}/{plan.burst}; {d_burst.wall:.2f}"},
        )


def _burst_rows(bench: Bench, res: dict[str, Results]) -> None:
    plan = bench.plan
    runs = {n: r.burst for n, r in res.items() if r.burst is not None}
    above = {n: r.wall - MODEL_LATENCY_S for n, r in runs.items()}
    s_ok = runs["service"].ok == plan.burst
    base = target_floor(res)
    ratio = above["service"] / above[base] if above[base] > 0 else float("inf")
    bench.row(
        "2 concurrency",
        f"{plan.burst} calls in flight at once ({plan.burst // LIMIT} reviews × {LIMIT}), "
        "model 1 s: successes",
        {n: f"{r.ok}/{plan.burst}" for n, r in runs.items()},
        "",
        "all",
        met(s_ok),
    )
    bench.row("", "wall time of the burst, s", {n: f"{r.wall:.2f}" for n, r in runs.items()})
    cells = {}
    for n, a in above.items():
        cells[n] = f"{a:.2f}"
        base = base_floor(n, res)
        if base is not None and above[base] > 0:
            cells[n] += f" ({a / above[base]:.2f}× {base})"
    bench.row(
        "",
        "time above the model's 1 s, s",
        cells,
        f"{ratio:.2f}×",
        f"≤ 1.25× {base}",
        met(ratio <= 1.25 and s_ok),
    )
    bench.row(
        "",
        "per-call latency p50 / p99, s",
        {n: f"{r.p(0.5):.2f} / {r.p(0.99):.2f}" for n, r in runs.items()},
    )

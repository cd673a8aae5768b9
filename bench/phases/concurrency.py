"""Phase 2: 1,000 generate calls in flight at once with a 1 s model."""

from __future__ import annotations

import asyncio
import time

from harness.bench import Bench, Ctx, base_floor, met, target_floor
from harness.constants import LIMIT, MODEL_LATENCY_S, OTHER_COMPANY
from harness.http import HttpPool, burst
from harness.model import Results, Reviews, Target


async def run(bench: Bench, ctx: Ctx) -> None:
    plan = bench.plan
    res = ctx.res
    targets = ctx.targets
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
    await _default_configuration(bench, ctx)


async def _default_configuration(bench: Bench, ctx: Ctx) -> None:
    """The burst again with the service as a user runs it (200 model connections, the
    per-company share left at its default), beside the same pool with the share set to the whole
    pool, and the aiohttp floor with 200 connections too. Each service first takes the burst of
    its one company alone, then the same burst while a second company (which drafted a moment
    before, so it counts as calling) asks for drafts one at a time: how long those take is what
    the share is for. The bench's other runs give every app a pool of 1,000."""
    plan = bench.plan
    print(f"bench: 2/6 the same burst with the default model pool ({DEFAULT_POOL})", flush=True)
    other_key, other_reviews = await bench.other_company(ctx.service)
    floor = await bench.start_floor("aiohttp", connections=DEFAULT_POOL)
    configs = [
        # The defaults: no pool and no share given ("" is unset for the service's settings).
        ("default", {_POOL: "", _SHARE: ""}),
        (_TUNED, {_POOL: str(DEFAULT_POOL), _SHARE: str(DEFAULT_POOL)}),
    ]
    await asyncio.sleep(1.0)
    floor_reqs = [floor.generate(r) for r in ctx.floor_reviews.take(plan.burst)]
    floor_run = await burst(floor.port, floor_reqs)
    assert floor.proc is not None
    bench.stop(floor.proc)
    floor_ok = floor_run.ok == plan.burst
    floor_above = floor_run.wall - MODEL_LATENCY_S
    alone = {"floor": f"{floor_run.ok}/{plan.burst}; {floor_run.wall:.2f} s"}
    if not floor_ok:
        bench.notes.append(
            f"default pool, floor (aiohttp): failures {floor_run.describe_failures()}"
        )
    ratios: dict[str, float] = {}
    others: dict[str, str] = {}
    for name, env in configs:
        service = await bench.start_service(name=f"service-{name.replace(' ', '')}", **env)
        service.token = ctx.service.token
        await asyncio.sleep(1.0)
        run = await burst(service.port, [service.generate(r) for r in ctx.reviews.take(plan.burst)])
        ratios[name] = run.wall - MODEL_LATENCY_S
        if floor_ok and floor_above > 0:
            ratios[name] /= floor_above
        alone[_COLUMN[name]] = f"{run.ok}/{plan.burst}; {run.wall:.2f} s" + (
            f"; {ratios[name]:.2f}×" if floor_ok else ""
        )
        others[_COLUMN[name]] = await _beside_a_flood(bench, ctx, service, other_key, other_reviews)
        assert service.proc is not None
        bench.stop(service.proc)
    if _TUNED not in bench.extra_columns:
        bench.extra_columns.append(_TUNED)
    ratio = f"{ratios['default']:.2f}×" if floor_ok else "(the floor failed calls)"
    bench.row(
        "",
        f"default model pool ({DEFAULT_POOL}) and share, one company's burst of {plan.burst}: "
        "successes; wall; time above the model ÷ the aiohttp floor's (200 connections too)",
        alone,
        ratio,
        "≤ 1.25× floor (aiohttp)",
        met(floor_ok and ratios["default"] <= 1.25),
    )
    bench.row(
        "",
        f"another company's drafts ({OTHER_CALLS}, one at a time) while the first company's "
        f"{FLOOD} calls fill the pool, model {FLOOD_MODEL_S:.0f} s: the first draft / the "
        "slowest, s",
        others,
    )


async def _beside_a_flood(
    bench: Bench, ctx: Ctx, service: Target, other_key: str, other_reviews: Reviews
) -> str:
    """The other company drafts a moment before (so it counts as calling), then again, one at a
    time, while the first company's flood holds the pool: without a share its first draft waits
    for one of the flood's calls to end. A slower model than the burst's, so that the wait stands
    out from the service's own queueing of a thousand requests."""
    other = Target("other company", service.port, other_key, None, company=OTHER_COMPANY)
    await _one_at_a_time(other, other_reviews.take(1))
    await bench.configure_stub(ttft_ms=FLOOD_MODEL_S * 1000)
    try:
        reqs = [service.generate(r) for r in ctx.reviews.take(FLOOD)]
        flood = asyncio.create_task(burst(service.port, reqs))
        await asyncio.sleep(FLOOD_MODEL_S / 3)  # the flood holds every place it may hold by now
        latencies = await _one_at_a_time(other, other_reviews.take(OTHER_CALLS))
        await flood
    finally:
        await bench.configure_stub(ttft_ms=MODEL_LATENCY_S * 1000)
    return f"{latencies[0]:.2f} / {max(latencies):.2f}"


DEFAULT_POOL = 200
OTHER_CALLS = 3
FLOOD = 2 * DEFAULT_POOL  # the first company's calls while the other drafts
FLOOD_MODEL_S = 3.0
_POOL = "REPLY_ASSIST_LLM_MAX_CONNECTIONS"
_TUNED = "service, share = pool"  # the service with the share set to the whole pool
_COLUMN = {"default": "service", _TUNED: _TUNED}
_SHARE = "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY"


async def _one_at_a_time(target: Target, review_ids: list[str]) -> list[float]:
    pool = HttpPool(target.port, 1)
    latencies = []
    try:
        for review_id in review_ids:
            started = time.perf_counter()
            status, body = await pool.request(target.generate(review_id))
            if status != 201:
                raise RuntimeError(f"the other company's draft: {status} {body[:200]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        pool.close()
    return latencies


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
        floor = base_floor(n, res)
        if floor is not None and above[floor] > 0:
            cells[n] += f" ({a / above[floor]:.2f}× {floor})"
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

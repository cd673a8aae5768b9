"""Phase 3: from the model's first token to the client's first delta event."""

from __future__ import annotations

from harness.bench import Bench, Ctx, met
from harness.http import HttpPool, StreamRun, pct, run_streams
from harness.model import Results, Reviews, Target


async def run(bench: Bench, ctx: Ctx) -> None:
    args = bench.args
    plan = bench.plan
    res = ctx.res
    targets = ctx.targets
    review_source = ctx.source
    print("bench: 3/6 streaming", flush=True)
    await bench.configure_stub(
        ttft_ms=20, tokens_per_s=args.stream_tps, tokens=args.stream_tokens, stamp=True
    )
    for c in plan.stream_concurrency:
        for t in targets:
            res[t.name].streams[c] = await streams(bench, t, review_source(t), c)
    _stream_rows(bench, res)


async def streams(bench: Bench, target: Target, reviews: Reviews, concurrency: int) -> StreamRun:
    pool = HttpPool(target.port, concurrency)
    accept = "text/event-stream"
    reqs = [target.generate(r, accept) for r in reviews.take(bench.plan.streams_at(concurrency))]
    out = await run_streams(pool, reqs, concurrency)
    pool.close()
    if out.ok != out.total:
        bench.notes.append(
            f"streams {target.name}: {out.ok}/{out.total} ended with a draft "
            f"(statuses {dict(out.statuses)})"
        )
    if out.statuses.get(201):
        bench.notes.append(
            f"streams {target.name}: answered a stream with HTTP 201; the contract says 200"
        )
    return out


def _stream_rows(bench: Bench, res: dict[str, Results]) -> None:
    plan = bench.plan
    for c in plan.stream_concurrency:
        s = res["service"].streams[c]
        p99 = pct(s.first_ms, 0.99)
        bench.row(
            "3 streaming" if c == plan.stream_concurrency[0] else "",
            f"model's first token → client's first delta, {c} stream(s) at a time "
            f"(n={plan.streams_at(c)}), p50 / p99 ms",
            {
                n: f"{pct(r.streams[c].first_ms, 0.5):.2f} / {pct(r.streams[c].first_ms, 0.99):.2f}"
                for n, r in res.items()
            },
            "",
            "p99 ≤ 10 ms",
            met(p99 <= 10 and s.ok == s.total),
        )

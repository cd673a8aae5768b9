"""Phase 7 (``--servers``): the default server beside uvicorn on asyncio and granian, one after
the other in the same phase, so that they are compared with each other."""

from __future__ import annotations

from harness.bench import Bench, Ctx
from harness.http import pct
from harness.model import Results

from phases.overhead import overhead
from phases.streaming import streams


async def run(bench: Bench, ctx: Ctx) -> None:
    args, plan, service, reviews = bench.args, bench.plan, ctx.service, ctx.reviews
    if plan.servers:
        print("bench: 7 servers", flush=True)
        c_last = plan.stream_concurrency[-1]
        for i, server in enumerate(plan.servers):
            await bench.configure_stub()
            target = await bench.start_service(server=server)
            target.token = service.token
            r = Results()
            await overhead(bench, target, reviews, r)
            await bench.configure_stub(
                ttft_ms=20, tokens_per_s=args.stream_tps, tokens=args.stream_tokens, stamp=True
            )
            st = await streams(bench, target, reviews, c_last)
            assert target.proc is not None
            assert r.seq is not None
            assert r.par is not None
            bench.stop(target.proc)
            bench.row(
                "7 servers" if i == 0 else "",
                f"{server}: p50 / p99 ms one at a time; calls/s with "
                f"{plan.overhead_concurrency} callers; stream p99 ms ({c_last} at a time)",
                {
                    "service": f"{r.seq.p(0.5) * 1e3:.2f} / {r.seq.p(0.99) * 1e3:.2f}; "
                    f"{r.par.rps:.0f}; {pct(st.first_ms, 0.99):.2f}"
                },
            )

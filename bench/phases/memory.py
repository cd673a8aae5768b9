"""Phase 5: memory of one worker after start and after 10,000 drafts, and full GC pauses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from harness.bench import Bench, Ctx, met
from harness.http import HttpPool, run_calls
from harness.procs import is_helper, process_tree, rss_mb, smaps


async def run(bench: Bench, ctx: Ctx) -> None:
    plan = bench.plan
    service = ctx.service
    reviews = ctx.reviews
    rss_start = ctx.rss_start
    print(f"bench: 5/6 memory ({plan.memory} drafts)", flush=True)
    rss_before = rss_mb(service.proc.pid)
    pool = HttpPool(service.port, plan.memory_concurrency)
    mem = await run_calls(
        pool,
        [service.generate(r) for r in reviews.take(plan.memory)],
        plan.memory_concurrency,
    )
    pool.close()
    rss_after = rss_mb(service.proc.pid)
    bench.row("5 memory", "RSS of the worker after start, MB", {"service": f"{rss_start:.0f}"})
    bench.row(
        "",
        f"RSS after phases 1–4 → after {mem.ok} more drafts, MB",
        {"service": f"{rss_before:.0f} → {rss_after:.0f}"},
    )
    bench.row(
        "",
        f"throughput while making them ({plan.memory_concurrency} callers), calls/s",
        {"service": f"{mem.rps:.0f}"},
    )
    if mem.describe_failures():
        bench.notes.append(f"memory run: failures {mem.describe_failures()}")
    count, total, longest = await bench.gc_pauses(service)
    bench.row(
        "",
        "full garbage collections over the run: count; longest (histogram bound), ms; "
        "all together, ms",
        {"service": f"{count}; ≤ {float(longest) * 1000:g}; {total * 1000:.1f}"},
    )


@dataclass
class Footprint:
    """RSS and PSS of a server's processes, in MB: its parent, and each worker."""

    parent: tuple[float, float]
    workers: list[tuple[float, float]]

    @property
    def total_pss(self) -> float:
        return self.parent[1] + sum(pss for _, pss in self.workers)

    def worker_max(self, which: int) -> float:
        return max(w[which] for w in self.workers)


def footprint(pid: int) -> Footprint:
    tree = [p for p in process_tree(pid) if not is_helper(p)]
    if len(tree) == 1:  # one process that serves itself
        return Footprint(parent=(0.0, 0.0), workers=[smaps(pid)])
    return Footprint(parent=smaps(pid), workers=[smaps(p) for p in tree[1:]])


async def run_workers(bench: Bench, ctx: Ctx) -> None:
    """Phase 8: RSS and PSS of every process with 1, 2 and 4 workers, after start and after
    ``plan.memory`` drafts; with ``--baseline DIR`` the same for the code in DIR (e.g. the commit
    before), one after the other in the same phase."""
    plan, args = bench.plan, bench.args
    versions: list[tuple[str, Path | None]] = [("service", None)]
    if args.baseline:
        versions.append(("service before", Path(args.baseline)))
        if "service before" not in bench.extra_columns:
            bench.extra_columns.append("service before")
    print(f"bench: 8 memory with {plan.workers} workers ({plan.memory} drafts each)", flush=True)
    await bench.configure_stub()
    cells: dict[tuple[int, str], dict[str, str]] = {}
    for column, code in versions:
        for n in plan.workers:
            target = await bench.start_service(workers=n, name=f"mem-{n}", code=code)
            await asyncio.sleep(3.0)  # every worker started and settled
            assert target.proc is not None
            start = footprint(target.proc.pid)
            # A key made by this version: the one before cannot read keys that name their company.
            target.token = await bench.new_key(target)
            pool = HttpPool(target.port, plan.memory_concurrency)
            run = await run_calls(
                pool,
                [target.generate(r) for r in ctx.reviews.take(plan.memory)],
                plan.memory_concurrency,
            )
            pool.close()
            after = footprint(target.proc.pid)
            bench.stop(target.proc)
            if run.describe_failures():
                bench.notes.append(f"memory {column} {n} workers: {run.describe_failures()}")
            cells[(n, "pss")] = {
                **cells.get((n, "pss"), {}),
                column: (f"{start.worker_max(1):.0f} → {after.worker_max(1):.0f}"),
            }
            cells[(n, "rss")] = {
                **cells.get((n, "rss"), {}),
                column: (f"{start.worker_max(0):.0f} → {after.worker_max(0):.0f}"),
            }
            cells[(n, "total")] = {
                **cells.get((n, "total"), {}),
                column: (f"{start.total_pss:.0f} → {after.total_pss:.0f}"),
            }
            if column == "service":
                cells[(n, "met")] = {
                    "ok": str(
                        start.worker_max(1) <= 120
                        and after.worker_max(1) <= 140
                        and after.total_pss <= 500
                    )
                }
            await asyncio.sleep(0.5)
    for i, n in enumerate(plan.workers):
        met_cell = met(cells[(n, "met")]["ok"] == "True") if n == 4 else ""
        bench.row(
            "8 memory" if i == 0 else "",
            f"{n} worker(s): PSS of each worker after start → after {plan.memory} drafts, MB "
            "(the largest)",
            cells[(n, "pss")],
            "",
            "≤ 120 → ≤ 140" if n == 4 else "",
            met_cell,
        )
        bench.row("", f"{n} worker(s): RSS of each worker, MB (the largest)", cells[(n, "rss")])
        bench.row(
            "",
            f"{n} worker(s): the whole service (parent and workers), PSS, MB",
            cells[(n, "total")],
            "",
            "≤ 500" if n == 4 else "",
            met_cell,
        )

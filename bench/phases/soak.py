"""Phase 9 (``--soak-minutes``): a steady load for a long time, memory sampled every minute.

The service runs with ``--soak-workers`` workers; calls are sent open-loop at ``--soak-rate`` a
second (ticks of 50 ms), a share of them streamed, to a stub model that takes 20 ms to its first
token and streams 20 tokens at 400 a second. The run is bounded by count (rate × minutes) and by
time, and never has more than ``_MAX_IN_FLIGHT`` calls open: a call due while that many are open
is skipped and counted, so a slow service shows as skipped calls, not as an ever-growing queue in
the load generator. Each minute gives one line: calls and failures, the rate reached, latency,
the largest worker's RSS and PSS, the whole service's PSS, and the machine's load average.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.bench import Bench, Ctx
from harness.http import HttpPool, pct

from phases.memory import footprint

_MAX_IN_FLIGHT = 256
_TICK_S = 0.05


@dataclass
class Minute:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    streams: int = 0
    latencies: list[float] = field(default_factory=list)


async def run(bench: Bench, ctx: Ctx) -> None:
    args = bench.args
    minutes, rate = args.soak_minutes, args.soak_rate
    total = int(minutes * 60 * rate)
    print(
        f"bench: 9 soak, {minutes} min at {rate} calls/s ({args.soak_streams:.0%} streamed), "
        f"{args.soak_workers} workers",
        flush=True,
    )
    await bench.configure_stub(ttft_ms=20, tokens_per_s=400, tokens=20)
    target = await bench.start_service(workers=args.soak_workers, name="soak")
    target.token = ctx.service.token
    assert target.proc is not None
    await asyncio.sleep(3.0)
    pid = target.proc.pid
    pool = HttpPool(target.port, _MAX_IN_FLIGHT)
    reviews = ctx.reviews.take(total)
    in_flight: set[asyncio.Task[None]] = set()
    per_minute: list[Minute] = [Minute()]
    samples = [(0, footprint(pid), _load())]
    stream_every = max(1, round(1 / args.soak_streams)) if args.soak_streams > 0 else 0

    async def call(i: int, minute: Minute) -> None:
        started = time.perf_counter()
        try:
            if stream_every and i % stream_every == 0:
                raw = target.generate(reviews[i], "text/event-stream")
                status, _, drafted = await pool.stream(raw)
                ok = status == 200 and drafted
                minute.streams += 1
            else:
                status, _ = await pool.request(target.generate(reviews[i]))
                ok = status == 201
        except Exception:
            ok = False
        if ok:
            minute.ok += 1
            minute.latencies.append(time.perf_counter() - started)
        else:
            minute.failed += 1

    began = time.monotonic()
    deadline = began + minutes * 60 + 5
    sent = 0
    while sent < total and time.monotonic() < deadline:
        elapsed = time.monotonic() - began
        if elapsed >= 60 * len(per_minute) and elapsed < minutes * 60:
            samples.append((len(per_minute), footprint(pid), _load()))
            print(f"bench: soak minute {len(per_minute)}: {_line(per_minute[-1])}", flush=True)
            per_minute.append(Minute())
        due = min(total, int(elapsed * rate) + 1)
        minute = per_minute[-1]
        while sent < due:
            if len(in_flight) >= _MAX_IN_FLIGHT:
                minute.skipped += 1
            else:
                task = asyncio.create_task(call(sent, minute))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            sent += 1
        await asyncio.sleep(_TICK_S)
    await asyncio.gather(*in_flight)
    samples.append((len(per_minute), footprint(pid), _load()))
    pool.close()
    bench.stop(target.proc)
    _report(bench, per_minute, samples, rate, args.soak_workers)


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _line(m: Minute) -> str:
    return (
        f"{m.ok} ok, {m.failed} failed, {m.skipped} skipped, p50 "
        f"{pct(m.latencies, 0.5) * 1e3:.1f} ms, p99 {pct(m.latencies, 0.99) * 1e3:.1f} ms"
    )


def _report(
    bench: Bench, per_minute: list[Minute], samples: list, rate: float, workers: int
) -> None:  # type: ignore[type-arg]
    lines = [
        f"### Soak: {len(per_minute)} minutes at {rate:g} calls/s, {workers} workers",
        "",
        "| minute | calls ok / failed / skipped (streams) | calls/s | p50 / p99 ms | largest "
        "worker RSS / PSS, MB | whole service PSS, MB | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, fp, load in samples:
        m = per_minute[index - 1] if index > 0 else None
        calls = f"{m.ok} / {m.failed} / {m.skipped} ({m.streams})" if m else "(start)"
        rps = f"{m.ok / 60:.0f}" if m else ""
        lat = f"{pct(m.latencies, 0.5) * 1e3:.1f} / {pct(m.latencies, 0.99) * 1e3:.1f}" if m else ""
        lines.append(
            f"| {index} | {calls} | {rps} | {lat} | {fp.worker_max(0):.0f} / "
            f"{fp.worker_max(1):.0f} | {fp.total_pss:.0f} | {load} |"
        )
    bench.sections.append("\n".join(lines))
    first, last = samples[0][1], samples[-1][1]
    bench.row(
        "9 soak",
        f"{len(per_minute)} min at {rate:g} calls/s, {workers} workers: largest worker PSS, and "
        "the whole service's, start → end, MB",
        {
            "service": f"{first.worker_max(1):.0f} → {last.worker_max(1):.0f}; "
            f"{first.total_pss:.0f} → {last.total_pss:.0f}"
        },
    )

"""Phase 4: Redis commands and round trips per generate call."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections import Counter

import redis
from harness.bench import Bench, Ctx, met
from harness.http import HttpPool, run_calls
from harness.model import Reviews, Target


async def run(bench: Bench, ctx: Ctx) -> None:
    print("bench: 4/6 Redis commands per call", flush=True)
    await bench.configure_stub()
    measured = {}
    for t in ctx.targets:
        if t.name in ("service", "floor", "service before"):
            prefix = bench.floor_prefix if t.is_floor else bench.prefix
            measured[t.name] = await count_commands(bench, t, ctx.source(t), prefix)
    shared = " (shared Redis: others' commands too)" if bench.args.redis_url else ""
    bench.row(
        "4 Redis",
        f"commands per generate call, all (INFO commandstats){shared}",
        {n: f"{sum(m[0].values()):.1f}" for n, m in measured.items()},
    )
    trips = measured["service"][3]
    bench.row(
        "",
        "round trips per generate call (INFO total_reads_processed)",
        {n: f"{m[3]:.2f}" for n, m in measured.items()},
        "",
        "2",
        met(round(trips, 2) <= 2.0),
    )
    bench.row(
        "",
        "… commands sent by the app (MONITOR)",
        {n: f"{sum(m[1].values()):.1f}" for n, m in measured.items()},
    )
    bench.row(
        "",
        "… run inside Lua scripts",
        {n: f"{sum(m[2].values()):.1f}" for n, m in measured.items()},
    )

    def fmt(d: dict[str, float]) -> str:
        return ", ".join(f"{k.upper()} {v:.2f}" for k, v in d.items())

    for name, (_, top, lua, _) in measured.items():
        bench.details.append(f"{name}, commands sent per generate call: {fmt(top)}")
        bench.details.append(f"{name}, commands inside its scripts per call: {fmt(lua)}")


def server_counts(client: redis.Redis) -> tuple[Counter[str], int]:
    """Commands the server has run, by name, and its read events: one per packet a client
    sent, so one per round trip (a pipeline's commands arrive together)."""
    info = client.info("all")
    calls = Counter(
        {
            k.removeprefix("cmdstat_"): int(v["calls"])
            for k, v in info.items()
            if k.startswith("cmdstat_")
        }
    )
    return calls, int(info["total_reads_processed"])


async def count_commands(
    bench, target: Target, reviews: Reviews, prefix: str
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float]:
    """(commandstats delta, commands the app sent, commands run inside scripts, round trips)
    per call.

    commandstats counts every command the server ran, those inside scripts included; a
    MONITOR of the same calls tells the two apart (script commands show as ``[0 lua]``).
    Only MONITOR lines naming this run's key prefix count, so a shared Redis works too; the
    round trips (the server's read events) count every client's, so only a private Redis
    gives them exactly.
    """
    assert bench.redis_url
    reqs = [target.generate(r) for r in reviews.take(bench.plan.commands + 1)]
    pool = HttpPool(target.port, 1)
    await run_calls(pool, [reqs[0]], 1)  # connections and caches warm
    mon_path = bench.tmp / f"monitor-{target.name}.txt"
    parts = bench.redis_url.split("//", 1)[1].split("/", 1)[0]
    host, port = parts.rsplit("@", 1)[-1].rsplit(":", 1)
    with mon_path.open("wb") as out:
        monitor = subprocess.Popen(  # noqa: ASYNC220 - once, between measurements
            ["redis-cli", "-h", host, "-p", port, "monitor"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        await asyncio.sleep(0.5)
        counter = bench.redis_client()
        before, reads_before = server_counts(counter)
        run = await run_calls(pool, reqs[1:], 1)
        after, reads_after = server_counts(counter)
        counter.close()
        await asyncio.sleep(0.5)
        os.killpg(monitor.pid, signal.SIGTERM)
        monitor.wait(5)
    pool.close()
    calls = max(1, run.ok)
    stats = Counter({k: v - before.get(k, 0) for k, v in after.items()})
    stats["info"] -= 1  # our own INFO
    round_trips = (reads_after - reads_before - 1) / calls  # less our own INFO's read
    top: Counter[str] = Counter()
    lua: Counter[str] = Counter()
    line_re = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"(.*)$')
    for line in mon_path.read_text(errors="replace").splitlines():
        m = line_re.match(line)
        if not m or prefix not in m.group(3):
            continue
        (lua if m.group(1) == "lua" else top)[m.group(2).lower()] += 1

    def per_call(c: Counter[str]) -> dict[str, float]:
        return {k: v / calls for k, v in c.most_common() if v > 0}

    return per_call(stats), per_call(top), per_call(lua), round_trips

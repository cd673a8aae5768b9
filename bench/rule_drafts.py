"""Background drafts by rules: how fast ``reply-assist worker`` drafts a backlog, at what CPU.

    python bench/rule_drafts.py            # about 6 minutes on 2 cores
    python bench/rule_drafts.py --quick    # 2,000 reviews instead of 10,000

Starts a private ``redis-server``, the stub model (``stub_llm.py``, 0.5 s a draft) and
``reply-assist serve`` (the API, which runs no jobs with Redis), all with the user's defaults
(concurrency 100 a worker process, lease 60 s), then:

1. the API's generate path: 1,000 ``POST …/drafts`` one at a time with a zero-latency model; the
   server's own CPU per call (as phase 1 of ``run.py`` measures it);
2. for 1, 2 and 4 worker processes (``reply-assist worker --workers N``): 20 companies with rules
   on get 10,000 reviews stored (each queues its job), then the workers start; the time until
   every review has its draft, drafts per second, and the workers' own CPU per draft (user +
   system of every worker process, read before they stop);
3. the same with two separate worker processes, one killed with ``kill -9`` when half the
   drafts exist: every review must end with exactly one draft (the statistics' histogram of
   drafts per review), and the time it took;
4. fairness: one company with 5,000 queued jobs and two workers busy on them, then another
   company's first review: the time until its draft exists.

It prints a table (Markdown) and keeps nothing: every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
TEXTS = [
    "The parcel took three weeks and nobody answered my emails about it.",
    "Great service and a friendly team, the delivery came the next morning.",
    "The product was fine but the packaging was damaged when it arrived here.",
    "I waited a long time on the phone and the problem is still not solved.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children that still run."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@dataclass
class Run:
    tmp: Path
    redis_url: str = ""
    stub_port: int = 0
    api: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(ROOT),
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def env(self, prefix: str) -> dict[str, str]:
        return {
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN,
            "REPLY_ASSIST_REDIS_URL": self.redis_url,
            "REPLY_ASSIST_REDIS_PREFIX": prefix,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{self.stub_port}/v1",
            "OPENAI_API_KEY": "bench",
            "REPLY_ASSIST_MODEL": "gpt-4.1-mini",
            "REPLY_ASSIST_RATE_LIMIT_PER_MIN": "0",
            "REPLY_ASSIST_LOG_LEVEL": "WARNING",
        }

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)


async def wait_ready(url: str, proc: subprocess.Popen[bytes], limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


async def stub_config(run: Run, **config: Any) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(f"http://127.0.0.1:{run.stub_port}/_config", json=config)


async def start_api(run: Run, prefix: str) -> subprocess.Popen[bytes]:
    port = free_port()
    proc = run.spawn(
        f"api-{prefix}",
        [sys.executable, "-m", "reply_assist.cli", "serve", "--port", str(port)],
        run.env(prefix),
    )
    run.api = f"http://127.0.0.1:{port}"
    await wait_ready(run.api, proc)
    return proc


async def start_workers(
    run: Run, prefix: str, n: int, name: str = "worker"
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", "reply_assist.cli", "worker", "--port", str(port)]
    proc = run.spawn(f"{name}-{prefix}", [*argv, "--workers", str(n)], run.env(prefix))
    url = f"http://127.0.0.1:{port}"
    await wait_ready(url, proc)
    return proc, url


async def store_reviews(
    client: httpx.AsyncClient, companies: list[str], per_company: int, *, rules: bool = True
) -> None:
    created = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for company in companies:
        body = {
            "name": company,
            "plan": "enterprise",
            "contract_start": "2026-01-01T00:00:00Z",
            "languages": ["en"],
        }
        r = await client.put(f"/v1/companies/{company}", json=body)
        assert r.status_code in (200, 201), r.text
        if rules:
            r = await client.put(f"/v1/companies/{company}/draft-rules", json={"enabled": True})
            assert r.status_code == 200, r.text
    sem = asyncio.Semaphore(64)

    async def put(company: str, i: int) -> None:
        review = {
            "type": "company",
            "text": TEXTS[i % len(TEXTS)],
            "stars": 1 + i % 5,
            "created_at": created,
            "language": "en",
            "author_name": "Erik",
        }
        async with sem:
            r = await client.put(f"/v1/companies/{company}/reviews/r{i}", json=review)
        assert r.status_code in (200, 201), r.text

    await asyncio.gather(*(put(c, i) for c in companies for i in range(per_company)))


async def drafts_total(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/v1/feedback/stats")
    return dict(r.json())


async def until_drafted(client: httpx.AsyncClient, total: int, limit_s: float) -> float:
    deadline = time.monotonic() + limit_s
    while (await drafts_total(client))["drafts"] < total:
        if time.monotonic() > deadline:
            raise RuntimeError("not every review was drafted in time")
        await asyncio.sleep(0.2)
    return time.monotonic()


async def api_generate_cpu(run: Run, calls: int) -> float:
    """The API server's own CPU per generate call, one call at a time, zero-latency model."""
    prefix = "bench-api"
    proc = await start_api(run, prefix)
    await stub_config(run, ttft_ms=0)
    async with httpx.AsyncClient(base_url=run.api, headers=HEADERS, timeout=30) as client:
        await store_reviews(client, ["gen"], calls // 10 + 1, rules=False)
        for _ in range(20):  # warm up
            await client.post(f"/v1/companies/gen/reviews/r{calls // 10}/drafts")
        before = cpu_s(proc.pid)
        for i in range(calls):
            r = await client.post(f"/v1/companies/gen/reviews/r{i // 10}/drafts")
            assert r.status_code == 201, r.text
        used = cpu_s(proc.pid) - before
    run.stop(proc)
    return used / calls * 1000


async def backlog(run: Run, workers: int, total: int, tag: str) -> dict[str, float]:
    prefix = f"bench-rules-{tag}"
    api = await start_api(run, prefix)
    companies = [f"co{i:02d}" for i in range(20)]
    async with httpx.AsyncClient(base_url=run.api, headers=HEADERS, timeout=60) as client:
        await store_reviews(client, companies, total // 20)
        started = time.monotonic()
        proc, _ = await start_workers(run, prefix, workers)
        ready = time.monotonic()
        cpu_before = cpu_s(proc.pid)
        done = await until_drafted(client, total, limit_s=total / 20 + 120)
        cpu = cpu_s(proc.pid) - cpu_before
        stats = await drafts_total(client)
    run.stop(proc)
    run.stop(api)
    return {
        "seconds": done - started,
        "rate": total / (done - ready),
        "cpu_ms": cpu / total * 1000,
        "once": float(stats["generations_histogram"]["1"] == total),
    }


async def killed(run: Run, total: int) -> dict[str, float]:
    prefix = "bench-rules-kill"
    api = await start_api(run, prefix)
    companies = [f"co{i:02d}" for i in range(20)]
    async with httpx.AsyncClient(base_url=run.api, headers=HEADERS, timeout=60) as client:
        await store_reviews(client, companies, total // 20)
        started = time.monotonic()
        victim, _ = await start_workers(run, prefix, 1, "victim")
        survivor, _ = await start_workers(run, prefix, 1, "survivor")
        while (await drafts_total(client))["drafts"] < total // 2:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(5)
        killed_at = time.monotonic() - started
        done = await until_drafted(client, total, limit_s=total / 20 + 240)
        await asyncio.sleep(5)
        stats = await drafts_total(client)
    run.stop(survivor)
    run.stop(api)
    histogram = stats["generations_histogram"]
    return {
        "seconds": done - started,
        "killed_at": killed_at,
        "drafts": stats["drafts"],
        "reviews_once": histogram["1"],
        "reviews_more": sum(v for k, v in histogram.items() if k != "1"),
    }


async def fairness(run: Run, big: int) -> float:
    prefix = "bench-rules-fair"
    api = await start_api(run, prefix)
    async with httpx.AsyncClient(base_url=run.api, headers=HEADERS, timeout=60) as client:
        await store_reviews(client, ["small"], 0)
        await store_reviews(client, ["big"], big)
        proc, _ = await start_workers(run, prefix, 2)
        # Both workers busy on "big" first.
        while (await drafts_total(client))["drafts"] < 200:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        queued_at = time.monotonic()
        await store_reviews(client, ["small"], 1)
        url = "/v1/companies/small/reviews/r0/drafts"
        while not (await client.get(url)).json()["items"]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        took = time.monotonic() - queued_at
        left = big - (await drafts_total(client))["drafts"]
    run.stop(proc)
    run.stop(api)
    print(f"  (big still had about {left} jobs to go)", flush=True)
    return took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    total = 2_000 if args.quick else 10_000
    run = Run(Path(tempfile.mkdtemp(prefix="bench-rules-")))
    try:
        if shutil.which("redis-server") is None:
            raise SystemExit("bench: redis-server is not on PATH")
        port = free_port()
        run.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(run.tmp),
            ],
            {},
        )
        run.redis_url = f"redis://127.0.0.1:{port}/0"
        run.stub_port = free_port()
        run.spawn(
            "stub",
            [sys.executable, str(ROOT / "bench" / "stub_llm.py"), "--port", str(run.stub_port)],
            {},
        )
        await asyncio.sleep(1.0)
        rows = []
        api_cpu = await api_generate_cpu(run, 1000)
        print(f"API generate path: {api_cpu:.2f} ms CPU per call", flush=True)
        await stub_config(run, ttft_ms=500)
        for n in (int(w) for w in args.workers.split(",")):
            r = await backlog(run, n, total, f"w{n}")
            print(f"{n} worker process(es): {r}", flush=True)
            rows.append(
                f"| {n} | {total:,} | {r['seconds']:.1f} | {r['rate']:.0f} | {r['cpu_ms']:.2f} "
                f"({r['cpu_ms'] / api_cpu:.2f}x) | {'yes' if r['once'] else 'NO'} |"
            )
        k = await killed(run, total)
        print(f"kill -9 of one of two workers: {k}", flush=True)
        fair = await fairness(run, total // 2)
        print(f"fairness: the other company's first draft after {fair:.2f} s", flush=True)
        print()
        print(f"Stub model 0.5 s a draft; {total:,} reviews over 20 companies; defaults.")
        print(f"The API's generate path, one call at a time: {api_cpu:.2f} ms CPU per call.\n")
        print(
            "| worker processes | reviews | until all drafted, s | drafts/s | CPU per draft, ms "
            "(÷ API's) | exactly one each |"
        )
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))
        print(
            f"\nkill -9 of one of two worker processes at {k['killed_at']:.1f} s: all drafted "
            f"after {k['seconds']:.1f} s; {k['drafts']:,} drafts, {k['reviews_once']:,} reviews "
            f"with exactly one, {k['reviews_more']} with more."
        )
        print(
            f"Fairness: {total // 2:,} jobs of one company queued, another company's first "
            f"review drafted {fair:.2f} s after it was stored."
        )
    finally:
        run.stop_all()
        shutil.rmtree(run.tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

"""What a model answering far more than it was asked for costs a worker: ``python
bench/hostile_output.py`` (``--baseline DIR`` also measures the code in DIR, e.g. the commit
before, the same way).

Starts a private redis-server, ``stub_llm.py`` and the service (``reply-assist serve``, one
worker), makes a company, a key and reviews through the API, then has the stub answer every
call with ``hostile="huge"``: a 20 MB completion, a 30 MB stream, and a 5 MB completion while
another connection asks ``/healthz`` every 10 ms. Prints, per case: the answer's status and
draft length, the call's time, the worker's RSS after it and its peak (VmHWM), how much of the
answer the stub managed to send, and the longest ``/healthz`` answer meanwhile (how long the
event loop served nobody).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.constants import BENCH_COMPANY, BENCH_DIR, BENCH_REVIEW, ROOT
from harness.http import HttpPool, http_request
from harness.procs import Proc, free_port

MB = 1_000_000
COMPANY = "hostile"


@dataclass
class Case:
    name: str
    size: int
    stream: bool = False
    calls: int = 3
    probe_health: bool = False


@dataclass
class Row:
    statuses: list[int] = field(default_factory=list)
    text_lengths: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    sent_mb: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    health_max_ms: float = 0.0


def _status_mb(pid: int, field_name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="reply-assist-hostile-"))
        self.procs: list[Proc] = []
        self.admin = "hostile-admin-" + secrets.token_hex(16)

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> Proc:
        proc = Proc(name, argv, {**os.environ, **(env or {})}, self.tmp, cwd)
        self.procs.append(proc)
        return proc

    async def wait_for(self, proc: Proc, text: str) -> None:
        deadline = time.monotonic() + 30
        while text not in proc.tail(50):
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}")
            await asyncio.sleep(0.05)

    async def call(self, port: int, method: str, path: str, body: object = None) -> bytes:
        pool = HttpPool(port, 1)
        try:
            status, data = await pool.request(http_request(method, path, self.admin, body))
        finally:
            pool.close()
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return data

    async def stub(self, port: int, method: str, path: str, body: object = None) -> dict[str, int]:
        pool = HttpPool(port, 1)
        try:
            _, data = await pool.request(http_request(method, path, None, body))
        finally:
            pool.close()
        result: dict[str, int] = json.loads(data)
        return result

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        if not self.args.keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)


async def measure(run: Run, code: Path | None, cases: list[Case]) -> dict[str, Row]:
    redis_port, stub_port, port = free_port(), free_port(), free_port()
    run.start(
        f"redis-{redis_port}",
        [
            *("redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(run.tmp)),
        ],
    )
    stub = run.start(
        f"stub-{stub_port}",
        [sys.executable, str(BENCH_DIR / "stub_llm.py"), "--port", str(stub_port)],
    )
    await run.wait_for(stub, "listening")
    env = {
        "REPLY_ASSIST_ADMIN_TOKEN": run.admin,
        "REPLY_ASSIST_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{stub_port}/v1",
        "OPENAI_API_KEY": "bench",
        "REPLY_ASSIST_MODEL": "gpt-4.1-mini",
        "REPLY_ASSIST_LLM_TIMEOUT_S": "120",  # long enough for the code before to read it all
        "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)
    argv = [sys.executable, "-m", "reply_assist.cli", "serve", "--port", str(port)]
    # ``python -m`` puts the working directory first on the path: run the code measured there.
    service = run.start(f"service-{port}", argv, env, code or ROOT)
    await run.wait_for(service, '"listening"')
    await run.call(port, "PUT", f"/v1/companies/{COMPANY}", BENCH_COMPANY)
    key = json.loads(
        await run.call(port, "POST", f"/v1/companies/{COMPANY}/api-keys", {"role": "agent"})
    )["key"]
    reviews = [f"r{i}" for i in range(20)]
    for review_id in reviews:
        await run.call(port, "PUT", f"/v1/companies/{COMPANY}/reviews/{review_id}", BENCH_REVIEW)
    pid = service.pid

    def generate(review_id: str, stream: bool) -> bytes:
        path = f"/v1/companies/{COMPANY}/reviews/{review_id}/drafts"
        return http_request("POST", path, key, accept="text/event-stream" if stream else None)

    # A normal draft first, so that RSS at the start includes everything a call loads.
    pool = HttpPool(port, 1)
    status, _ = await pool.request(generate(reviews.pop(), False))
    pool.close()
    assert status == 201, status
    rows: dict[str, Row] = {"start": Row(rss_mb=_status_mb(pid, "VmRSS"))}
    rows["start"].peak_mb = _status_mb(pid, "VmHWM")
    for case in cases:
        await run.stub(
            stub_port, "POST", "/_config", {"hostile": "huge", "hostile_bytes": case.size}
        )
        row = rows[case.name] = Row()
        for _ in range(case.calls):
            review_id = reviews.pop()
            pool = HttpPool(port, 1)
            stop = asyncio.Event()
            health = asyncio.create_task(_probe_health(port, stop)) if case.probe_health else None
            started = time.perf_counter()
            try:
                if case.stream:
                    status, body = await pool.request(generate(review_id, True), limit_s=300)
                    draft = _last_event(body)
                else:
                    status, body = await pool.request(generate(review_id, False), limit_s=300)
                    draft = json.loads(body) if status == 201 else {}
            finally:
                pool.close()
                stop.set()
            row.seconds.append(time.perf_counter() - started)
            if health is not None:
                row.health_max_ms = max(row.health_max_ms, await health)
            row.statuses.append(status)
            row.text_lengths.append(len(draft.get("text", "")))
            row.sent_mb.append((await run.stub(stub_port, "GET", "/_stats"))["sent_bytes"] / MB)
        row.rss_mb = _status_mb(pid, "VmRSS")
        row.peak_mb = _status_mb(pid, "VmHWM")
    for proc in run.procs:
        proc.stop()
    run.procs.clear()
    return rows


def _last_event(body: bytes) -> dict[str, object]:
    """The draft of a stream's ``draft`` event, else {} (an ``error`` event)."""
    events = body.decode(errors="replace").replace("\r\n", "\n").split("\n\n")
    for event in reversed(events):
        if event.startswith("event: draft"):
            data = event.split("data: ", 1)[1]
            result: dict[str, object] = json.loads(data)
            return result
    return {}


async def _probe_health(port: int, stop: asyncio.Event) -> float:
    """The longest /healthz answer while ``stop`` is not set, in ms."""
    pool = HttpPool(port, 1)
    longest = 0.0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            await pool.request(http_request("GET", "/healthz", None), limit_s=120)
            longest = max(longest, (time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
    finally:
        pool.close()
    return longest


def table(results: dict[str, dict[str, Row]]) -> str:
    lines = [
        "| code | case | statuses | draft characters | s per call | sent by the model, MB "
        "| worker RSS after, MB | peak RSS, MB | longest /healthz meanwhile, ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for code, rows in results.items():
        for name, row in rows.items():
            if name == "start":
                lines.append(
                    f"| {code} | after start and one draft | | | | | {row.rss_mb:.0f} "
                    f"| {row.peak_mb:.0f} | |"
                )
                continue
            health = f"{row.health_max_ms:.0f}" if row.health_max_ms else ""
            lines.append(
                f"| {code} | {name} | {', '.join(map(str, row.statuses))} "
                f"| {', '.join(map(str, row.text_lengths))} "
                f"| {', '.join(f'{s:.2f}' for s in row.seconds)} "
                f"| {', '.join(f'{m:.1f}' for m in row.sent_mb)} "
                f"| {row.rss_mb:.0f} | {row.peak_mb:.0f} | {health} |"
            )
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> None:
    cases = [
        Case(f"{args.completion_mb} MB completion", args.completion_mb * MB),
        Case(f"{args.stream_mb} MB stream", args.stream_mb * MB, stream=True),
        Case(
            f"{args.stall_mb} MB completion, /healthz polled",
            args.stall_mb * MB,
            calls=2,
            probe_health=True,
        ),
    ]
    run = Run(args)
    results: dict[str, dict[str, Row]] = {}
    try:
        results["this code"] = await measure(run, None, cases)
        if args.baseline:
            results["baseline"] = await measure(run, args.baseline, cases)
    finally:
        run.stop()
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=None, metavar="DIR")
    parser.add_argument("--completion-mb", type=int, default=20)
    parser.add_argument("--stream-mb", type=int, default=30)
    parser.add_argument("--stall-mb", type=int, default=5)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    if args.baseline:
        args.baseline = Path(args.baseline).resolve()
    asyncio.run(amain(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

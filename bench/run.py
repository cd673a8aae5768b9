"""Measure reply-assist against its floor, in one run, and print the table.

    python bench/run.py            # the full run (about 3 minutes on 2 cores)
    python bench/run.py --quick    # smaller counts, same table (about 1 minute)

Starts, on free loopback ports: a private ``redis-server`` (unless ``--redis-url`` is given), the
stub model (``stub_llm.py``), the service (``reply-assist serve``) and the floor
(``floor_app.py``), creates a company, an API key and enough reviews through the API, and
measures side by side (see README.md in this folder for what each number means):

1. overhead: generate calls with a zero-latency model, latency one at a time and throughput;
2. concurrency: a burst of 1,000 calls in flight at once (10 per review) with a 1 s model;
3. streaming: time from the model's first token to the client's first ``delta`` event;
4. Redis commands per generate call (INFO commandstats, and MONITOR for the split);
5. memory: the worker's RSS after start and after 10,000 drafts;
6. throughput with 1, 2 and 4 workers; optionally (``--servers``) uvicorn/asyncio and granian.

The table is printed and written to ``bench/results.md``. Every process it starts is stopped at
the end, and keys it wrote to a shared Redis (``--redis-url``) are deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import redis
from redis_cluster import cluster_ports, redis_cli, start_cluster, stop_servers

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
COMPANY = "bench"
CLUSTER_COMPANIES = 12  # one company's keys share a slot: several spread the load over masters
LIMIT = 10  # drafts per review
BENCH_COMPANY = {
    "name": "Acme AB",
    "plan": "enterprise",
    "contract_start": "2026-01-01T00:00:00Z",
    "languages": ["en", "sv"],
    "brand_voice": "warm, informal, first names",
    "signature": "Anna, Acme kundtjänst",
}
BENCH_REVIEW = {
    "type": "company",
    "title": "Slow delivery",
    "text": "The parcel took three weeks and nobody answered my emails.",
    "stars": 2,
    "created_at": "2026-11-20T08:00:00Z",
    "reported": False,
    "verified": True,
    "author_name": "Erik",
    "language": "en",
}
MODEL_LATENCY_S = 1.0

# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(ROOT),
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    try:
        out = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in out.split()]


# --------------------------------------------------------------------------------------------
# A small HTTP/1.1 client: keep-alive, Content-Length and chunked bodies. It costs the load
# generator far less CPU than httpx, and on 2 cores the load generator shares the CPU with the
# processes it measures.
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    pass


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used_at: float = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; b"" at the end (the trailer is consumed)."""
    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
    if size == 0:
        await reader.readuntil(b"\r\n")
        return b""
    data = await reader.readexactly(size + 2)
    return data[:-2]


async def _read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
    if b"content-length" in headers:
        return await reader.readexactly(int(headers[b"content-length"]))
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        parts = []
        while chunk := await _read_chunk(reader):
            parts.append(chunk)
        return b"".join(parts)
    raise HttpError("response without length")


class HttpPool:
    """Keep-alive connections to one server, at most ``limit`` at once."""

    IDLE_S = 2.0  # servers close idle keep-alive connections (uvicorn after 5 s)

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self._idle: list[Conn] = []
        self._gate = asyncio.Semaphore(limit)

    async def _open(self) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 22)
        return Conn(reader, writer)

    async def _take(self) -> Conn:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.used_at < self.IDLE_S and not conn.reader.at_eof():
                return conn
            conn.close()
        return await self._open()

    def _give(self, conn: Conn) -> None:
        conn.used_at = time.monotonic()
        self._idle.append(conn)

    async def warm(self, n: int) -> None:
        """Open ``n`` connections now (one GET /healthz each) and keep them idle."""
        conns = await asyncio.gather(*(self._open() for _ in range(n)))
        req = b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n"
        for c in conns:
            c.writer.write(req)
        for c in conns:
            _, headers = await _read_head(c.reader)
            await _read_body(c.reader, headers)
            self._give(c)

    async def request(self, raw: bytes, limit_s: float = 60.0) -> tuple[int, bytes]:
        async with self._gate:
            conn = await self._take()
            try:
                async with asyncio.timeout(limit_s):
                    conn.writer.write(raw)
                    status, headers = await _read_head(conn.reader)
                    body = await _read_body(conn.reader, headers)
            except BaseException:
                conn.close()
                raise
            if headers.get(b"connection", b"").lower() == b"close":
                conn.close()
            else:
                self._give(conn)
            return status, body

    async def stream(self, raw: bytes, limit_s: float = 60.0) -> tuple[int, float | None, bool]:
        """Send a streaming request: (status, ms from the stamped first token to its delta
        event's arrival, whether a ``draft`` event came)."""
        async with self._gate:
            conn = await self._take()
            first_ms: float | None = None
            drafted = False
            try:
                async with asyncio.timeout(limit_s):
                    conn.writer.write(raw)
                    status, headers = await _read_head(conn.reader)
                    chunked = b"chunked" in headers.get(b"transfer-encoding", b"")
                    if status not in (200, 201) or not chunked:
                        await _read_body(conn.reader, headers)
                        self._give(conn)
                        return status, None, False
                    buf = b""
                    while chunk := await _read_chunk(conn.reader):
                        arrived = time.time_ns()
                        buf += chunk.replace(b"\r\n", b"\n")
                        while b"\n\n" in buf:
                            event, buf = buf.split(b"\n\n", 1)
                            if first_ms is None and b"event: delta" in event:
                                stamp = re.search(rb"(\d{16,20})", event)
                                if stamp:
                                    first_ms = (arrived - int(stamp.group(1))) / 1e6
                            elif b"event: draft" in event:
                                drafted = True
            except BaseException:
                conn.close()
                raise
            self._give(conn)
            return status, first_ms, drafted

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


def http_request(
    method: str, path: str, token: str | None, body: object = None, accept: str | None = None
) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    if accept:
        head.append(f"Accept: {accept}")
    if body is not None:
        head.append("Content-Type: application/json")
    head.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[int] = field(default_factory=Counter)
    wall: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return self.statuses[201] + self.statuses[200]

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.wall if self.wall else float("nan")

    def p(self, q: float) -> float:
        return pct(self.latencies, q)

    def describe_failures(self) -> str:
        bad = {str(k): v for k, v in self.statuses.items() if k not in (200, 201) and v}
        bad.update(self.errors)
        return ", ".join(f"{k}×{v}" for k, v in bad.items())


async def run_calls(pool: HttpPool, requests: Sequence[bytes], concurrency: int) -> Run:
    """Send ``requests`` with ``concurrency`` callers; latency counts successes only."""
    run = Run()
    it = iter(requests)

    async def caller() -> None:
        for raw in it:
            started = time.perf_counter()
            try:
                status, _ = await pool.request(raw)
            except Exception as exc:
                run.errors[type(exc).__name__] += 1
                continue
            run.statuses[status] += 1
            if status in (200, 201):
                run.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    run.wall = time.perf_counter() - started
    return run


async def burst(port: int, requests: Sequence[bytes]) -> Run:
    """All ``requests`` in flight at once, each on its own connection opened beforehand."""
    pool = HttpPool(port, len(requests))
    await pool.warm(len(requests))
    conns = list(pool._idle)  # one pre-opened connection per request
    run = Run()
    started = time.perf_counter()
    ends: list[float] = []

    async def one(conn: Conn, raw: bytes) -> None:
        try:
            async with asyncio.timeout(60):
                conn.writer.write(raw)
                status, headers = await _read_head(conn.reader)
                body = await _read_body(conn.reader, headers)
        except Exception as exc:
            run.errors[type(exc).__name__] += 1
            return
        end = time.perf_counter()
        ends.append(end)
        if status >= 500:  # counted by its cause
            run.errors[_error_name(body)] += 1
            return
        run.statuses[status] += 1
        if status in (200, 201):
            run.latencies.append(end - started)

    await asyncio.gather(*(one(c, r) for c, r in zip(conns, requests, strict=True)))
    run.wall = (max(ends) if ends else time.perf_counter()) - started
    pool.close()
    return run


def _error_name(body: bytes) -> str:
    """``503 store_unavailable`` from a problem body, ``500 ConnectionError`` from the floor's."""
    try:
        data = json.loads(body)
    except ValueError:
        return "5xx"
    code = data.get("code") or data.get("error") or "?"
    status = data.get("status") or 500
    return f"{status} {code}"


@dataclass
class StreamRun:
    first_ms: list[float] = field(default_factory=list)
    ok: int = 0
    total: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


async def run_streams(pool: HttpPool, requests: Sequence[bytes], concurrency: int) -> StreamRun:
    out = StreamRun()
    it = iter(requests)

    async def caller() -> None:
        for raw in it:
            out.total += 1
            try:
                status, first_ms, drafted = await pool.stream(raw)
            except Exception:
                continue
            out.statuses[status] += 1
            if status in (200, 201) and drafted:
                out.ok += 1
            if first_ms is not None:
                out.first_ms.append(first_ms)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return out


# --------------------------------------------------------------------------------------------
# The services under test
# --------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str  # "service", "floor", "service+patches", "floor (aiohttp)"
    port: int
    token: str | None
    proc: Proc | None = None

    @property
    def is_floor(self) -> bool:
        return self.name.startswith("floor")

    def path(self, review_id: str) -> str:
        if self.is_floor:
            return f"/floor/{review_id}"
        return f"/v1/companies/{COMPANY}/reviews/{review_id}/drafts"

    def generate(self, review_id: str, accept: str | None = None) -> bytes:
        return http_request("POST", self.path(review_id), self.token, accept=accept)


class Reviews:
    """Review ids for generate calls, ``LIMIT`` calls per review.

    The service's reviews are created through the API in setup (as many as the plan needs); the
    floor's are just fresh ids (its script counts per id).
    """

    def __init__(self, ids: list[str] | None = None, prefix: str = "f") -> None:
        self._ids = ids
        self._prefix = prefix
        self._next = 0

    def take(self, calls: int) -> list[str]:
        n = -(-calls // LIMIT)
        if self._ids is None:
            ids = [f"{self._prefix}{self._next + i}" for i in range(n)]
        else:
            if self._next + n > len(self._ids):
                raise RuntimeError("bench planned too few reviews")
            ids = self._ids[self._next : self._next + n]
        self._next += n
        return [ids[i // LIMIT] for i in range(calls)]


@dataclass
class Plan:
    overhead_warmup: int
    overhead_latency: int
    overhead_throughput: int
    overhead_concurrency: int
    burst: int
    stream: int
    stream_concurrency: list[int]
    commands: int
    memory: int
    memory_concurrency: int
    workers: list[int]
    workers_calls: int
    workers_concurrency: int
    servers: list[str]
    floor_http: list[str]  # extra floors with another SDK transport, e.g. ["aiohttp"]
    patches: list[str]  # a service with bench/patched_app.py's patches, if any
    default_pool_burst: bool
    phases: str = "123456"

    def streams_at(self, concurrency: int) -> int:
        """Streams measured at this concurrency: more when several run at once, so that the p99
        rests on a dozen slow streams rather than on the one or two slowest."""
        return self.stream * (4 if concurrency > 1 else 1)

    def service_calls(self) -> int:
        """Generate calls the plan makes on services (each needs a slot of some review)."""
        per_service = (
            self.overhead_warmup
            + self.overhead_latency
            + self.overhead_throughput
            + self.burst
            + sum(self.streams_at(c) for c in self.stream_concurrency)
        )
        services = 1 + (1 if self.patches else 0)
        return (
            per_service * services
            + (self.overhead_warmup + self.overhead_latency + self.overhead_throughput)
            * len(self.servers)
            + self.streams_at(self.stream_concurrency[-1]) * len(self.servers)
            + (self.burst if self.default_pool_burst else 0)
            + self.commands
            + self.memory
            + (self.overhead_warmup + self.workers_calls) * len(self.workers)
        )


@dataclass
class Results:
    seq: Run | None = None
    par: Run | None = None
    model_calls: float = float("nan")
    burst: Run | None = None
    streams: dict[int, StreamRun] = field(default_factory=dict)


def _cpu_busy_s() -> float:
    """Seconds of CPU the whole machine has spent busy since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and of every child it has reaped (their children too)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Bench:
    def __init__(self, args: argparse.Namespace, plan: Plan) -> None:
        self.args = args
        self.plan = plan
        self.tmp = Path(tempfile.mkdtemp(prefix="reply-assist-bench-"))
        self.procs: list[Proc] = []
        self.run_id = secrets.token_hex(4)
        self.prefix = f"rabench-{self.run_id}"
        self.floor_prefix = f"rafloor-{self.run_id}"
        self.admin = "bench-admin-" + secrets.token_hex(16)
        self.redis_url: str | None = args.redis_url
        self.redis_version = "?"
        self.stub_port = 0
        self.rows: list[tuple[str, str, dict[str, str], str, str, str]] = []
        self.extra_columns: list[str] = []
        self.notes: list[str] = []
        self.details: list[str] = []
        self.started_at = time.monotonic()
        self.busy_at_start = _cpu_busy_s()
        self.own_at_start = _own_cpu_s()
        self.load_at_start = Path("/proc/loadavg").read_text().split()[0]

    # ---- processes -------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        full_env = {**os.environ, **(env or {})}
        proc = Proc(name, argv, full_env, self.tmp)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)

    async def wait_http(self, proc: Proc, port: int, path: str = "/healthz", t: float = 60) -> None:
        deadline = time.monotonic() + t
        raw = http_request("GET", path, None)
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            pool = HttpPool(port, 1)
            try:
                status, _ = await pool.request(raw, limit_s=2)
                if status == 200:
                    return
            except (OSError, HttpError, TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                pool.close()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{proc.name} did not answer {path} within {t} s:\n{proc.tail()}")

    def start_redis(self) -> None:
        if not self.redis_url:
            if shutil.which("redis-server") is None:
                raise SystemExit("bench: redis-server is not on PATH; pass --redis-url")
            port = free_port()
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            argv += ["--appendonly", "no", "--dir", str(self.tmp)]
            self.start("redis", argv)
            self.redis_url = f"redis://127.0.0.1:{port}/0"
        client = self.redis_client()
        try:
            for _ in range(100):
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        break
                time.sleep(0.05)
            self.redis_version = str(client.info("server")["redis_version"])
        finally:
            client.close()

    async def start_stub(self) -> None:
        self.stub_port = free_port()
        proc = self.start(
            "stub",
            [sys.executable, str(BENCH_DIR / "stub_llm.py"), "--port", str(self.stub_port)],
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "listening" in proc.tail():
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"stub did not start:\n{proc.tail()}")

    async def stub(self, method: str, path: str, body: object = None) -> Any:
        pool = HttpPool(self.stub_port, 1)
        try:
            _, data = await pool.request(http_request(method, path, None, body))
        finally:
            pool.close()
        return json.loads(data)

    async def cluster_workers(self) -> None:
        """Phase 6 again with the service on a three-master Redis Cluster (started here), the
        calls spread over ``CLUSTER_COMPANIES`` companies, each with its own key."""
        plan = self.plan
        tmp = self.tmp / "cluster"
        tmp.mkdir()
        ports = cluster_ports(3)
        try:
            url, prefix = start_cluster(tmp, ports), f"{self.prefix}-cluster"
            setup = await self.start_service(
                name="cluster-setup", REPLY_ASSIST_REDIS_URL=url, REPLY_ASSIST_REDIS_PREFIX=prefix
            )
            calls = await self.cluster_calls(
                setup, (plan.overhead_warmup + plan.workers_calls) * len(plan.workers)
            )
            assert setup.proc is not None
            self.stop(setup.proc)
            for n in plan.workers:
                target = await self.start_service(
                    workers=n,
                    name="cluster",
                    REPLY_ASSIST_REDIS_URL=url,
                    REPLY_ASSIST_REDIS_PREFIX=prefix,
                )
                warmup, calls = calls[: plan.overhead_warmup], calls[plan.overhead_warmup :]
                measured, calls = calls[: plan.workers_calls], calls[plan.workers_calls :]
                await self.workers_row(
                    target,
                    warmup,
                    measured,
                    "6 on a cluster" if n == plan.workers[0] else "",
                    f"{n} worker(s) on Redis Cluster (3 masters, {CLUSTER_COMPANIES} companies)",
                )
            spread = " / ".join(redis_cli(p, "dbsize").strip() for p in ports)
            self.notes.append(f"cluster: keys on each of the three masters afterwards: {spread}")
        finally:
            stop_servers(tmp, ports)

    async def workers_row(
        self, target: Target, warmup: list[bytes], measured: list[bytes], section: str, what: str
    ) -> None:
        """Warm ``target`` up, measure its throughput, stop it and add the row."""
        concurrency = self.plan.workers_concurrency
        pool = HttpPool(target.port, concurrency)
        await run_calls(pool, warmup, 8)
        run = await run_calls(pool, measured, concurrency)
        pool.close()
        assert target.proc is not None
        self.stop(target.proc)
        self.row(
            section,
            f"{what}, {concurrency} callers: calls/s; p50 / p99 ms",
            {"service": f"{run.rps:.0f}; {run.p(0.5) * 1e3:.0f} / {run.p(0.99) * 1e3:.0f}"},
        )
        if run.describe_failures():
            self.notes.append(f"{what}: failures {run.describe_failures()}")
        await asyncio.sleep(0.5)

    async def cluster_calls(self, service: Target, calls: int) -> list[bytes]:
        """Companies, keys and reviews for ``calls`` generate calls, created through ``service``;
        the calls in an order that takes turns between the companies."""
        pool = HttpPool(service.port, 16)
        reviews = -(-calls // LIMIT)
        per_company: list[list[bytes]] = []
        try:
            for c in range(CLUSTER_COMPANIES):
                company = f"{COMPANY}-{c:02d}"
                body = {**BENCH_COMPANY, "name": f"Acme {c}"}
                await self.expect(pool, "PUT", f"/v1/companies/{company}", body, (201, 200))
                key = await self.expect(
                    pool, "POST", f"/v1/companies/{company}/api-keys", {"role": "dashboard"}, (201,)
                )
                token = json.loads(key)["key"]
                ids = [f"r{i:06d}" for i in range(c, reviews, CLUSTER_COMPANIES)]
                for rid in ids:
                    path = f"/v1/companies/{company}/reviews/{rid}"
                    await self.expect(pool, "PUT", path, BENCH_REVIEW, (201, 200))
                per_company.append(
                    [
                        http_request("POST", f"{path}/drafts", token)
                        for rid in ids
                        for path in [f"/v1/companies/{company}/reviews/{rid}"] * LIMIT
                    ]
                )
        finally:
            pool.close()
        turns = [call for group in itertools.zip_longest(*per_company) for call in group if call]
        return turns[:calls]

    async def expect(
        self, pool: HttpPool, method: str, path: str, body: object, ok: tuple[int, ...]
    ) -> bytes:
        status, data = await pool.request(http_request(method, path, self.admin, body))
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return data

    async def gc_pauses(self, target: Target) -> tuple[int, float, str]:
        """Full (generation 2) collections of the service so far: count, total s, and the
        smallest histogram bound that holds the longest one, from its own ``/metrics``."""
        pool = HttpPool(target.port, 1)
        try:
            _, data = await pool.request(http_request("GET", "/metrics", None))
        finally:
            pool.close()
        count, total, buckets = 0, 0.0, []
        name = "reply_assist_gc_pause_seconds"
        for line in data.decode().splitlines():
            if not line.startswith(name) or 'generation="2"' not in line:
                continue
            value = float(line.rsplit(" ", 1)[1])
            if line.startswith(f"{name}_count"):
                count = int(value)
            elif line.startswith(f"{name}_sum"):
                total = value
            elif line.startswith(f"{name}_bucket"):
                buckets.append((line.split('le="', 1)[1].split('"', 1)[0], value))
        longest = next((bound for bound, n in buckets if n == count), "0") if count else "0"
        return count, total, longest

    async def configure_stub(self, **config: Any) -> None:
        base = {"ttft_ms": 0.0, "tokens_per_s": 0.0, "tokens": self.args.tokens, "stamp": False}
        await self.stub("POST", "/_config", {**base, **config})

    async def stub_calls(self) -> int:
        stats = await self.stub("GET", "/_stats")
        return int(stats["completions"]) + int(stats["streams"])

    def service_env(self, **extra: str) -> dict[str, str]:
        assert self.redis_url
        env = {
            "REPLY_ASSIST_ADMIN_TOKEN": self.admin,
            "REPLY_ASSIST_REDIS_URL": self.redis_url,
            "REPLY_ASSIST_REDIS_PREFIX": self.prefix,
            "REPLY_ASSIST_EVENTS_STREAM": f"{self.prefix}:events",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{self.stub_port}/v1",
            "OPENAI_API_KEY": "bench",
            "REPLY_ASSIST_MODEL": "gpt-4.1-mini",  # a local endpoint must name its model
            # On, so that its Redis round trip is measured, but never reached.
            "REPLY_ASSIST_RATE_LIMIT_PER_MIN": "1000000",
            "REPLY_ASSIST_LLM_MAX_CONNECTIONS": str(self.args.llm_connections),
            # The bench has one company: let it use the whole pool, as the floors do (the
            # share left to other companies is tested in tests/integration/test_model_sharing.py).
            "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY": str(self.args.llm_connections),
            "REPLY_ASSIST_REDIS_MAX_CONNECTIONS": str(self.args.redis_connections),
        }
        for item in self.args.service_env:
            name, _, value = item.partition("=")
            env[name] = value
        env.update(extra)
        return env

    async def start_service(
        self, server: str = "uvicorn", workers: int = 1, name: str = "service", **env: str
    ) -> Target:
        port = free_port()
        if server == "uvicorn":  # the product's own command: uvicorn with uvloop and httptools
            argv = [sys.executable, "-m", "reply_assist.cli", "serve", "--port", str(port)]
            argv += ["--workers", str(workers)]
        elif server in ("uvicorn-asyncio", "patched"):
            app = "patched_app:create_app" if server == "patched" else "reply_assist.app:create_app"
            loop = "asyncio" if server == "uvicorn-asyncio" else "auto"
            argv = [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(BENCH_DIR), app]
            argv += ["--port", str(port), "--loop", loop, "--log-level", "warning"]
            argv += ["--no-access-log", "--workers", str(workers)]
        elif server == "granian":
            granian = Path(sys.executable).parent / "granian"
            if not granian.exists():
                raise RuntimeError("granian is not installed (pip install granian)")
            argv = [str(granian), "--interface", "asgi", "--factory", "--host", "127.0.0.1"]
            argv += ["--port", str(port), "--workers", str(workers), "--loop", "uvloop"]
            argv += ["--log-level", "warning", "--no-access-log", "reply_assist.app:create_app"]
        else:
            raise ValueError(server)
        proc = self.start(f"{name}-{server}-w{workers}-{port}", argv, self.service_env(**env))
        await self.wait_http(proc, port)
        if workers > 1:  # let every worker finish its start before measuring
            await asyncio.sleep(2.0)
        return Target(name, port, None, proc)

    async def start_floor(self, http: str = "httpx") -> Target:
        assert self.redis_url
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(BENCH_DIR)]
        argv += ["floor_app:create_app", "--port", str(port), "--log-level", "warning"]
        argv += ["--no-access-log"]
        env = {
            "FLOOR_REDIS_URL": self.redis_url,
            "FLOOR_PREFIX": self.floor_prefix,
            "FLOOR_REDIS_CONNECTIONS": str(self.args.redis_connections),
            "FLOOR_LLM_CONNECTIONS": str(self.args.llm_connections),
            "FLOOR_HTTP": http,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{self.stub_port}/v1",
        }
        name = "floor" if http == "httpx" else f"floor ({http})"
        proc = self.start(f"floor-{http}", argv, env)
        await self.wait_http(proc, port)
        return Target(name, port, None, proc)

    # ---- setup through the API --------------------------------------------------------------

    async def setup_api(self, service: Target) -> Reviews:
        pool = HttpPool(service.port, 16)
        status, body = await pool.request(
            http_request("PUT", f"/v1/companies/{COMPANY}", self.admin, BENCH_COMPANY)
        )
        if status not in (200, 201):
            raise RuntimeError(f"company: {status} {body[:300]!r}")
        status, body = await pool.request(
            http_request(
                "POST", f"/v1/companies/{COMPANY}/api-keys", self.admin, {"role": "dashboard"}
            )
        )
        if status != 201:
            raise RuntimeError(f"api key: {status} {body[:300]!r}")
        service.token = json.loads(body)["key"]
        n = -(-self.plan.service_calls() // LIMIT) + 10
        ids = [f"r{i:06d}" for i in range(n)]
        reqs = [
            http_request("PUT", f"/v1/companies/{COMPANY}/reviews/{rid}", self.admin, BENCH_REVIEW)
            for rid in ids
        ]
        started = time.perf_counter()
        run = await run_calls(pool, reqs, 16)
        pool.close()
        if run.ok != n:
            raise RuntimeError(f"creating reviews: {run.statuses} {run.errors}")
        self.notes.append(
            f"setup: {n} reviews created through the API in {time.perf_counter() - started:.1f} s"
        )
        return Reviews(ids)

    # ---- measurements -----------------------------------------------------------------------

    async def overhead(self, target: Target, reviews: Reviews, res: Results) -> None:
        plan = self.plan
        pool = HttpPool(target.port, max(plan.overhead_concurrency, 4))
        await run_calls(pool, [target.generate(r) for r in reviews.take(plan.overhead_warmup)], 4)
        before = await self.stub_calls()
        res.seq = await run_calls(
            pool, [target.generate(r) for r in reviews.take(plan.overhead_latency)], 1
        )
        res.model_calls = (await self.stub_calls() - before) / max(1, res.seq.ok)
        res.par = await run_calls(
            pool,
            [target.generate(r) for r in reviews.take(plan.overhead_throughput)],
            plan.overhead_concurrency,
        )
        pool.close()
        for label, run in (("one at a time", res.seq), ("concurrent", res.par)):
            if run.describe_failures():
                self.notes.append(f"overhead {target.name} {label}: {run.describe_failures()}")

    async def streams(self, target: Target, reviews: Reviews, concurrency: int) -> StreamRun:
        pool = HttpPool(target.port, concurrency)
        accept = "text/event-stream"
        reqs = [target.generate(r, accept) for r in reviews.take(self.plan.streams_at(concurrency))]
        out = await run_streams(pool, reqs, concurrency)
        pool.close()
        if out.ok != out.total:
            self.notes.append(
                f"streams {target.name}: {out.ok}/{out.total} ended with a draft "
                f"(statuses {dict(out.statuses)})"
            )
        if out.statuses.get(201):
            self.notes.append(
                f"streams {target.name}: answered a stream with HTTP 201; the contract says 200"
            )
        return out

    def redis_client(self) -> redis.Redis:
        assert self.redis_url
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    @staticmethod
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
        self, target: Target, reviews: Reviews, prefix: str
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float], float]:
        """(commandstats delta, commands the app sent, commands run inside scripts, round trips)
        per call.

        commandstats counts every command the server ran, those inside scripts included; a
        MONITOR of the same calls tells the two apart (script commands show as ``[0 lua]``).
        Only MONITOR lines naming this run's key prefix count, so a shared Redis works too; the
        round trips (the server's read events) count every client's, so only a private Redis
        gives them exactly.
        """
        assert self.redis_url
        reqs = [target.generate(r) for r in reviews.take(self.plan.commands + 1)]
        pool = HttpPool(target.port, 1)
        await run_calls(pool, [reqs[0]], 1)  # connections and caches warm
        mon_path = self.tmp / f"monitor-{target.name}.txt"
        parts = self.redis_url.split("//", 1)[1].split("/", 1)[0]
        host, port = parts.rsplit("@", 1)[-1].rsplit(":", 1)
        with mon_path.open("wb") as out:
            monitor = subprocess.Popen(  # noqa: ASYNC220 - once, between measurements
                ["redis-cli", "-h", host, "-p", port, "monitor"],
                stdout=out,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            await asyncio.sleep(0.5)
            counter = self.redis_client()
            before, reads_before = self.server_counts(counter)
            run = await run_calls(pool, reqs[1:], 1)
            after, reads_after = self.server_counts(counter)
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

    # ---- the run ----------------------------------------------------------------------------

    def row(
        self,
        section: str,
        measure: str,
        values: dict[str, str],
        ratio: str = "",
        target: str = "",
        met: str = "",
    ) -> None:
        self.rows.append((section, measure, values, ratio, target, met))

    async def main(self) -> None:
        args, plan = self.args, self.plan
        self.start_redis()
        await self.start_stub()
        await self.configure_stub()
        service = await self.start_service()
        assert service.proc is not None
        rss_start = rss_mb(service.proc.pid)
        floor = await self.start_floor()
        reviews = await self.setup_api(service)
        floor_reviews = Reviews(prefix="f")
        targets = [service, floor]
        if plan.patches:
            patched_env = dict(item.partition("=")[::2] for item in args.patched_env)
            patched = await self.start_service(
                server="patched",
                name="service+patches",
                BENCH_PATCHES=",".join(plan.patches),
                **patched_env,
            )
            patched.token = service.token
            targets.append(patched)
        for http in plan.floor_http:
            targets.append(await self.start_floor(http))
        self.extra_columns = [t.name for t in targets[2:]]
        res = {t.name: Results() for t in targets}

        def review_source(t: Target) -> Reviews:
            return floor_reviews if t.is_floor else reviews

        print(f"bench: run {self.run_id}, logs in {self.tmp}", flush=True)

        # 1. overhead
        if "1" in plan.phases:
            print("bench: 1/6 overhead with a zero-latency model", flush=True)
            await self.configure_stub()
            for t in targets:
                await self.overhead(t, review_source(t), res[t.name])
            self._overhead_rows(res)

        # 2. concurrency
        if "2" in plan.phases:
            print(f"bench: 2/6 {plan.burst} calls at once with a 1 s model", flush=True)
            await self.configure_stub(ttft_ms=MODEL_LATENCY_S * 1000)
            for t in targets:
                await asyncio.sleep(1.0)
                reqs = [t.generate(r) for r in review_source(t).take(plan.burst)]
                res[t.name].burst = await burst(t.port, reqs)
                if res[t.name].burst.describe_failures():  # type: ignore[union-attr]
                    self.notes.append(
                        f"burst {t.name}: failures {res[t.name].burst.describe_failures()}"  # type: ignore[union-attr]
                    )
            self._burst_rows(res)
            if plan.default_pool_burst:
                await asyncio.sleep(1.0)
                default = await self.start_service(name="service-pool200")
                default.token = service.token
                d_burst = await burst(
                    default.port, [default.generate(r) for r in reviews.take(plan.burst)]
                )
                assert default.proc is not None
                self.stop(default.proc)
                self.row(
                    "",
                    "same burst, service with its default model pool (200 connections): "
                    "successes; wall s",
                    {"service": f"{d_burst.ok}/{plan.burst}; {d_burst.wall:.2f}"},
                )

        # 3. streaming
        if "3" in plan.phases:
            print("bench: 3/6 streaming", flush=True)
            await self.configure_stub(
                ttft_ms=20, tokens_per_s=args.stream_tps, tokens=args.stream_tokens, stamp=True
            )
            for c in plan.stream_concurrency:
                for t in targets:
                    res[t.name].streams[c] = await self.streams(t, review_source(t), c)
            self._stream_rows(res)

        # 4. Redis commands
        if "4" in plan.phases:
            print("bench: 4/6 Redis commands per call", flush=True)
            await self.configure_stub()
            s_all, s_top, s_lua, s_trips = await self.count_commands(service, reviews, self.prefix)
            f_all, f_top, f_lua, f_trips = await self.count_commands(
                floor, floor_reviews, self.floor_prefix
            )
            shared = " (shared Redis: others' commands too)" if args.redis_url else ""
            self.row(
                "4 Redis",
                f"commands per generate call, all (INFO commandstats){shared}",
                {"service": f"{sum(s_all.values()):.1f}", "floor": f"{sum(f_all.values()):.1f}"},
            )
            self.row(
                "",
                f"… sent by the app (MONITOR), in {s_trips:.2f} round trips (service) / "
                f"{f_trips:.2f} (floor) (INFO total_reads_processed)",
                {"service": f"{sum(s_top.values()):.1f}", "floor": f"{sum(f_top.values()):.1f}"},
                target="2 scripts + reads",
            )
            self.row(
                "",
                "… run inside Lua scripts",
                {"service": f"{sum(s_lua.values()):.1f}", "floor": f"{sum(f_lua.values()):.1f}"},
            )

            def fmt(d: dict[str, float]) -> str:
                return ", ".join(f"{k.upper()} {v:.2f}" for k, v in d.items())

            self.details.append(f"service, commands sent per generate call: {fmt(s_top)}")
            self.details.append(f"service, commands inside its scripts per call: {fmt(s_lua)}")
            self.details.append(f"floor, sent: {fmt(f_top)}; inside its script: {fmt(f_lua)}")

        # 5. memory
        if "5" in plan.phases:
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
            self.row(
                "5 memory", "RSS of the worker after start, MB", {"service": f"{rss_start:.0f}"}
            )
            self.row(
                "",
                f"RSS after phases 1–4 → after {mem.ok} more drafts, MB",
                {"service": f"{rss_before:.0f} → {rss_after:.0f}"},
            )
            self.row(
                "",
                f"throughput while making them ({plan.memory_concurrency} callers), calls/s",
                {"service": f"{mem.rps:.0f}"},
            )
            if mem.describe_failures():
                self.notes.append(f"memory run: failures {mem.describe_failures()}")
            count, total, longest = await self.gc_pauses(service)
            self.row(
                "",
                "full garbage collections over the run: count; longest (histogram bound), ms; "
                "all together, ms",
                {"service": f"{count}; ≤ {float(longest) * 1000:g}; {total * 1000:.1f}"},
            )

        for t in targets:
            if t.proc is not None:
                self.stop(t.proc)

        # 6. workers, and other servers
        if "6" in plan.phases:
            print("bench: 6/6 workers and servers", flush=True)
            await self.configure_stub()
            for n in plan.workers:
                target = await self.start_service(workers=n)
                target.token = service.token
                await self.workers_row(
                    target,
                    [target.generate(r) for r in reviews.take(plan.overhead_warmup)],
                    [target.generate(r) for r in reviews.take(plan.workers_calls)],
                    "6 workers" if n == plan.workers[0] else "",
                    f"{n} worker(s)",
                )
            if args.cluster:
                await self.cluster_workers()
            c_last = plan.stream_concurrency[-1]
            for i, server in enumerate(plan.servers):
                await self.configure_stub()
                target = await self.start_service(server=server)
                target.token = service.token
                r = Results()
                await self.overhead(target, reviews, r)
                await self.configure_stub(
                    ttft_ms=20, tokens_per_s=args.stream_tps, tokens=args.stream_tokens, stamp=True
                )
                st = await self.streams(target, reviews, c_last)
                assert target.proc is not None
                assert r.seq is not None
                assert r.par is not None
                self.stop(target.proc)
                self.row(
                    "7 servers" if i == 0 else "",
                    f"{server}: p50 / p99 ms one at a time; calls/s with "
                    f"{plan.overhead_concurrency} callers; stream p99 ms ({c_last} at a time)",
                    {
                        "service": f"{r.seq.p(0.5) * 1e3:.2f} / {r.seq.p(0.99) * 1e3:.2f}; "
                        f"{r.par.rps:.0f}; {pct(st.first_ms, 0.99):.2f}"
                    },
                )

    def _overhead_rows(self, res: dict[str, Results]) -> None:
        plan = self.plan
        floor = res["floor"]
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
            base = _base_floor(n, res)
            if base is not None:
                b50 = res[base].seq.p(0.5)  # type: ignore[union-attr]
                cell += f" ({r.seq.p(0.5) / b50:.2f}× {base})"
            cells[n] = cell
        self.row(
            "1 overhead",
            f"p50 latency, one call at a time (n={plan.overhead_latency}), ms",
            cells,
            f"{ratio:.2f}×",
            "≤ 1.5×",
            _met(ratio <= 1.5),
        )
        self.row(
            "",
            "p99 latency, one call at a time, ms",
            {n: f"{r.seq.p(0.99) * 1e3:.2f}" for n, r in res.items() if r.seq},
            f"{s.seq.p(0.99) / floor.seq.p(0.99):.2f}×",
        )
        self.row(
            "",
            f"throughput with {plan.overhead_concurrency} callers "
            f"(n={plan.overhead_throughput}), calls/s",
            {n: f"{r.par.rps:.0f}" for n, r in res.items() if r.par},
            f"{s.par.rps / floor.par.rps:.2f}×",
        )
        self.row(
            "",
            f"p50 / p99 latency with {plan.overhead_concurrency} callers, ms",
            {
                n: f"{r.par.p(0.5) * 1e3:.1f} / {r.par.p(0.99) * 1e3:.1f}"
                for n, r in res.items()
                if r.par
            },
        )
        self.row(
            "",
            "model calls per generate call",
            {n: f"{r.model_calls:.2f}" for n, r in res.items()},
        )

    def _burst_rows(self, res: dict[str, Results]) -> None:
        plan = self.plan
        runs = {n: r.burst for n, r in res.items() if r.burst is not None}
        above = {n: r.wall - MODEL_LATENCY_S for n, r in runs.items()}
        s_ok = runs["service"].ok == plan.burst
        ratio = above["service"] / above["floor"] if above["floor"] > 0 else float("inf")
        self.row(
            "2 concurrency",
            f"{plan.burst} calls in flight at once ({plan.burst // LIMIT} reviews × {LIMIT}), "
            "model 1 s: successes",
            {n: f"{r.ok}/{plan.burst}" for n, r in runs.items()},
            "",
            "all",
            _met(s_ok),
        )
        self.row("", "wall time of the burst, s", {n: f"{r.wall:.2f}" for n, r in runs.items()})
        cells = {}
        for n, a in above.items():
            cells[n] = f"{a:.2f}"
            base = _base_floor(n, res)
            if base is not None and above[base] > 0:
                cells[n] += f" ({a / above[base]:.2f}× {base})"
        self.row(
            "",
            "time above the model's 1 s, s",
            cells,
            f"{ratio:.2f}×",
            "≤ 1.5×",
            _met(ratio <= 1.5 and s_ok),
        )
        self.row(
            "",
            "per-call latency p50 / p99, s",
            {n: f"{r.p(0.5):.2f} / {r.p(0.99):.2f}" for n, r in runs.items()},
        )

    def _stream_rows(self, res: dict[str, Results]) -> None:
        plan = self.plan
        for c in plan.stream_concurrency:
            s = res["service"].streams[c]
            p99 = pct(s.first_ms, 0.99)
            self.row(
                "3 streaming" if c == plan.stream_concurrency[0] else "",
                f"model's first token → client's first delta, {c} stream(s) at a time "
                f"(n={plan.streams_at(c)}), p50 / p99 ms",
                {
                    n: f"{pct(r.streams[c].first_ms, 0.5):.2f} / "
                    f"{pct(r.streams[c].first_ms, 0.99):.2f}"
                    for n, r in res.items()
                },
                "",
                "p99 ≤ 10 ms",
                _met(p99 <= 10 and s.ok == s.total),
            )

    # ---- output -----------------------------------------------------------------------------

    def table(self) -> str:
        header = ["", "measure", "service", "floor", "service ÷ floor", "target", "met"]
        header += self.extra_columns
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for section, measure, values, ratio, target, met in self.rows:
            cells = [section, measure, values.get("service", ""), values.get("floor", "")]
            cells += [ratio, target, met]
            cells += [values.get(c, "") for c in self.extra_columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def machine(self) -> str:
        cpu = "?"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        versions = []
        for pkg in ("litestar", "uvicorn", "uvloop", "redis", "hiredis", "openai", "httpx"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions.append(f"{pkg} {metadata.version(pkg)}")
        for pkg in ("httpx2", "aiohttp", "granian"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions.append(f"{pkg} {metadata.version(pkg)}")
        elapsed = time.monotonic() - self.started_at
        busy = _cpu_busy_s() - self.busy_at_start
        own = _own_cpu_s() - self.own_at_start
        cores = len(os.sched_getaffinity(0))
        other = max(0.0, busy - own)
        return (
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
            f"- machine: nproc {cores} ({os.cpu_count()} CPUs), {cpu}, "
            f"{platform.system()} {platform.release()}\n"
            f"- Python {platform.python_version()}, Redis {self.redis_version}, "
            + ", ".join(versions)
            + "\n"
            f"- command: `python bench/run.py {' '.join(sys.argv[1:])}`; run took {elapsed:.0f} s\n"
            f"- CPU: the bench and its processes used {own:.0f} core-s; other processes on the "
            f"machine used {other:.0f} core-s ({other / max(1e-9, elapsed * cores):.0%} of its "
            f"{cores} cores; load average {self.load_at_start} at the start)"
        )

    def report(self) -> str:
        parts = ["# reply-assist benchmark results", "", self.machine(), "", self.table(), ""]
        parts += [f"- {d}" for d in self.details]
        parts += [f"- {n}" for n in dict.fromkeys(self.notes)]
        return "\n".join(parts) + "\n"

    async def cleanup(self) -> None:
        for proc in reversed(list(self.procs)):
            proc.stop()
        self.procs.clear()
        if self.args.redis_url:  # a shared Redis: delete only this run's keys
            client = self.redis_client()
            try:
                for pattern in (f"{self.prefix}*", f"{self.floor_prefix}*"):
                    batch = list(client.scan_iter(match=pattern, count=1000))
                    for i in range(0, len(batch), 500):
                        client.delete(*batch[i : i + 500])
            finally:
                client.close()
        if not self.args.keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _base_floor(name: str, res: dict[str, Results]) -> str | None:
    """The floor an extra column is compared with: the patched service (whose model client is
    aiohttp) with the aiohttp floor when there is one; nothing for the main two columns."""
    if name in ("service", "floor") or name.startswith("floor"):
        return None
    return "floor (aiohttp)" if "floor (aiohttp)" in res else "floor"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _with_default_server(servers: list[str]) -> list[str]:
    """The servers to compare in phase 7: the default (uvicorn) first whenever others are."""
    return ["uvicorn", *(s for s in servers if s != "uvicorn")] if servers else []


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    floor_http = args.floor_http
    if floor_http is None:
        floor_http = "aiohttp" if _has("aiohttp") else ""
    return Plan(
        overhead_warmup=100 if quick else 200,
        overhead_latency=args.n or (300 if quick else 2000),
        overhead_throughput=args.n or (500 if quick else 2000),
        overhead_concurrency=args.concurrency,
        burst=args.burst or (300 if quick else 1000),
        stream=100 if quick else 200,
        stream_concurrency=[1, 16],
        commands=50 if quick else 200,
        memory=args.drafts or (1000 if quick else 10_000),
        memory_concurrency=32,
        workers=[int(w) for w in args.workers.split(",") if w],
        workers_calls=500 if quick else 2000,
        workers_concurrency=64,
        # Other servers are compared with the default one measured in the same phase, not with
        # phase 1's numbers, which were taken minutes earlier on a machine that may differ.
        servers=_with_default_server([s for s in args.servers.split(",") if s]),
        floor_http=[h for h in floor_http.split(",") if h],
        patches=[p for p in args.patches.split(",") if p],
        default_pool_burst=args.default_pool_burst,
        phases=args.phases,
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smaller counts, same table (~1 min)")
    p.add_argument("--n", type=int, default=0, help="calls per overhead measurement (2000)")
    p.add_argument("--concurrency", type=int, default=32, help="callers for throughput (32)")
    p.add_argument("--burst", type=int, default=0, help="calls in the burst (1000)")
    p.add_argument("--drafts", type=int, default=0, help="drafts for the memory phase (10000)")
    p.add_argument("--workers", default="1,2,4", help="worker counts to compare (1,2,4)")
    p.add_argument(
        "--servers",
        default="",
        help="compare these with uvicorn (the default) in phase 7: uvicorn-asyncio,granian",
    )
    p.add_argument(
        "--floor-http",
        default=None,
        help="extra floors with another SDK transport: httpx2,aiohttp (aiohttp if installed)",
    )
    p.add_argument(
        "--patches",
        default="",
        help="also measure the service with bench/patched_app.py's patches, e.g. "
        "aiohttp,quietlogs,lingua,leakcache",
    )
    p.add_argument(
        "--default-pool-burst",
        action="store_true",
        help="also burst a service with its default model pool (200 connections)",
    )
    p.add_argument("--phases", default="123456", help="which phases to run (123456)")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="phase 6 also on a three-master Redis Cluster started on loopback",
    )
    p.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the service (and the patched one); repeatable",
    )
    p.add_argument(
        "--patched-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the patched service only; repeatable",
    )
    p.add_argument("--tokens", type=int, default=60, help="completion length of the stub (60)")
    p.add_argument("--stream-tps", type=float, default=200.0, help="stub tokens/s, streaming")
    p.add_argument("--stream-tokens", type=int, default=20, help="stub tokens, streaming (20)")
    p.add_argument("--llm-connections", type=int, default=1000, help="model pool, every app")
    p.add_argument("--redis-connections", type=int, default=64, help="Redis pool, every app")
    p.add_argument("--redis-url", default=None, help="use this Redis instead of a private one")
    p.add_argument("--timeout", type=float, default=1800, help="give up after this many s")
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    p.add_argument("--output", default=str(BENCH_DIR / "results.md"))
    return p.parse_args(argv)


async def _amain(args: argparse.Namespace) -> int:
    bench = Bench(args, make_plan(args))
    try:
        async with asyncio.timeout(args.timeout):
            await bench.main()
    except BaseException as exc:
        print(f"bench: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for proc in bench.procs:
            if not proc.alive():
                print(f"--- {proc.name}\n{proc.tail()}", file=sys.stderr)
        args.keep_logs = True
        print(f"bench: logs kept in {bench.tmp}", file=sys.stderr)
        await bench.cleanup()
        if isinstance(exc, Exception):
            return 1
        raise
    await bench.cleanup()
    report = bench.report()
    print()
    print(report)
    Path(args.output).write_text(report)  # noqa: ASYNC240 - once, at the end
    print(f"bench: written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_amain(args))
    return uvloop.run(_amain(args))


if __name__ == "__main__":
    sys.exit(main())

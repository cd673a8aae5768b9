"""The bench itself: the processes it starts, setup through the API, the table and the report.
Each phase lives in ``phases/`` and adds its rows with ``Bench.row``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from harness.constants import (
    BENCH_COMPANY,
    BENCH_DIR,
    BENCH_REVIEW,
    COMPANY,
    LIMIT,
    OTHER_COMPANY,
    ROOT,
)
from harness.http import HttpError, HttpPool, http_request, run_calls
from harness.model import Plan, Results, Reviews, Target
from harness.procs import Proc, free_port


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
        self.sections: list[str] = []  # whole tables of their own (the soak's), after the notes
        self.started_at = time.monotonic()
        self.busy_at_start = _cpu_busy_s()
        self.own_at_start = _own_cpu_s()
        self.load_at_start = Path("/proc/loadavg").read_text().split()[0]

    # ---- processes -------------------------------------------------------------------------

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> Proc:
        full_env = {**os.environ, **(env or {})}
        proc = Proc(name, argv, full_env, self.tmp, cwd)
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
            # The whole pool for the bench's one company, as the floors have: the service gives
            # a lone company the whole pool anyway, the code before (--baseline) did not. Phase 2
            # also measures the default pool and share; tests/integration/test_model_sharing.py
            # tests the share left to other companies.
            "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY": str(self.args.llm_connections),
            "REPLY_ASSIST_REDIS_MAX_CONNECTIONS": str(self.args.redis_connections),
        }
        for item in self.args.service_env:
            name, _, value = item.partition("=")
            env[name] = value
        env.update(extra)
        return env

    async def start_service(
        self,
        server: str = "uvicorn",
        workers: int = 1,
        name: str = "service",
        code: Path | None = None,
        **env: str,
    ) -> Target:
        """Start the service; ``code`` runs another checkout's ``reply_assist`` (``--baseline``)
        with the same installed libraries."""
        port = free_port()
        if code is not None:
            env = {**env, "PYTHONPATH": str(code)}
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
        proc = self.start(
            f"{name}-{server}-w{workers}-{port}", argv, self.service_env(**env), code or ROOT
        )
        await self.wait_http(proc, port)
        if workers > 1:  # let every worker finish its start before measuring
            await asyncio.sleep(2.0)
        return Target(name, port, None, proc)

    async def start_floor(self, http: str = "httpx", connections: int | None = None) -> Target:
        """A floor; ``connections``: its model pool, when not ``--llm-connections``."""
        assert self.redis_url
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(BENCH_DIR)]
        argv += ["floor_app:create_app", "--port", str(port), "--log-level", "warning"]
        argv += ["--no-access-log"]
        env = {
            "FLOOR_REDIS_URL": self.redis_url,
            "FLOOR_PREFIX": self.floor_prefix,
            "FLOOR_REDIS_CONNECTIONS": str(self.args.redis_connections),
            "FLOOR_LLM_CONNECTIONS": str(connections or self.args.llm_connections),
            "FLOOR_HTTP": http,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{self.stub_port}/v1",
        }
        name = "floor" if http == "httpx" else f"floor ({http})"
        if connections:
            name += f", {connections} connections"
        proc = self.start(f"floor-{http}-{connections or ''}", argv, env)
        await self.wait_http(proc, port)
        return Target(name, port, None, proc)

    # ---- setup through the API --------------------------------------------------------------

    async def new_key(self, service: Target) -> str:
        """A new API key (role dashboard) of the bench company, made by ``service``."""
        pool = HttpPool(service.port, 1)
        try:
            status, body = await pool.request(
                http_request(
                    "POST", f"/v1/companies/{COMPANY}/api-keys", self.admin, {"role": "dashboard"}
                )
            )
        finally:
            pool.close()
        if status != 201:
            raise RuntimeError(f"api key: {status} {body[:300]!r}")
        return str(json.loads(body)["key"])

    async def setup_api(self, service: Target) -> Reviews:
        pool = HttpPool(service.port, 16)
        company = dict(BENCH_COMPANY)
        if self.args.allowance is not None:
            # Every generate call then holds and uses one of the month's drafts in its Lua
            # steps (services/usage.py): the allowance's cost on the hot path, measured.
            company["monthly_draft_allowance"] = self.args.allowance
            self.notes.append(
                f"setup: the company's monthly_draft_allowance is {self.args.allowance}"
            )
        status, body = await pool.request(
            http_request("PUT", f"/v1/companies/{COMPANY}", self.admin, company)
        )
        if status not in (200, 201):
            raise RuntimeError(f"company: {status} {body[:300]!r}")
        service.token = await self.new_key(service)
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

    async def other_company(self, service: Target) -> tuple[str, Reviews]:
        """A second company (``OTHER_COMPANY``), its key and a few reviews, made by ``service``."""
        pool = HttpPool(service.port, 4)
        try:
            path = f"/v1/companies/{OTHER_COMPANY}"
            await self.expect(pool, "PUT", path, BENCH_COMPANY, (200, 201))
            key = await self.expect(pool, "POST", f"{path}/api-keys", {"role": "dashboard"}, (201,))
            ids = [f"o{i:04d}" for i in range(20)]
            for rid in ids:
                await self.expect(pool, "PUT", f"{path}/reviews/{rid}", BENCH_REVIEW, (200, 201))
        finally:
            pool.close()
        return str(json.loads(key)["key"]), Reviews(ids)

    def redis_client(self) -> redis.Redis:
        assert self.redis_url
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

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
        parts += ["", *self.sections] if self.sections else []
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


def base_floor(name: str, res: dict[str, Results]) -> str | None:
    """The floor a service column is compared with: the aiohttp floor when there is one (the
    service's model client is aiohttp too), which is also what the targets are set against."""
    if name.startswith("floor"):
        return None
    if "floor (aiohttp)" in res:
        return "floor (aiohttp)"
    return None if name == "service" else "floor"


def target_floor(res: dict[str, Results]) -> str:
    """The floor the targets are measured against: aiohttp's when it ran."""
    return "floor (aiohttp)" if "floor (aiohttp)" in res else "floor"


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


@dataclass
class Ctx:
    """What the phases share: the service and the floors started once, their review ids and
    their results so far."""

    service: Target
    floor: Target
    targets: list[Target]
    reviews: Reviews
    floor_reviews: Reviews
    res: dict[str, Results]
    rss_start: float

    def source(self, target: Target) -> Reviews:
        return self.floor_reviews if target.is_floor else self.reviews

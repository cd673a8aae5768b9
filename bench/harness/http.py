"""A small HTTP/1.1 client: keep-alive, Content-Length and chunked bodies. It costs the load
generator far less CPU than httpx, and on 2 cores the load generator shares the CPU with the
processes it measures. And the runs it makes: calls, bursts, streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


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

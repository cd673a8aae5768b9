"""`reply-assist serve` as a person runs it: the address it logs, a port that is taken, slow
clients that never finish their request head, a connection cap, and forked workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, REDIS_URL

pytestmark = pytest.mark.slow


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log
        self.url = ""

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.lines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_for(self, event: str, count: int = 1, timeout: float = 60) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e.get("event") == event]
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} × {event!r} in:\n" + "\n".join(self.lines()[-20:]))

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()]


@pytest.fixture
def launch(tmp_path: Path, prefix: str) -> Iterator[object]:
    started: list[Served] = []

    def _launch(*args: str, env: dict[str, str] | None = None) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        full_env = {
            **os.environ,
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
            "REPLY_ASSIST_LOG_FORMAT": "json",
            "REPLY_ASSIST_REDIS_PREFIX": prefix,
            "REPLY_ASSIST_TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),
            **(env or {}),
        }
        full_env.pop("OPENAI_API_KEY", None)
        full_env.pop("OPENAI_BASE_URL", None)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reply_assist.cli", "serve", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
            )
        served = Served(proc, log)
        started.append(served)
        return served

    yield _launch
    for served in started:
        if served.proc.poll() is None:
            served.proc.send_signal(signal.SIGTERM)
            try:
                served.proc.wait(20)
            except subprocess.TimeoutExpired:
                served.proc.kill()
                served.proc.wait(5)


def _ready(served: Served, workers: int = 1) -> str:
    listening = served.wait_for("listening")[0]
    served.wait_for("started", count=workers)
    served.url = str(listening["url"])
    return served.url


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_serve_logs_the_address_it_listens_on(launch) -> None:  # type: ignore[no-untyped-def]
    served = launch("--port", "0")
    url = _ready(served)
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith(":0")
    assert httpx.get(f"{url}/healthz").status_code == 200
    events = [e["event"] for e in served.events()]
    assert events.index("listening") < events.index("started")


def test_a_taken_port_is_one_line_and_no_start(launch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = launch("--port", str(port))
        assert served.proc.wait(30) == 1
    lines = served.lines()
    assert lines == [
        f"reply-assist: 127.0.0.1:{port} is already in use by another process; "
        "stop it or choose another --port"
    ]


def test_a_request_head_not_finished_in_time_is_closed(launch) -> None:  # type: ignore[no-untyped-def]
    url = _ready(launch("--port", "0", "--head-timeout", "0.5"))
    half = _raw(url)
    silent = _raw(url)
    started = time.monotonic()
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-")
    answer = _read_all(half)  # returns when the server closes the connection
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 0.4 < waited < 5
    assert _read_all(silent).startswith(b"HTTP/1.1 408 ")  # one that sent nothing at all
    half.close()
    silent.close()
    # A client that finishes its heads in time is served, and on a kept-alive connection the
    # deadline starts again with each request.
    ok = _raw(url)
    for _ in range(2):
        ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        response = b""
        while not response.endswith(b"}"):
            response += ok.recv(4096)
        assert response.startswith(b"HTTP/1.1 200 ")
        time.sleep(0.3)
    ok.close()


def test_a_process_holds_at_most_max_connections(launch) -> None:  # type: ignore[no-untyped-def]
    url = _ready(launch("--port", "0", "--max-connections", "3", "--head-timeout", "60"))
    held = [_raw(url) for _ in range(3)]
    time.sleep(0.5)  # accepted by the server
    extra = _raw(url)
    extra.settimeout(5)
    started = time.monotonic()
    try:
        closed = extra.recv(1) == b""
    except ConnectionResetError:
        closed = True
    extra.close()
    assert closed
    assert time.monotonic() - started < 2  # at once, not after the head timeout
    # The held ones still work, and a freed place is taken again.
    held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _read_all(held[0]).startswith(b"HTTP/1.1 200 ")
    held[0].close()
    time.sleep(0.3)
    assert httpx.get(f"{url}/healthz").status_code == 200
    for sock in held[1:]:
        sock.close()


def test_workers_are_forked_from_one_parent_that_restarts_them(launch) -> None:  # type: ignore[no-untyped-def]
    served = launch("--port", "0", "--workers", "2", env={"REPLY_ASSIST_REDIS_URL": REDIS_URL})
    url = _ready(served, workers=2)
    workers = served.children()
    assert len(workers) == 2
    for pid in workers:  # forked, not spawned: the worker runs the parent's program
        assert (
            Path(f"/proc/{pid}/cmdline").read_bytes()
            == Path(f"/proc/{served.proc.pid}/cmdline").read_bytes()
        )
    os.kill(workers[0], signal.SIGKILL)
    served.wait_for("worker_restarted")
    served.wait_for("started", count=3)
    assert len(served.children()) == 2
    assert workers[0] not in served.children()
    assert httpx.get(f"{url}/healthz").status_code == 200
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0


def test_a_small_answer_comes_in_one_piece(launch) -> None:  # type: ignore[no-untyped-def]
    # The head and the body are written together: a client's first read holds the whole answer
    # (uvicorn alone writes them apart, two segments and two wake-ups for every JSON answer).
    url = _ready(launch("--port", "0"))
    with _raw(url) as sock:
        for _ in range(20):  # kept alive: every answer on the connection, not only the first
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            first = sock.recv(65536)
            head, _, body = first.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            assert len(body) == length > 0

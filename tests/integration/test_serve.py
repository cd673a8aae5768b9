"""`reply-assist serve` as a person runs it: the address it logs, a port that is taken, slow
clients that never finish their request head or body, a connection cap that health checks get
through, forked workers, and proxies."""

from __future__ import annotations

import contextlib
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
        """Every JSON log line; two workers' lines written at once can share a line."""
        decoder = json.JSONDecoder()
        out = []
        for line in self.lines():
            at = 0
            while line.startswith("{", at):
                try:
                    event, at = decoder.raw_decode(line, at)
                except json.JSONDecodeError:
                    break  # a line still being written
                out.append(event)
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
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")
            },
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
            "REPLY_ASSIST_LOG_FORMAT": "json",
            "REPLY_ASSIST_REDIS_PREFIX": prefix,
            "REPLY_ASSIST_TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),
            **(env or {}),
        }
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


def _closed(sock: socket.socket, timeout: float = 5) -> bytes | None:
    """What the server sent before it closed the connection; None while it stays open."""
    sock.settimeout(timeout)
    try:
        return _read_all(sock)
    except ConnectionResetError:
        return b""
    except TimeoutError:
        return None


def test_at_the_cap_the_connection_waiting_longest_makes_room(launch) -> None:  # type: ignore[no-untyped-def]
    url = _ready(launch("--port", "0", "--max-connections", "3", "--head-timeout", "60"))
    held = [_raw(url) for _ in range(3)]
    time.sleep(0.5)  # accepted by the server
    held[1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-")  # in the middle of a head
    # A new client is served at once: the oldest connection, idle, is closed without a word.
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    assert _closed(held[0]) == b""
    held.append(_raw(url))  # at the cap again (that client has gone)
    time.sleep(0.3)
    # The next one closes the next oldest, which was in the middle of a request: it is told.
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    answer = _closed(held[1])
    assert answer is not None and answer.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in answer.lower()
    # The younger ones are untouched and still work.
    for sock in held[2:]:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")
    for sock in held:
        sock.close()


@pytest.fixture
def unanswering_model() -> Iterator[str]:
    """A model endpoint that accepts connections and never answers (/readyz probes it for 3 s)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(100)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


def test_when_every_connection_is_busy_health_checks_still_get_through(  # type: ignore[no-untyped-def]
    launch, unanswering_model: str
) -> None:
    served = launch(
        "--port",
        "0",
        "--max-connections",
        "3",
        env={"OPENAI_BASE_URL": unanswering_model, "REPLY_ASSIST_MODEL": "m"},
    )
    url = _ready(served)
    # Three requests being served (each /readyz waits up to 3 s for the model): nothing to evict.
    busy = [_raw(url) for _ in range(3)]
    for sock in busy:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    started = time.monotonic()
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    other = httpx.get(f"{url}/v1/companies/acme", timeout=5)
    assert time.monotonic() - started < 2  # answered, not queued behind the busy ones
    assert other.status_code == 503
    assert other.headers["retry-after"] == "1"
    # The reserve is a few connections: past it (all busy too), a new one is refused at once.
    reserve = []
    for _ in range(8):  # each sends its request at once (an idle one would make room)
        reserve.append(_raw(url))
        reserve[-1].sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.02)
    time.sleep(0.3)
    extra = _raw(url)
    assert _closed(extra, timeout=2) == b""
    for sock in [*busy, *reserve, extra]:
        sock.close()


def test_a_request_body_not_finished_in_time_is_closed(launch) -> None:  # type: ignore[no-untyped-def]
    served = launch("--port", "0", "--body-timeout", "0.5", "--head-timeout", "60")
    url = _ready(served)
    trickling = _raw(url)
    trickling.sendall(
        b"POST /desk/sign-in HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nk"
    )
    started = time.monotonic()
    trickling.settimeout(0.1)
    answer = b""
    while time.monotonic() - started < 10:  # a byte every 0.1 s: steady, but not in time
        try:
            trickling.sendall(b"e")
            chunk = trickling.recv(4096)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        if not chunk:
            break
        answer += chunk
    waited = time.monotonic() - started
    trickling.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert 0.4 < waited < 5  # from the end of the head, however steadily the body came
    logged = [e for e in served.events() if e.get("event") == "request"]
    assert logged[-1]["path"] == "/desk/sign-in"
    assert logged[-1]["status"] == 408
    # Bodies that arrive in time are read, and each request on a kept-alive connection has
    # its own deadline.
    ok = _raw(url)
    for _ in range(3):
        ok.sendall(
            b"PUT /v1/companies/acme HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + ADMIN_TOKEN.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
        )
        time.sleep(0.3)
        ok.sendall(b" " * 199)
        response = b""
        while b"\r\n\r\n" not in response or not response.endswith(b"}"):
            response += ok.recv(4096)
        assert response.startswith(b"HTTP/1.1 400 ")  # read whole, and found not a company
    ok.close()


def test_connections_trickling_bodies_cannot_keep_new_clients_out(launch) -> None:  # type: ignore[no-untyped-def]
    # The attack: every connection of the cap sends a complete head and then a byte of its
    # body every so often, far inside the body deadline. New clients still get in.
    # (The default body deadline, 30 s, is far longer than this test.)
    url = _ready(launch("--port", "0", "--max-connections", "40"))
    attackers = [_raw(url) for _ in range(40)]
    for sock in attackers:
        sock.sendall(
            b"POST /desk/sign-in HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 60000\r\n\r\nk"
        )
    for _ in range(3):  # keep trickling, each connection a byte at a time
        time.sleep(0.3)
        for sock in attackers:
            with contextlib.suppress(OSError):
                sock.sendall(b"e")
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=5) as probe, httpx.Client(base_url=url) as person:
        assert probe.get("/healthz").status_code == 200
        assert person.get("/desk/sign-in").status_code == 200  # both connections kept open
        assert time.monotonic() - started < 3
    # Each new client took the place of the longest-waiting attacker, which was told 503.
    answers = [_closed(sock, timeout=0.2) for sock in attackers[:2]]
    assert all(a is not None and a.startswith(b"HTTP/1.1 503 ") for a in answers), answers
    assert all(_closed(sock, timeout=0.05) is None for sock in attackers[2:])
    for sock in attackers:
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


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_workers_stop_when_their_parent_is_killed(launch) -> None:  # type: ignore[no-untyped-def]
    served = launch("--port", "0", "--workers", "2", env={"REPLY_ASSIST_REDIS_URL": REDIS_URL})
    url = _ready(served, workers=2)
    workers = served.children()
    assert len(workers) == 2
    try:
        served.proc.kill()  # SIGKILL: the parent runs no code of its own on the way out
        served.proc.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_running(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers)
        # Nobody serves on the port any more, and it can be listened on again.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind((host, int(port)))
            again.listen()
    finally:
        for pid in workers:  # orphans of a failed run must not outlive the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _sign_in_through_a_proxy(url: str) -> httpx.Response:
    """The desk's sign-in as an HTTPS proxy at 127.0.0.2 (not 127.0.0.1) passes it on."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=url, transport=transport, timeout=10) as proxy:
        return proxy.post(
            "/desk/sign-in",
            data={"key": ADMIN_TOKEN},
            headers={
                "Host": "desk.example",
                "Origin": "https://desk.example",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": "203.0.113.9",
            },
        )


def test_behind_a_trusted_https_proxy_the_desk_signs_in_with_a_secure_cookie(launch) -> None:  # type: ignore[no-untyped-def]
    # Not trusted (the default trusts 127.0.0.1 only): the origin looks like http://, which
    # is not the page's https:// origin, so the sign-in is refused as cross-site.
    refused = _sign_in_through_a_proxy(_ready(launch("--port", "0")))
    assert refused.status_code == 403
    assert "csrf_failed" in refused.text or "another site" in refused.text
    for served in (
        launch("--port", "0", "--forwarded-allow-ips", "127.0.0.2"),
        launch("--port", "0", env={"FORWARDED_ALLOW_IPS": "127.0.0.0/29"}),
    ):
        signed_in = _sign_in_through_a_proxy(_ready(served))
        assert signed_in.status_code == 303, signed_in.text
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("ra_desk=")
        assert "secure" in cookie.lower().split("; ")


def test_failed_sign_ins_are_counted_per_client_the_trusted_proxy_names(launch) -> None:  # type: ignore[no-untyped-def]
    url = _ready(
        launch(
            "--port",
            "0",
            "--forwarded-allow-ips",
            "127.0.0.2",
            env={"REPLY_ASSIST_AUTH_FAILURE_LIMIT": "2"},
        )
    )
    wrong = {"Authorization": "Bearer rak_acme_" + "x" * 43}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def call(source: str, forwarded_for: str, headers: dict[str, str]) -> int:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(base_url=url, transport=transport, timeout=10) as http:
            sent = {**headers, "X-Forwarded-For": forwarded_for}
            return http.get("/v1/feedback/stats", headers=sent).status_code

    assert [call("127.0.0.2", "203.0.113.1", wrong) for _ in range(3)] == [401, 401, 429]
    assert call("127.0.0.2", "203.0.113.1", admin) == 429  # that client is blocked
    assert call("127.0.0.2", "203.0.113.2", admin) == 200  # another one behind the proxy is not
    # A client that is not the trusted proxy cannot choose whom it is counted as.
    assert [call("127.0.0.3", "203.0.113.2", wrong) for _ in range(3)] == [401, 401, 429]
    assert call("127.0.0.2", "203.0.113.2", admin) == 200


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

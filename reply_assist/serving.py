"""How ``reply-assist serve`` runs the app: bind first, load once, then fork the workers.

* **Bind first.** The listening socket is opened before anything else happens, so a port that is
  taken is one line and exit status 1, never a ``started`` line followed by a traceback.
* **Load once, share by fork.** The parent imports everything, builds the app, loads what is
  read-only for the life of the process (language profiles, the tokenizer's BPE ranks, the
  prompts), moves it all out of the garbage collector's sight (``gc.freeze``) and then forks the
  workers. They share those pages copy-on-write instead of holding a private copy each (uvicorn's
  own ``--workers`` spawns fresh interpreters: four workers were four full copies). Clients
  (Redis, the model's HTTP pool) are made after the fork, in each worker's lifespan: a
  connection must never be shared between processes. With one worker the parent serves itself.
* **Slow clients cannot hold the process.** Request heads and bodies have deadlines, and a
  process holds at most ``max_connections`` connections, evicting the one that has waited
  longest on its client to take a new one, with a few more kept for health checks
  (``connection_guard``).
* **Proxies.** ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed from the addresses in
  ``forwarded_allow_ips`` only (uvicorn's semantics), so that behind an HTTPS proxy the desk
  knows its own origin and the client's address.

The parent restarts a worker that dies, and on SIGTERM or SIGINT asks every worker to finish its
requests (uvicorn's graceful shutdown) before it exits. A worker whose parent dies (``kill -9``
included) is sent SIGTERM by the kernel and stops the same way, so no orphan keeps the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn

from reply_assist.connection_guard import ConnectionLimits, guarded_protocol

__all__ = [
    "BindError",
    "ServeOptions",
    "bind",
    "preload",
    "serve",
]

log = structlog.get_logger("reply_assist.serve")

_BACKLOG = 2048
_GRACEFUL_SHUTDOWN_S = 30
# A worker that dies this many times within the window is not restarted again: something is
# wrong with every start (Redis refusing us would not be it: workers start without Redis).
_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 60.0
# File descriptors a worker needs besides its clients' connections: Redis and model pools, logs.
_FD_HEADROOM = 512


class BindError(Exception):
    """The address cannot be listened on; the message is one line for the operator."""


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    head_timeout_s: float
    max_connections: int
    body_timeout_s: float = 30.0
    # uvicorn's --forwarded-allow-ips: addresses, networks or "*" whose X-Forwarded-* is believed
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            head_timeout_s=self.head_timeout_s,
            body_timeout_s=self.body_timeout_s,
            max_connections=self.max_connections,
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or ``BindError`` saying why not in one line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(
                f"{host}:{port} is already in use by another process; stop it or choose "
                "another --port"
            ) from None
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _allow_file_descriptors(max_connections: int) -> None:
    """Raise the soft descriptor limit toward the hard one so the cap, not the OS, decides."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + _FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        if new_soft < wanted:
            log.warning(
                "file_descriptor_limit_low",
                limit=new_soft,
                max_connections=max_connections,
                hint="raise `ulimit -n` or lower --max-connections",
            )


def preload(settings: Any) -> None:
    """Load, in this process, everything read-only that a worker would otherwise load itself."""
    from reply_assist.drafting import language
    from reply_assist.drafting.prompting import PromptLibrary, default_prompts_dir
    from reply_assist.drafting.tokens import TokenCounter

    language.ensure_loaded()
    TokenCounter.for_model(settings.model, settings.tiktoken_cache_dir)
    PromptLibrary.load(settings.prompts_dir or default_prompts_dir(), settings.prompt_version)


def _worker(app: Any, sock: socket.socket, options: ServeOptions) -> None:
    config = uvicorn.Config(
        app,
        http=guarded_protocol(options.limits),
        log_level="warning",  # the service writes its own access log, with request ids
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=options.forwarded_allow_ips,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(app: Any, sock: socket.socket, options: ServeOptions) -> int:
    """Serve ``app`` (built and preloaded by the caller) on ``sock``; returns the exit status."""
    _allow_file_descriptors(options.max_connections)
    log.info(
        "listening",
        url=url_of(sock),
        workers=options.workers,
        head_timeout_s=options.head_timeout_s,
        body_timeout_s=options.body_timeout_s,
        max_connections=options.max_connections,
        forwarded_allow_ips=options.forwarded_allow_ips,
    )
    # The logging configuration is final in a served process: let each logger build its chain
    # of processors once, at its first line, instead of at every line (structlog's advice for
    # production; tests reconfigure logging between apps, so create_app cannot do it).
    structlog.configure(cache_logger_on_first_use=True)
    # Everything alive now lives as long as the process: never scan it again, and never touch
    # its pages (a collection writes to every object it visits, which would copy the page).
    gc.collect()
    gc.freeze()
    if options.workers == 1:
        _worker(app, sock, options)
        return 0
    return _Supervisor(lambda: _worker(app, sock, options), options.workers).run()


def _stop_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies, however it dies.

    Without it, ``kill -9`` of the parent left the workers serving, reparented to init, with
    the port still taken and nobody to stop or restart them. SIGTERM is the graceful stop the
    parent would have asked for: the listening socket is closed at once, requests in flight
    finish. (Linux's ``PR_SET_PDEATHSIG``; elsewhere workers outlive a killed parent as before.)
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("parent_death_signal_failed", errno=ctypes.get_errno())
        return
    if os.getppid() != parent:  # the parent died before the request above: stop now
        os.kill(os.getpid(), signal.SIGTERM)


class _Supervisor:
    """Forks the workers, restarts one that dies, and stops them all on SIGTERM or SIGINT."""

    def __init__(self, target: Callable[[], None], workers: int) -> None:
        self._target = target
        self._workers = workers
        self._children: dict[int, int] = {}
        self._stopping = False
        self._restarts: list[float] = []
        self._status = 0

    def _fork(self, index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _stop_with_parent(parent)
                self._target()
                status = 0
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        self._children[pid] = index

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for index in range(self._workers):
            self._fork(index)
        stop_deadline: float | None = None
        while self._children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                if self._stopping:
                    stop_deadline = stop_deadline or time.monotonic() + _GRACEFUL_SHUTDOWN_S + 10
                    if time.monotonic() > stop_deadline:
                        for child in self._children:
                            os.kill(child, signal.SIGKILL)
                time.sleep(0.2)
                continue
            if pid not in self._children:
                continue
            index = self._children.pop(pid)
            if not self._stopping:
                self._restart(pid, index, os.waitstatus_to_exitcode(status))
        return self._status

    def _restart(self, pid: int, index: int, code: int) -> None:
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < _RESTART_WINDOW_S] + [now]
        if len(self._restarts) > _MAX_RESTARTS:
            log.error("workers_keep_dying", pid=pid, exit_code=code, restarts=len(self._restarts))
            self._status = 1
            self._stop(signal.SIGTERM, None)
            return
        log.warning("worker_restarted", pid=pid, exit_code=code)
        self._fork(index)

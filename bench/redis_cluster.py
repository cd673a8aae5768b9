"""A throwaway Redis Cluster on loopback: three (or more) masters, no replicas, no persistence.

Used by ``bench/run.py --cluster`` and by ``tests/integration/test_cluster.py`` (and the Sentinel
test, for its free ports). Nodes run daemonised with their pid files, logs and node configs in a
directory of the caller's; ``stop_servers`` shuts them down whatever state they are in.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["cluster_ports", "redis_cli", "start_cluster", "stop_servers"]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(n: int) -> list[int]:
    """``n`` free ports from 30000 up whose cluster bus ports (+10000) are free too.

    Below 32768, so the kernel never hands them out as ephemeral client ports meanwhile.
    """
    ports: list[int] = []
    candidates = list(range(30000, 32700))
    random.shuffle(candidates)
    for port in candidates:
        if port in ports or port + 10000 in ports:
            continue
        if _bindable(port) and _bindable(port + 10000):
            ports.append(port)
            if len(ports) == n:
                return ports
    raise RuntimeError("no free ports for a Redis Cluster")


def redis_cli(port: int, *args: str, timeout: float = 10) -> str:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    ).stdout


def _tails(tmp: Path, ports: list[int]) -> str:
    parts = []
    for port in ports:
        with contextlib.suppress(OSError):
            lines = (tmp / f"redis-{port}.log").read_text(errors="replace").splitlines()[-8:]
            parts.append(f"--- redis-{port}.log\n" + "\n".join(lines))
    return "\n".join(parts)


def start_cluster(tmp: Path, ports: list[int]) -> str:
    """Masters on ``ports``, joined into one cluster; returns ``REPLY_ASSIST_REDIS_URL``."""
    for port in ports:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(tmp / f"nodes-{port}.conf"),
                "--cluster-node-timeout",
                "5000",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(tmp),
                "--pidfile",
                str(tmp / f"redis-{port}.pid"),
                "--logfile",
                str(tmp / f"redis-{port}.log"),
            ],
            check=True,
            timeout=10,
        )
    for port in ports:
        deadline = time.monotonic() + 10
        while "PONG" not in redis_cli(port, "ping", timeout=2):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {port} did not start:\n{_tails(tmp, ports)}")
            time.sleep(0.05)
    created = subprocess.run(
        [
            "redis-cli",
            "--cluster",
            "create",
            *(f"127.0.0.1:{p}" for p in ports),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if created.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}")
    deadline = time.monotonic() + 20
    while not all("cluster_state:ok" in redis_cli(p, "cluster", "info", timeout=2) for p in ports):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not become ok:\n{_tails(tmp, ports)}")
        time.sleep(0.1)
    return f"redis://127.0.0.1:{ports[0]}/0?cluster=1"


def stop_servers(tmp: Path, ports: list[int]) -> None:
    """Shut down the servers started with pid files in ``tmp``; kill what does not stop."""
    for port in ports:
        pidfile = tmp / f"redis-{port}.pid"
        with contextlib.suppress(Exception):
            redis_cli(port, "shutdown", "nosave", timeout=5)
        with contextlib.suppress(Exception):
            pid = int(pidfile.read_text().strip())
            for _ in range(50):
                os.kill(pid, 0)  # raises once it is gone
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)

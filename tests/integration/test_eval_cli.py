"""``reply-assist eval`` as a new user runs it, in a process of its own with nothing mocked:
the built-in templates, a model endpoint that is down (a closed port), and ``bench/stub_llm.py``
as the model over a real socket. What the terminal says first and last, and the exit code."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import stub_model

ROOT = Path(__file__).resolve().parents[2]
_DONE = re.compile(r"^done in \d+\.\d s; reports: (\S+) and (\S+)$")


def _eval(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "reply_assist.cli", "eval", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert done.stderr == "", done.stderr  # nothing logged beside what the run reports
    return done.returncode, lines


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture(scope="module")
def stub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stub_model(tmp_path_factory.mktemp("stub")) as url:
        yield url + "/v1"


def test_the_templates_with_the_defaults(tmp_path: Path) -> None:
    code, lines = _eval(tmp_path)
    assert code == 0
    assert lines[0] == (
        "reply-assist eval: drafter templates (built in, no model); model none; "
        "endpoint none; 315 cases; prompt versions reply-v2"
    )
    done = _DONE.match(lines[-1])
    assert done and done.groups() == ("eval-report/eval-report.md", "eval-report/eval-report.json")
    assert (tmp_path / "eval-report" / "eval-report.md").is_file()


def test_a_model_endpoint_that_is_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    started = time.monotonic()
    code, lines = _eval(tmp_path, "--base-url", url, "--model", "m", "--sample", "40")
    assert code == 3
    assert time.monotonic() - started < 30  # not 40 cases' worth of retries
    assert lines[0].startswith(f"reply-assist eval: drafter openai; model m; endpoint {url}; ")
    assert lines[-2] == (
        f"reply-assist eval: stopped: 3 model calls in a row failed at {url}: The language "
        "model endpoint refused the connection (nothing listens at its address) "
        "[connection_refused]"
    )
    assert re.fullmatch(r"stopped after \d+\.\d s; no report written", lines[-1])
    assert len(lines) == 3 and not (tmp_path / "eval-report").exists()


def test_the_stub_model_over_a_socket(tmp_path: Path, stub_url: str) -> None:
    """The stub answers every review with the same English text and no signature: every case
    fails a check, and the report lists them."""
    code, lines = _eval(
        tmp_path, "--base-url", stub_url, "--model", "stub-model", "--sample", "9", "--no-cache"
    )
    assert code == 0
    assert lines[0] == (
        f"reply-assist eval: drafter openai; model stub-model; endpoint {stub_url}; "
        "9 of 315 cases (--sample 9, stratified by language x star band); "
        "prompt versions reply-v2"
    )
    assert lines[-2] == "reply-v2: 9 of 9 scored cases failed a check (listed in eval-report.md)"
    assert _DONE.match(lines[-1])
    md = (tmp_path / "eval-report" / "eval-report.md").read_text("utf-8")
    failing = md.split("## Failing cases: reply-v2 (9 of 9 scored)", 1)[1]
    assert failing.count("| Hi Erik, thank you for taking the time to tell us about …") == 9

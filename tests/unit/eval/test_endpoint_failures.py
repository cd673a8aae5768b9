"""An endpoint that cannot be reached or refuses: the run stops after the first failures
(``STOP_AFTER_FAILURES`` in a row), names the URL and the cause, writes no report over the last
one, and exits ``EXIT_ENDPOINT_FAILED``. (Failures between answers do not stop a run:
test_eval_output.py, the errored cases.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from reply_assist.cli import main as cli_main
from reply_assist.eval.endpoint_watch import EXIT_ENDPOINT_FAILED, STOP_AFTER_FAILURES
from tests.unit.eval.eval_helpers import LLM, completion

_ATTEMPTS_PER_CALL = 3  # the SDK's first try and its 2 retries on a connection error
_CONCURRENCY = 4


def _unreachable(request: httpx.Request) -> httpx.Response:
    # (A closed port, seen as "connection_refused": tests/integration/test_eval_cli.py.)
    raise httpx.ConnectError("All connection attempts failed", request=request)


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        *("eval", "--base-url", LLM, "--model", "m", "--sample", "40"),
        *("--concurrency", str(_CONCURRENCY), "--cache-dir", str(tmp_path / "cache")),
        *("--out", str(tmp_path / "out"), "--quiet", *extra),
    ]


def test_an_endpoint_that_cannot_be_reached_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(base_url=LLM) as mock:
        route = mock.post("/chat/completions").mock(side_effect=_unreachable)
        code = cli_main(_args(tmp_path))
    assert code == EXIT_ENDPOINT_FAILED
    # Stopped after the first failures: at most the calls in flight when the third failed,
    # not one per case (40 cases, 120 attempts).
    assert route.call_count <= (STOP_AFTER_FAILURES + _CONCURRENCY - 1) * _ATTEMPTS_PER_CALL
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("reply-assist eval: drafter openai; model m; endpoint " + LLM)
    assert lines[-2] == (
        f"reply-assist eval: stopped: {STOP_AFTER_FAILURES} model calls in a row failed at "
        f"{LLM}: The language model could not be reached (the connection failed) "
        "[connection_error]"
    )
    assert lines[-1].startswith("stopped after ") and lines[-1].endswith("no report written")
    assert "0.000" not in out and "Score by" not in out
    assert not (tmp_path / "out").exists()


def test_an_endpoint_that_refuses_the_key_names_the_cause_but_never_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "sk-test-secret-0123456789"
    refusal = {"error": {"message": f"Incorrect API key provided: {key}.", "type": "auth"}}
    with respx.mock(base_url=LLM) as mock:
        route = mock.post("/chat/completions").mock(return_value=httpx.Response(401, json=refusal))
        code = cli_main(_args(tmp_path, "--api-key", key))
    assert code == EXIT_ENDPOINT_FAILED
    assert route.call_count <= STOP_AFTER_FAILURES + _CONCURRENCY - 1  # a 401 is not retried
    out = capsys.readouterr().out
    assert key not in out
    assert (
        f"failed at {LLM}: The language model refused the service's request (HTTP 401) "
        "[http_status]; the server said: Incorrect API key provided: ***." in out
    )


def test_an_endpoint_that_dies_midway_stops_and_keeps_what_it_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answered = 0

    def then_gone(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        if answered < 10:
            answered += 1
            return httpx.Response(200, json=completion("Thank you. Maja, Nordhavn Outdoor"))
        return _unreachable(request)

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=then_gone)
        assert cli_main(_args(tmp_path)) == EXIT_ENDPOINT_FAILED
    last = capsys.readouterr().out.splitlines()[-1]
    assert f"the 10 answers it got are cached in {tmp_path / 'cache'}" in last
    with respx.mock(base_url=LLM) as mock:  # the endpoint is back: a rerun pays for the rest
        route = mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=completion("Thank you. Maja, Nordhavn Outdoor"))
        )
        assert cli_main(_args(tmp_path)) == 0
    assert route.call_count == 30


def test_a_judge_endpoint_that_is_down_stops_the_run_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judge = "http://judge.test/v1"
    with respx.mock() as mock:
        mock.post(f"{LLM}/chat/completions").mock(
            return_value=httpx.Response(200, json=completion("Thank you. Maja, Nordhavn Outdoor"))
        )
        mock.post(f"{judge}/chat/completions").mock(side_effect=_unreachable)
        code = cli_main(
            _args(tmp_path, "--no-cache", "--judge-model", "j", "--judge-base-url", judge)
        )
    assert code == EXIT_ENDPOINT_FAILED
    assert f"model calls in a row failed at {judge}: " in capsys.readouterr().out


def test_a_model_too_slow_for_the_timeout_stops_the_run_and_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def hangs(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=hangs)
        code = cli_main(_args(tmp_path, "--timeout", "0.5", "--concurrency", "1"))
    assert code == EXIT_ENDPOINT_FAILED
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3].endswith("The language model did not answer in time [timeout]")
    assert lines[-2] == (
        "each call had --timeout 0.5 s (and 2 retries): a slow model needs a larger --timeout, "
        "or a smaller --concurrency"
    )

"""``reply-assist eval --help`` shows every option's default, and never the API key's value."""

from __future__ import annotations

import argparse

import pytest

from reply_assist.cli import build_parser
from reply_assist.cli import main as cli_main
from reply_assist.eval.endpoint_watch import EXIT_ENDPOINT_FAILED, STOP_AFTER_FAILURES


def _eval_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = sub.choices["eval"]
    return parser


def test_every_option_says_its_default() -> None:
    options = [a for a in _eval_parser()._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 20
    missing = [a.option_strings[0] for a in options if "default" not in (a.help or "")]
    assert missing == []


def test_help_shows_the_report_directory_and_the_exit_codes_never_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-do-not-print-0123")
    with pytest.raises(SystemExit) as exit_:
        cli_main(["eval", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--out OUT directory for eval-report.md and eval-report.json (default: ./eval-report)"
        in text
    )
    assert f"{EXIT_ENDPOINT_FAILED} the model endpoint failed" in text
    assert f"the run stops when {STOP_AFTER_FAILURES} model calls in a row fail" in text
    assert "(default: $OPENAI_API_KEY if set" in text
    assert "sk-live-do-not-print-0123" not in text

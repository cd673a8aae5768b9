"""`reply-assist --help`, `serve --help` and `--version` teach a person the command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from reply_assist import __version__, cli

SETTINGS_SOURCE = Path(cli.__file__).with_name("settings.py").read_text()


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_describes_the_program_and_its_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["--help"], capsys)
    assert "Draft replies to company reviews" in text
    assert "``" not in text  # not a raw docstring
    assert re.search(r"serve\s+start the HTTP service", text)
    assert "--version" in text


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(["--version"], capsys).strip() == f"reply-assist {__version__}"


def test_serve_help_gives_every_option_a_description_and_a_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["serve", "--help"], capsys)
    options = text.split("options:", 1)[1].split("environment variables", 1)[0]
    for flag, default in [
        ("--host", "127.0.0.1"),
        ("--port", "8000"),
        ("--workers", "1"),
        ("--head-timeout", "10.0"),
        ("--body-timeout", "30.0"),
        ("--max-connections", "4096"),
        ("--forwarded-allow-ips", "127.0.0.1"),
    ]:
        entry = options.split(flag, 1)[1].split("\n  -", 1)[0]
        assert len(entry.split()) > 6, f"{flag} has no description"
        assert f"(default: {default}" in " ".join(entry.split()), flag


def test_serve_help_lists_every_environment_variable_the_service_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["serve", "--help"], capsys)
    read = set(re.findall(r'"((?:REPLY_ASSIST|OPENAI)_[A-Z_]+)"', SETTINGS_SOURCE))
    assert len(read) > 20
    missing = sorted(name for name in read if name not in text)
    assert not missing, f"serve --help does not mention {missing}"


def test_a_subcommand_is_one_entry_in_the_commands_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran: list[str] = []

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", default="default set", help="which set")

    def run(args: argparse.Namespace) -> int:
        ran.append(args.dataset)
        return 0

    extra = cli.Command("extra", "an extra command", "An extra command.", add, run)
    parser = cli.build_parser([*cli.COMMANDS, extra])
    args = parser.parse_args(["extra", "--dataset", "small"])
    assert args.run(args) == 0
    assert ran == ["small"]
    assert "serve" in parser.format_help()
    assert "extra" in parser.format_help()


def test_bad_option_values_are_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--workers", "0"])
    assert exited.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_worker_needs_redis_and_serve_runs_jobs_only_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _help(["worker", "--help"], capsys)
    for option in ("--concurrency", "--workers", "--port"):
        assert option in text
    assert "REPLY_ASSIST_JOB_LEASE_S" in text
    monkeypatch.delenv("REPLY_ASSIST_REDIS_URL", raising=False)
    assert cli.main(["worker"]) == 2
    assert "`reply-assist serve` runs the draft-rules jobs itself" in capsys.readouterr().err
    args = cli.build_parser().parse_args(["serve", "--with-worker"])
    assert args.with_worker is True
    assert cli.build_parser().parse_args(["serve"]).with_worker is False


def test_serve_options_default_to_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLY_ASSIST_BODY_TIMEOUT_S", "12.5")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8,192.0.2.7")
    args = cli.build_parser().parse_args(["serve"])
    assert args.body_timeout == 12.5
    assert args.forwarded_allow_ips == "10.0.0.0/8,192.0.2.7"
    # The flag wins over the variable.
    args = cli.build_parser().parse_args(
        ["serve", "--body-timeout", "3", "--forwarded-allow-ips", "*"]
    )
    assert (args.body_timeout, args.forwarded_allow_ips) == (3, "*")


def test_a_short_admin_token_stops_the_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPLY_ASSIST_ADMIN_TOKEN", "s3cret-but-only-27-characters")
    assert cli.main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "reply-assist: REPLY_ASSIST_ADMIN_TOKEN is too short: use at least 32 characters\n"
    )
    assert "s3cret" not in err


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_wrong_body_timeout_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("REPLY_ASSIST_BODY_TIMEOUT_S", value)
    with pytest.raises(SystemExit) as exited:
        cli.build_parser()
    assert str(exited.value).startswith(f"reply-assist: REPLY_ASSIST_BODY_TIMEOUT_S={value!r}")

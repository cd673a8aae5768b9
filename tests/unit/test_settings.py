"""Settings from the environment: defaults, and one clear line naming a wrong variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reply_assist.settings import ModelPrice, Settings, SettingsError


def test_defaults_when_nothing_is_set() -> None:
    s = Settings.from_env({})
    assert s.admin_token is None
    assert s.redis_url is None
    assert not s.uses_model
    assert (s.rate_limit_per_min, s.events_stream) == (600, "reply_assist:events")
    assert s.events_max_length == 1_000_000
    assert s.idempotency_ttl_s >= 24 * 3600
    assert s.reservation_ttl_s > s.llm_timeout_s * (s.llm_max_retries + 1)


def test_values_are_read() -> None:
    s = Settings.from_env(
        {
            "REPLY_ASSIST_ADMIN_TOKEN": "a" * 32,
            "REPLY_ASSIST_REDIS_URL": "redis://127.0.0.1:6379/3",
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "REPLY_ASSIST_MODEL": "llama-3.2",
            "REPLY_ASSIST_LLM_TIMEOUT_S": "7.5",
            "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
            "REPLY_ASSIST_RATE_LIMIT_PER_MIN": "0",
            "REPLY_ASSIST_EVENTS_STREAM": "events",
            "REPLY_ASSIST_EVENTS_MAX_LENGTH": "0",
        }
    )
    assert s.uses_model
    assert s.model == "llama-3.2"
    assert (s.llm_timeout_s, s.llm_max_retries, s.rate_limit_per_min) == (7.5, 0, 0)
    assert (s.events_stream, s.events_max_length) == ("events", 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REPLY_ASSIST_LLM_TIMEOUT_S", "soon"),
        ("REPLY_ASSIST_LLM_MAX_RETRIES", "-1"),
        ("REPLY_ASSIST_RATE_LIMIT_PER_MIN", "lots"),
        ("REPLY_ASSIST_REDIS_URL", "http://redis"),
        ("OPENAI_BASE_URL", "llm.local"),
        ("REPLY_ASSIST_ADMIN_TOKEN", "short"),
        ("REPLY_ASSIST_IDEMPOTENCY_TTL_S", "60"),
        ("REPLY_ASSIST_LOG_FORMAT", "xml"),
    ],
)
def test_a_wrong_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({name: value})
    message = str(exc.value)
    assert name in message
    assert "\n" not in message


def test_redis_password_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"REPLY_ASSIST_REDIS_URL": "http://user:s3cret@host"})
    assert "s3cret" not in str(exc.value)


def test_cli_stops_with_one_line_on_a_wrong_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reply_assist.cli", "serve"],
        env={"REPLY_ASSIST_LLM_TIMEOUT_S": "soon", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "REPLY_ASSIST_LLM_TIMEOUT_S" in lines[0]


def test_cli_refuses_workers_without_redis() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reply_assist.cli", "serve", "--workers", "2"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "REPLY_ASSIST_REDIS_URL" in result.stderr


def test_model_connections_are_shared_by_company() -> None:
    assert Settings.from_env({}).llm_company_connections == 150  # 3/4 of the 200
    s = Settings.from_env(
        {
            "REPLY_ASSIST_LLM_MAX_CONNECTIONS": "40",
            "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY": "10",
            "REPLY_ASSIST_LLM_QUEUE_WAIT_S": "2.5",
        }
    )
    assert (s.llm_company_connections, s.llm_queue_wait_s) == (10, 2.5)
    with pytest.raises(SettingsError) as exc:
        Settings.from_env(
            {
                "REPLY_ASSIST_LLM_MAX_CONNECTIONS": "40",
                "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY": "41",
            }
        )
    assert "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY=41" in str(exc.value)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080/v1", "http://127.0.0.1:11434/v1", "https://llm.example.com/v1"],
)
def test_a_local_endpoint_without_a_model_name_stops_the_start(base_url: str) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"OPENAI_BASE_URL": base_url})
    message = str(exc.value)
    assert message.startswith("REPLY_ASSIST_MODEL is not set")
    assert base_url in message
    assert "\n" not in message


def test_openai_itself_keeps_the_default_model() -> None:
    assert Settings.from_env({"OPENAI_API_KEY": "sk-test"}).model == "gpt-4.1-mini"
    openai = Settings.from_env({"OPENAI_BASE_URL": "https://api.openai.com/v1"})
    assert openai.model == "gpt-4.1-mini"
    local = Settings.from_env(
        {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "REPLY_ASSIST_MODEL": "qwen2.5-7b"}
    )
    assert local.model == "qwen2.5-7b"


def test_cli_names_the_missing_model_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reply_assist.cli", "serve"],
        env={"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "REPLY_ASSIST_MODEL" in lines[0]


def test_the_admin_token_has_at_least_32_characters() -> None:
    assert Settings.from_env({"REPLY_ASSIST_ADMIN_TOKEN": "a" * 32}).admin_token == "a" * 32
    for make in (
        lambda: Settings.from_env({"REPLY_ASSIST_ADMIN_TOKEN": "a" * 31}),
        lambda: Settings(admin_token="a" * 31),
    ):
        with pytest.raises(SettingsError) as exc:
            make()
        assert str(exc.value) == (
            "REPLY_ASSIST_ADMIN_TOKEN is too short: use at least 32 characters"
        )


def test_model_prices_are_read_per_million_tokens() -> None:
    s = Settings.from_env(
        {
            "REPLY_ASSIST_MODEL_PRICES": '{"gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, '
            '"output": 0.6}, "local": {"input": 0, "output": 0}}'
        }
    )
    assert s.model_prices["gpt-4o-mini"] == ModelPrice(input=0.15, cached_input=0.075, output=0.6)
    # Without cached_input, cached prompt tokens cost what the others do.
    assert s.model_prices["local"] == ModelPrice(input=0.0, cached_input=0.0, output=0.0)
    assert Settings.from_env({}).model_prices == {}


@pytest.mark.parametrize(
    "value",
    [
        "0.15",
        "{not json",
        "{}",
        "[]",
        '{"m": 1}',
        '{"m": {"input": 1}}',
        '{"m": {"input": -1, "output": 1}}',
        '{"m": {"input": "1", "output": 1}}',
        '{"m": {"input": true, "output": 1}}',
        '{"m": {"input": NaN, "output": 1}}',
        '{"m": {"input": 1, "output": 1, "per": "token"}}',
    ],
)
def test_wrong_model_prices_stop_the_start_in_one_line(value: str) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"REPLY_ASSIST_MODEL_PRICES": value})
    message = str(exc.value)
    assert "REPLY_ASSIST_MODEL_PRICES" in message and "per million tokens" in message
    assert "\n" not in message

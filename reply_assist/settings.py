"""Settings, read from the environment once by the caller and passed in (never cached at import).

A wrong value stops the start with one line that names the variable (``SettingsError``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

__all__ = ["ModelPrice", "Settings", "SettingsError"]

T = TypeVar("T")

DEFAULT_MODEL = "gpt-4.1-mini"  # OpenAI's own API only; any other endpoint must name its model
OPENAI_API_HOST = "api.openai.com"
DEFAULT_EVENTS_STREAM = "reply_assist:events"
DEFAULT_PROMPT_VERSION = "reply-v2"
MIN_IDEMPOTENCY_TTL_S = 24 * 3600
# The admin token may do everything: at least as long as 192 random bits in base64url (the one
# made when none is set is 256 bits, 43 characters).
MIN_ADMIN_TOKEN = 32


class SettingsError(ValueError):
    """A setting has a wrong value; the message is one line that names the variable."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Per million tokens: prompt tokens, those read from the server's cache, completion."""

    input: float
    cached_input: float
    output: float


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reply-assist" / "tiktoken"


@dataclass(frozen=True, slots=True)
class Settings:
    admin_token: str | None = None
    redis_url: str | None = None
    redis_key_prefix: str = "reply_assist"
    redis_max_connections: int = 64
    redis_timeout_s: float = 2.0
    redis_pool_wait_s: float = 10.0
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = DEFAULT_MODEL
    llm_timeout_s: float = 20.0
    llm_max_retries: int = 1
    llm_max_connections: int = 200
    # 0: three quarters of llm_max_connections (see llm_company_connections).
    llm_max_connections_per_company: int = 0
    llm_queue_wait_s: float = 10.0
    llm_http: str = "aiohttp"
    llm_temperature: float = 0.7
    max_prompt_tokens: int = 3000
    max_completion_tokens: int = 400
    rate_limit_per_min: int = 600
    # Failed authentications from one client address before 429 (0: no throttle), and the
    # window they are counted in (see services.auth_throttle).
    auth_failure_limit: int = 10
    auth_failure_window_s: int = 300
    events_stream: str = DEFAULT_EVENTS_STREAM
    events_max_length: int = 1_000_000
    idempotency_ttl_s: int = MIN_IDEMPOTENCY_TTL_S
    prompt_version: str = DEFAULT_PROMPT_VERSION
    prompts_dir: Path | None = None
    tiktoken_cache_dir: Path = field(default_factory=_default_cache_dir)
    readiness_probe_interval_s: float = 30.0
    # A reply desk session ends after this long without a request (and after 8 hours in all).
    desk_idle_timeout_s: int = 1800
    log_level: str = "INFO"
    log_format: str = "json"
    # Draft-rules jobs (services/draft_jobs.py, jobs/runner.py).
    worker_concurrency: int = 100
    job_lease_s: float = 60.0
    job_max_attempts: int = 5
    job_backoff_s: float = 5.0
    # Webhook deliveries (services/webhooks.py, services/webhook_delivery.py).
    webhook_max_attempts: int = 12
    webhook_backoff_s: float = 5.0
    webhook_backoff_max_s: float = 3600.0
    webhook_timeout_s: float = 10.0
    webhook_allow_private: bool = False
    # What each model costs, US dollars per million tokens (services/usage.py shows the cost of
    # a month with them); empty: no cost is shown.
    model_prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    @property
    def uses_model(self) -> bool:
        """A model endpoint is configured; otherwise drafts come from the built-in templates."""
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def model_deadline_s(self) -> float:
        """The longest one model call may take, JSON or stream: every attempt, plus a second of
        backoff between attempts. The SDK's timeout bounds each socket read, not the call, so a
        model that trickles (a token every few seconds) is cut off here."""
        return self.llm_timeout_s * (self.llm_max_retries + 1) + self.llm_max_retries

    @property
    def reservation_ttl_s(self) -> float:
        """How long a generation slot is held: longer than the slowest generate call can take.

        A call waits for a model connection (at most ``llm_queue_wait_s``), then the model runs
        (at most ``model_deadline_s``); a JSON draft with warnings does both twice (its one
        retry). 30 s of slack cover the rest (the prompt, the checks, the commit), so a
        reservation never lapses under a running call, a stream included. A process that dies
        mid-call leaks its slot for at most this long.
        """
        return 2 * (self.llm_queue_wait_s + self.model_deadline_s) + 30.0

    @property
    def llm_company_connections(self) -> int:
        """How many model calls one company may have in flight in one process."""
        if self.llm_max_connections_per_company:
            return self.llm_max_connections_per_company
        return max(1, self.llm_max_connections * 3 // 4)  # a quarter left to the others

    def __post_init__(self) -> None:
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN:
            raise SettingsError(
                f"REPLY_ASSIST_ADMIN_TOKEN is too short: use at least {MIN_ADMIN_TOKEN} characters"
            )
        if self.llm_max_connections_per_company > self.llm_max_connections:
            raise SettingsError(
                "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY="
                f"{self.llm_max_connections_per_company} is out of range: expected at most "
                f"REPLY_ASSIST_LLM_MAX_CONNECTIONS ({self.llm_max_connections})"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        return cls(
            admin_token=reader.text("REPLY_ASSIST_ADMIN_TOKEN", None, min_length=MIN_ADMIN_TOKEN),
            redis_url=reader.redis_url("REPLY_ASSIST_REDIS_URL"),
            redis_key_prefix=reader.text("REPLY_ASSIST_REDIS_PREFIX", "reply_assist") or "",
            redis_max_connections=reader.integer(
                "REPLY_ASSIST_REDIS_MAX_CONNECTIONS", 64, 1, 10_000
            ),
            redis_timeout_s=reader.number("REPLY_ASSIST_REDIS_TIMEOUT_S", 2.0, 0.05, 60),
            redis_pool_wait_s=reader.number("REPLY_ASSIST_REDIS_POOL_WAIT_S", 10.0, 0.05, 120),
            openai_api_key=reader.text("OPENAI_API_KEY", None),
            openai_base_url=reader.url("OPENAI_BASE_URL"),
            model=reader.model("REPLY_ASSIST_MODEL", "OPENAI_BASE_URL"),
            llm_timeout_s=reader.number("REPLY_ASSIST_LLM_TIMEOUT_S", 20.0, 0.1, 600),
            llm_max_retries=reader.integer("REPLY_ASSIST_LLM_MAX_RETRIES", 1, 0, 10),
            llm_max_connections=reader.integer("REPLY_ASSIST_LLM_MAX_CONNECTIONS", 200, 1, 10_000),
            llm_max_connections_per_company=reader.integer(
                "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY", 0, 0, 10_000
            ),
            llm_queue_wait_s=reader.number("REPLY_ASSIST_LLM_QUEUE_WAIT_S", 10.0, 0.05, 600),
            llm_http=reader.choice("REPLY_ASSIST_LLM_HTTP", "aiohttp", ("aiohttp", "httpx")),
            llm_temperature=reader.number("REPLY_ASSIST_LLM_TEMPERATURE", 0.7, 0.0, 2.0),
            max_prompt_tokens=reader.integer("REPLY_ASSIST_MAX_PROMPT_TOKENS", 3000, 500, 200_000),
            max_completion_tokens=reader.integer(
                "REPLY_ASSIST_MAX_COMPLETION_TOKENS", 400, 50, 8_000
            ),
            rate_limit_per_min=reader.integer("REPLY_ASSIST_RATE_LIMIT_PER_MIN", 600, 0, 1_000_000),
            auth_failure_limit=reader.integer("REPLY_ASSIST_AUTH_FAILURE_LIMIT", 10, 0, 1_000_000),
            auth_failure_window_s=reader.integer(
                "REPLY_ASSIST_AUTH_FAILURE_WINDOW_S", 300, 1, 86_400
            ),
            events_stream=reader.text("REPLY_ASSIST_EVENTS_STREAM", DEFAULT_EVENTS_STREAM)
            or DEFAULT_EVENTS_STREAM,
            events_max_length=reader.integer(
                "REPLY_ASSIST_EVENTS_MAX_LENGTH", 1_000_000, 0, 1_000_000_000
            ),
            idempotency_ttl_s=reader.integer(
                "REPLY_ASSIST_IDEMPOTENCY_TTL_S",
                MIN_IDEMPOTENCY_TTL_S,
                MIN_IDEMPOTENCY_TTL_S,
                30 * 24 * 3600,
            ),
            prompt_version=reader.text("REPLY_ASSIST_PROMPT_VERSION", DEFAULT_PROMPT_VERSION)
            or DEFAULT_PROMPT_VERSION,
            prompts_dir=reader.path("REPLY_ASSIST_PROMPTS_DIR"),
            tiktoken_cache_dir=reader.path("REPLY_ASSIST_TIKTOKEN_CACHE_DIR")
            or _default_cache_dir(),
            readiness_probe_interval_s=reader.number(
                "REPLY_ASSIST_READINESS_INTERVAL_S", 30, 1, 3600
            ),
            desk_idle_timeout_s=reader.integer(
                "REPLY_ASSIST_DESK_IDLE_TIMEOUT_S", 1800, 60, 8 * 3600
            ),
            log_level=reader.choice(
                "REPLY_ASSIST_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")
            ),
            log_format=reader.choice("REPLY_ASSIST_LOG_FORMAT", "json", ("json", "console")),
            worker_concurrency=reader.integer("REPLY_ASSIST_WORKER_CONCURRENCY", 100, 1, 10_000),
            # At most 90 s, so that a dead worker's job is taken over within two minutes.
            job_lease_s=reader.number("REPLY_ASSIST_JOB_LEASE_S", 60.0, 1.0, 90.0),
            job_max_attempts=reader.integer("REPLY_ASSIST_JOB_MAX_ATTEMPTS", 5, 1, 50),
            job_backoff_s=reader.number("REPLY_ASSIST_JOB_BACKOFF_S", 5.0, 0.1, 90.0),
            webhook_max_attempts=reader.integer("REPLY_ASSIST_WEBHOOK_MAX_ATTEMPTS", 12, 1, 50),
            webhook_backoff_s=reader.number("REPLY_ASSIST_WEBHOOK_BACKOFF_S", 5.0, 0.01, 3600.0),
            webhook_backoff_max_s=reader.number(
                "REPLY_ASSIST_WEBHOOK_BACKOFF_MAX_S", 3600.0, 0.01, 86_400.0
            ),
            webhook_timeout_s=reader.number("REPLY_ASSIST_WEBHOOK_TIMEOUT_S", 10.0, 0.1, 60.0),
            webhook_allow_private=reader.flag("REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE", False),
            model_prices=reader.prices("REPLY_ASSIST_MODEL_PRICES"),
        )


class _Reader:
    """Parses one variable at a time and names it in the error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _parse(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not valid: expected {expected}") from None

    def text(self, name: str, default: str | None, *, min_length: int = 1) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return default
        if len(raw) < min_length:
            raise SettingsError(f"{name} is too short: use at least {min_length} characters")
        return raw

    def prices(self, name: str) -> dict[str, ModelPrice]:
        """``{"<model>": {"input": 0.15, "cached_input": 0.075, "output": 0.6}}``: US dollars
        per million tokens; ``cached_input`` may be left out (then it is ``input``)."""
        raw = self._raw(name)
        if raw is None:
            return {}
        expected = (
            'expected JSON like {"gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, '
            '"output": 0.6}} (US dollars per million tokens, each 0 or more)'
        )
        try:
            data = json.loads(raw)
        except ValueError:
            raise SettingsError(f"{name} is not valid JSON: {expected}") from None
        if not isinstance(data, dict) or not data:
            raise SettingsError(f"{name} is not valid: {expected}")
        prices: dict[str, ModelPrice] = {}
        for model, price in data.items():
            if (
                not isinstance(price, dict)
                or not {"input", "output"} <= set(price)
                or (set(price) - {"input", "cached_input", "output"})
            ):
                raise SettingsError(f"{name}: model {model!r} is not valid: {expected}")
            values: dict[str, float] = {}
            for kind in ("input", "cached_input", "output"):
                value = price.get(kind, price["input"])
                if isinstance(value, bool) or not isinstance(value, int | float):
                    value = -1.0
                if not 0 <= value < 1e6:  # NaN too
                    raise SettingsError(
                        f"{name}: model {model!r} has a {kind} price that is not valid: {expected}"
                    )
                values[kind] = float(value)
            prices[model] = ModelPrice(**values)
        return prices

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._parse(name, default, int, f"an integer from {low} to {high}")
        if not low <= value <= high:
            raise SettingsError(f"{name}={value} is out of range: expected {low} to {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self._parse(name, default, float, f"a number from {low} to {high}")
        if not low <= value <= high:
            raise SettingsError(f"{name}={value} is out of range: expected {low} to {high}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={raw!r} is not valid: expected 1 or 0")

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.upper() in allowed or raw.lower() in allowed:
            return raw.upper() if raw.upper() in allowed else raw.lower()
        raise SettingsError(f"{name}={raw!r} is not valid: expected one of {', '.join(allowed)}")

    def path(self, name: str) -> Path | None:
        raw = self._raw(name)
        return Path(raw).expanduser() if raw is not None else None

    def url(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is not None and not raw.startswith(("http://", "https://")):
            raise SettingsError(f"{name}={raw!r} is not valid: expected an http:// or https:// URL")
        return raw

    def model(self, name: str, base_url_name: str) -> str:
        """The model name; required when the base URL is not OpenAI's API, whose default model
        another server (llama.cpp, Ollama, vLLM, Azure) would not have: asking it for
        ``gpt-4.1-mini`` fails on every draft, long after the start looked fine."""
        model = self._raw(name)
        if model is not None:
            return model
        base_url = self._raw(base_url_name)
        if base_url is not None and urlsplit(base_url).hostname != OPENAI_API_HOST:
            raise SettingsError(
                f"{name} is not set: {base_url_name}={base_url!r} is not OpenAI's API, so name "
                "the model it serves (e.g. REPLY_ASSIST_MODEL=llama3.1)"
            )
        return DEFAULT_MODEL

    def redis_url(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        # Imported here: the store module loads redis-py, which reading settings does not need.
        from reply_assist.store.sentinel import is_sentinel_url, parse_sentinel_url

        if is_sentinel_url(raw):
            try:
                parse_sentinel_url(raw)
            except ValueError as exc:  # its message names the variable, never the password
                raise SettingsError(str(exc)) from None
        elif not raw.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(
                f"{name} is not valid: expected a redis://, rediss://, unix:// or "
                "redis+sentinel:// URL"
            )
        return raw

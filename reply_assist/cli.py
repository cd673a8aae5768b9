"""The ``reply-assist`` command.

Subcommands are registered in ``COMMANDS``, one ``Command`` each (its name, help, how it adds its
options and what it runs), so another subcommand is one entry in that list and its own module.
Imports of the service itself happen inside ``run``: ``reply-assist --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reply_assist import __version__

if TYPE_CHECKING:
    from reply_assist.settings import Settings

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

_DESCRIPTION = (
    "Draft replies to company reviews with a language model, under the review platform's rules. "
    "Configuration comes from environment variables; `reply-assist serve --help` lists them."
)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str  # one line, for `reply-assist --help`
    description: str  # a paragraph, for `reply-assist <name> --help`
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str = ""


# ---- serve ---------------------------------------------------------------------------------

# Every variable the service reads, for `serve --help`: (name, meaning, default). The README's
# Configuration table says the same at more length.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("REPLY_ASSIST_ADMIN_TOKEN", "the platform admin token (32+ characters)", "random, printed"),
    (
        "REPLY_ASSIST_REDIS_URL",
        "redis://, rediss://, unix://, ?cluster=1, redis+sentinel://",
        "embedded in-process store",
    ),
    ("REPLY_ASSIST_REDIS_PREFIX", "prefix of every Redis key", "reply_assist"),
    ("REPLY_ASSIST_REDIS_MAX_CONNECTIONS", "Redis pool size per process", "64"),
    ("REPLY_ASSIST_REDIS_TIMEOUT_S", "Redis connect and read timeout", "2"),
    ("REPLY_ASSIST_REDIS_POOL_WAIT_S", "wait for a free pooled Redis connection", "10"),
    ("OPENAI_API_KEY", "key of the OpenAI-compatible endpoint", "none: built-in templates"),
    ("OPENAI_BASE_URL", "any OpenAI-compatible endpoint", "OpenAI's, when a key is set"),
    ("REPLY_ASSIST_MODEL", "chat model name", "gpt-4.1-mini"),
    ("REPLY_ASSIST_LLM_TIMEOUT_S", "model call timeout, per attempt", "20"),
    ("REPLY_ASSIST_LLM_MAX_RETRIES", "retries of a failed model call", "1"),
    ("REPLY_ASSIST_LLM_MAX_CONNECTIONS", "HTTP connections to the model per process", "200"),
    (
        "REPLY_ASSIST_LLM_MAX_CONNECTIONS_PER_COMPANY",
        "of those, how many one company may hold",
        "3/4 of them",
    ),
    ("REPLY_ASSIST_LLM_QUEUE_WAIT_S", "wait for a model connection before 503 llm_busy", "10"),
    ("REPLY_ASSIST_LLM_HTTP", "the SDK's transport: aiohttp or httpx", "aiohttp"),
    ("REPLY_ASSIST_LLM_TEMPERATURE", "sampling temperature", "0.7"),
    ("REPLY_ASSIST_MAX_PROMPT_TOKENS", "prompt budget; the review is cut to fit", "3000"),
    ("REPLY_ASSIST_MAX_COMPLETION_TOKENS", "max_tokens of a draft", "400"),
    ("REPLY_ASSIST_RATE_LIMIT_PER_MIN", "requests a minute per API key (0: off)", "600"),
    (
        "REPLY_ASSIST_AUTH_FAILURE_LIMIT",
        "failed authentications per client address before 429 (0: off)",
        "10",
    ),
    ("REPLY_ASSIST_AUTH_FAILURE_WINDOW_S", "the window they are counted in", "300"),
    ("REPLY_ASSIST_EVENTS_STREAM", "Redis stream of publish events", "reply_assist:events"),
    ("REPLY_ASSIST_EVENTS_MAX_LENGTH", "about how many events the stream keeps", "1000000"),
    ("REPLY_ASSIST_IDEMPOTENCY_TTL_S", "how long Idempotency-Keys are kept", "86400"),
    ("REPLY_ASSIST_PROMPT_VERSION", "which prompt to use", "reply-v2"),
    ("REPLY_ASSIST_PROMPTS_DIR", "where prompts are", "the packaged prompts/"),
    ("REPLY_ASSIST_TIKTOKEN_CACHE_DIR", "where tokenizer files are written", "~/.cache/…"),
    ("REPLY_ASSIST_READINESS_INTERVAL_S", "how often /readyz probes the model", "30"),
    ("REPLY_ASSIST_DESK_IDLE_TIMEOUT_S", "a desk session ends after this long idle", "1800"),
    ("REPLY_ASSIST_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", "INFO"),
    ("REPLY_ASSIST_LOG_FORMAT", "json or console", "json"),
    ("REPLY_ASSIST_WORKER_CONCURRENCY", "draft-rules jobs a worker process runs at once", "100"),
    ("REPLY_ASSIST_JOB_LEASE_S", "a job idle this long is taken over (at most 90)", "60"),
    ("REPLY_ASSIST_JOB_MAX_ATTEMPTS", "attempts of a job before it is given up", "5"),
    ("REPLY_ASSIST_JOB_BACKOFF_S", "wait before a failed job's 2nd attempt; doubling", "5"),
    ("REPLY_ASSIST_WEBHOOK_MAX_ATTEMPTS", "attempts of a webhook delivery; then disabled", "12"),
    ("REPLY_ASSIST_WEBHOOK_BACKOFF_S", "wait before a delivery's 2nd attempt; doubling", "5"),
    ("REPLY_ASSIST_WEBHOOK_BACKOFF_MAX_S", "the longest wait between two attempts", "3600"),
    ("REPLY_ASSIST_WEBHOOK_TIMEOUT_S", "timeout of one webhook delivery", "10"),
    (
        "REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE",
        "1: webhooks may go to private addresses, and http",
        "0",
    ),
    (
        "REPLY_ASSIST_MODEL_PRICES",
        'JSON {"<model>": {"input", "cached_input", "output"}}, $ per 1M tokens',
        "none (no cost)",
    ),
    ("REPLY_ASSIST_HEAD_TIMEOUT_S", "same as --head-timeout", "10"),
    ("REPLY_ASSIST_BODY_TIMEOUT_S", "same as --body-timeout", "30"),
    ("REPLY_ASSIST_MAX_CLIENT_CONNECTIONS", "same as --max-connections", "4096"),
    ("FORWARDED_ALLOW_IPS", "same as --forwarded-allow-ips", "127.0.0.1"),
)

_DEFAULT_HEAD_TIMEOUT_S = 10.0
_DEFAULT_BODY_TIMEOUT_S = 30.0
_DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"
_DEFAULT_MAX_CONNECTIONS = 4096


def _environment_epilog() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = ["environment variables (a wrong value stops the start with one line naming it):"]
    lines += [f"  {name:<{width}}  {what} (default: {dflt})" for name, what, dflt in ENVIRONMENT]
    lines += [
        "",
        "examples:",
        "  reply-assist serve                      # embedded store, built-in templates",
        "  REPLY_ASSIST_REDIS_URL=redis://127.0.0.1:6379/0 reply-assist serve --workers 4",
    ]
    return "\n".join(lines)


def _env_number(name: str, default: float) -> float:
    """The variable's value as a number above 0 (the options it stands for are all such)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"reply-assist: {name}={raw!r} is not valid: expected a number") from None
    if not value > 0:
        raise SystemExit(f"reply-assist: {name}={raw!r} is not valid: expected a number above 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, not {text}")
    return value


def _settings() -> Settings | None:
    """The settings from the environment, or None after saying in one line which is wrong."""
    from reply_assist.settings import Settings, SettingsError

    try:
        return Settings.from_env()
    except SettingsError as exc:
        print(f"reply-assist: {exc}", file=sys.stderr)
        return None


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for every interface (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on; 0 picks a free one, which the "
        "`listening` log line names (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes, forked from one parent that loads everything once; more than one "
        "needs REPLY_ASSIST_REDIS_URL (default: %(default)s)",
    )
    parser.add_argument(
        "--head-timeout",
        type=_positive_float,
        metavar="SECONDS",
        default=_env_number("REPLY_ASSIST_HEAD_TIMEOUT_S", _DEFAULT_HEAD_TIMEOUT_S),
        help="close a connection whose request head is not complete within this time, with 408 "
        "(default: %(default)s, or REPLY_ASSIST_HEAD_TIMEOUT_S)",
    )
    parser.add_argument(
        "--body-timeout",
        type=_positive_float,
        metavar="SECONDS",
        default=_env_number("REPLY_ASSIST_BODY_TIMEOUT_S", _DEFAULT_BODY_TIMEOUT_S),
        help="close a connection whose request body is not complete within this time of the end "
        "of its head, with 408 (default: %(default)s, or REPLY_ASSIST_BODY_TIMEOUT_S)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive_int,
        metavar="N",
        default=int(_env_number("REPLY_ASSIST_MAX_CLIENT_CONNECTIONS", _DEFAULT_MAX_CONNECTIONS)),
        help="client connections one worker holds at most; at the cap, the one that has waited "
        "longest on its client is closed to take a new one, and a few more are kept for "
        "/healthz and /readyz (default: %(default)s, or REPLY_ASSIST_MAX_CLIENT_CONNECTIONS)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or _DEFAULT_FORWARDED_ALLOW_IPS,
        help="comma-separated addresses or networks of the proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed, or * for any (default: %(default)s, or "
        "FORWARDED_ALLOW_IPS)",
    )
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="also run the draft-rules jobs in each worker process, as `reply-assist worker` "
        "does (always so with the embedded store; with Redis, off unless given)",
    )


def _bind(args: argparse.Namespace) -> socket.socket | None:
    """The listening socket of ``--host``/``--port``, or None once the reason is printed."""
    from reply_assist.serving import BindError, bind

    try:
        return bind(args.host, args.port)
    except BindError as exc:
        print(f"reply-assist: {exc}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    from reply_assist.serving import ServeOptions, preload, serve
    from reply_assist.settings import Settings

    settings = _settings()
    if settings is None:
        return 2
    if args.workers > 1 and settings.redis_url is None:
        print(
            "reply-assist: --workers > 1 needs REPLY_ASSIST_REDIS_URL: the embedded store lives "
            "inside one process, so workers would not share drafts or limits",
            file=sys.stderr,
        )
        return 2
    # The port first: when it is taken, that is all the operator needs to read.
    sock = _bind(args)
    if sock is None:
        return 1
    if settings.admin_token is None:
        # Made here, once, so that every worker accepts the same token.
        token = secrets.token_urlsafe(32)
        os.environ["REPLY_ASSIST_ADMIN_TOKEN"] = token
        settings = Settings.from_env()
        print(
            f"reply-assist: REPLY_ASSIST_ADMIN_TOKEN is not set; this run's admin token is {token}",
            file=sys.stderr,
            flush=True,
        )
    if settings.redis_url is None:
        print(
            "reply-assist: REPLY_ASSIST_REDIS_URL is not set; using the embedded in-process "
            "store: nothing survives a restart",
            file=sys.stderr,
        )
    if not settings.uses_model:
        from reply_assist.app import load_templates
        from reply_assist.drafting.template_texts import TemplateError

        try:  # checked here too, so that a broken template file is one line, not a traceback
            load_templates(settings)
        except TemplateError as exc:
            print(f"reply-assist: {exc}", file=sys.stderr)
            return 2
        print(
            "reply-assist: no OPENAI_API_KEY or OPENAI_BASE_URL; drafts come from the built-in "
            "templates (model 'template')",
            file=sys.stderr,
        )
    from reply_assist.app import create_app

    app = create_app(settings, run_jobs=True if args.with_worker else None)
    preload(settings)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        head_timeout_s=args.head_timeout,
        body_timeout_s=args.body_timeout,
        max_connections=args.max_connections,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return serve(app, sock, options)


SERVE = Command(
    name="serve",
    help="start the HTTP service",
    description="Start the HTTP service (the API under /v1, /healthz, /readyz, /metrics and the "
    "OpenAPI schema under /schema). With nothing configured it keeps everything in memory and "
    "drafts from built-in templates; it logs the address it listens on.",
    add_arguments=_serve_arguments,
    run=_serve,
    epilog=_environment_epilog(),
)


# ---- worker --------------------------------------------------------------------------------

_DEFAULT_WORKER_PORT = 8001


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        default=None,
        help="jobs each process runs at once (default: REPLY_ASSIST_WORKER_CONCURRENCY, 100)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="processes, forked from one parent that loads everything once, as for `serve` "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address of the probes (/healthz, /readyz) and /metrics (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=_DEFAULT_WORKER_PORT,
        help="port of the probes and /metrics; 0 picks a free one (default: %(default)s)",
    )


def _worker(args: argparse.Namespace) -> int:
    from reply_assist.serving import ServeOptions, preload, serve

    settings = _settings()
    if settings is None:
        return 2
    if settings.redis_url is None:
        print(
            "reply-assist: `worker` needs REPLY_ASSIST_REDIS_URL: with the embedded store, "
            "`reply-assist serve` runs the draft-rules jobs itself",
            file=sys.stderr,
        )
        return 2
    sock = _bind(args)
    if sock is None:
        return 1
    from reply_assist.jobs.app import create_worker_app

    app = create_worker_app(settings, args.concurrency or settings.worker_concurrency)
    preload(settings)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        head_timeout_s=_DEFAULT_HEAD_TIMEOUT_S,
        max_connections=64,  # probes and scrapes only
    )
    return serve(app, sock, options)


WORKER = Command(
    name="worker",
    help="run the draft-rules jobs (background drafts) on Redis",
    description="Run the background jobs that draft stored reviews matching their company's "
    "draft rules, from the Redis of REPLY_ASSIST_REDIS_URL (the same settings as `serve`). "
    "It serves /healthz, /readyz (Redis and the model reachable) and /metrics (the jobs) on "
    "--port. SIGTERM stops it gracefully: running jobs finish (20 s at most) or are handed back "
    "to other workers at once; a worker that dies has its jobs taken over after "
    "REPLY_ASSIST_JOB_LEASE_S (60 s) plus up to 5 s.",
    add_arguments=_worker_arguments,
    run=_worker,
    epilog=_environment_epilog(),
)


_DEFAULT_DEMO_URL = "http://127.0.0.1:8000"


def _demo(args: argparse.Namespace) -> int:
    import httpx

    from reply_assist.web.demo import create_demo

    token = args.admin_token or os.environ.get("REPLY_ASSIST_ADMIN_TOKEN")
    url = (args.url or os.environ.get("REPLY_ASSIST_URL") or _DEFAULT_DEMO_URL).rstrip("/")
    if not token:
        print("reply-assist: give --admin-token (the token `serve` printed)", file=sys.stderr)
        return 2
    try:
        keys = create_demo(url, token, args.company)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status == 401:
            why = "the admin token was refused (401); give the one the service runs with"
        else:
            why = f"the service answered {status} to {exc.request.method} {exc.request.url.path}"
        print(f"reply-assist: could not create the demo company at {url}: {why}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(
            f"reply-assist: could not create the demo company: no service answered at {url} "
            f"({type(exc).__name__}); start it with `reply-assist serve`, or give --url",
            file=sys.stderr,
        )
        return 1
    print(f"Created company '{args.company}' with 4 reviews. Open {url}/desk and sign in with:")
    for role, key in keys.items():
        print(f"  {role:<9} {key}")
    return 0


def _reindex_reviews(_: argparse.Namespace) -> int:
    """Put reviews stored before the reply desk's list existed into its indexes, and those
    whose draft waits into the ready sets (idempotent)."""
    import asyncio

    from reply_assist.services.reviews import reindex_stored_reviews

    settings = _settings()
    if settings is None:
        return 2
    if settings.redis_url is None:
        print(
            "reply-assist: REPLY_ASSIST_REDIS_URL is not set: nothing to reindex", file=sys.stderr
        )
        return 2

    seen, indexed, ready = asyncio.run(reindex_stored_reviews(settings, settings.redis_url))
    print(
        f"reply-assist: {seen} reviews found, {indexed} added to the list indexes, "
        f"{ready} with a draft ready"
    )
    return 0


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help=f"the running service (default: $REPLY_ASSIST_URL, else {_DEFAULT_DEMO_URL})",
    )
    parser.add_argument("--admin-token", help="default: $REPLY_ASSIST_ADMIN_TOKEN")
    parser.add_argument(
        "--company", default="demo", help="company id to create or replace (default: %(default)s)"
    )


DEMO = Command(
    name="demo",
    help="create a demo company, reviews and a key per role in a running service",
    description="Create (or replace) a demo company with four reviews in English, Swedish and "
    "Dutch in a running service, through its API, and print one API key per role to sign in to "
    "the reply desk (/desk) with.",
    add_arguments=_demo_arguments,
    run=_demo,
)

REINDEX_REVIEWS = Command(
    name="reindex-reviews",
    help="add reviews stored before the reply desk's list (or its Draft ready filter) existed "
    "to its indexes",
    description="Add reviews stored before the reply desk's list existed to its indexes, and "
    "reviews whose draft waits to its Draft ready filter, in the Redis of REPLY_ASSIST_REDIS_URL: "
    "once, after upgrading; safe to run again and while serving.",
    add_arguments=lambda _: None,
    run=_reindex_reviews,
)


def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    from reply_assist.eval.arguments import add_arguments

    add_arguments(parser)


def _eval(args: argparse.Namespace) -> int:
    from reply_assist.eval import command

    return command.run(args)


EVAL = Command(
    name="eval",
    help="score drafts of a labelled review set (templates or a model)",
    description="Run the shipped labelled reviews through the built-in templates or any "
    "OpenAI-compatible endpoint, score every draft with the service's own checks, and write "
    "JSON and Markdown reports; exits non-zero under --min-score.",
    add_arguments=_eval_arguments,
    run=_eval,
    # The numbers are eval.endpoint_watch's (not imported here: --help stays light); a test
    # holds them equal.
    epilog="exit status:\n"
    "  0  done\n"
    "  1  a prompt version scored under --min-score\n"
    "  2  bad arguments\n"
    "  3  the model endpoint failed: the run stops when 3 model calls in a row fail,\n"
    "     naming the URL and the cause, and writes no report",
)


# The subcommands, in the order `--help` lists them. A new one: its own module with a Command,
# appended here.
COMMANDS: list[Command] = [SERVE, WORKER, DEMO, REINDEX_REVIEWS, EVAL]


def build_parser(commands: list[Command] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reply-assist",
        description=_DESCRIPTION,
        epilog="Run `reply-assist <command> --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="<command>", title="commands"
    )
    for command in COMMANDS if commands is None else commands:
        child = sub.add_parser(
            command.name,
            help=command.help,
            description=textwrap.fill(command.description, 78),
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

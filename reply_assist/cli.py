"""``reply-assist serve``: start the service."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from reply_assist.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"reply-assist: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.redis_url is None:
        print(
            "reply-assist: --workers > 1 needs REPLY_ASSIST_REDIS_URL: the embedded store lives "
            "inside one process, so workers would not share drafts or limits",
            file=sys.stderr,
        )
        return 2
    if settings.admin_token is None:
        # Made here, once, so that every worker accepts the same token.
        token = secrets.token_urlsafe(32)
        os.environ["REPLY_ASSIST_ADMIN_TOKEN"] = token
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
        print(
            "reply-assist: no OPENAI_API_KEY or OPENAI_BASE_URL; drafts come from the built-in "
            "templates (model 'template')",
            file=sys.stderr,
        )
    uvicorn.run(
        "reply_assist.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",  # the service writes its own access log, with request ids
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reply-assist", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    from reply_assist.eval import command as eval_command

    eval_command.add_arguments(
        sub.add_parser("eval", help="score drafts of a labelled review set (templates or a model)")
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "eval":
        return eval_command.run(args)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())

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


def _demo(args: argparse.Namespace) -> int:
    import httpx

    from reply_assist.web.demo import create_demo

    token = args.admin_token or os.environ.get("REPLY_ASSIST_ADMIN_TOKEN")
    if not token:
        print("reply-assist: give --admin-token (the token `serve` printed)", file=sys.stderr)
        return 2
    try:
        keys = create_demo(args.url, token, args.company)
    except httpx.HTTPError as exc:
        print(
            f"reply-assist: could not create the demo company at {args.url}: {exc}", file=sys.stderr
        )
        return 1
    print(
        f"Created company '{args.company}' with 4 reviews. Open {args.url}/desk and sign in with:"
    )
    for role, key in keys.items():
        print(f"  {role:<9} {key}")
    return 0


def _reindex_reviews(_: argparse.Namespace) -> int:
    """Put reviews stored before the reply desk's list existed into its indexes (idempotent)."""
    import asyncio

    from reply_assist.settings import Settings, SettingsError
    from reply_assist.store.connection import connect
    from reply_assist.store.reviews import ReviewRepository

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"reply-assist: {exc}", file=sys.stderr)
        return 2
    if settings.redis_url is None:
        print(
            "reply-assist: REPLY_ASSIST_REDIS_URL is not set: nothing to reindex", file=sys.stderr
        )
        return 2

    async def run() -> tuple[int, int]:
        store = connect(
            settings.redis_url,
            prefix=settings.redis_key_prefix,
            max_connections=4,
            timeout_s=settings.redis_timeout_s,
        )
        try:
            return await ReviewRepository(store).reindex_all()
        finally:
            await store.aclose()

    seen, indexed = asyncio.run(run())
    print(f"reply-assist: {seen} reviews found, {indexed} added to the list indexes")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reply-assist", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    demo = sub.add_parser(
        "demo", help="create a demo company, reviews and a key per role in a running service"
    )
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the running service")
    demo.add_argument("--admin-token", help="default: $REPLY_ASSIST_ADMIN_TOKEN")
    demo.add_argument("--company", default="demo", help="company id to create or replace")
    sub.add_parser(
        "reindex-reviews",
        help="add reviews stored before the reply desk's list existed to its indexes "
        "(once, after upgrading; safe to run again and while serving)",
    )
    from reply_assist.eval import command as eval_command

    eval_command.add_arguments(
        sub.add_parser("eval", help="score drafts of a labelled review set (templates or a model)")
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "reindex-reviews":
        return _reindex_reviews(args)
    if args.command == "eval":
        return eval_command.run(args)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())

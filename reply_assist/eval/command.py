"""``reply-assist eval``: score drafts of a labelled set of reviews with the service's checks.

Runs every case through the built-in templates or any OpenAI-compatible endpoint, with one or
two prompt versions side by side, and prints a table per language, star band and prompt
version; writes ``eval-report.json`` and ``eval-report.md``; exits 1 when an arm scores under
``--min-score``, so a team can put it in its CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from reply_assist.drafting.base import Drafter
from reply_assist.drafting.language import ensure_loaded
from reply_assist.drafting.prompting import PromptLibrary, default_prompts_dir
from reply_assist.drafting.template_texts import TemplateTexts, templates_dir
from reply_assist.drafting.templates import TemplateDrafter
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.eval.cases import DEFAULT_CASES, EVAL_COMPANY, EvalCase, load_cases
from reply_assist.eval.report import print_tables, summarise, write_reports
from reply_assist.eval.runner import Arm, DiskCache, Judge, run_cases
from reply_assist.logs import configure_logging

__all__ = ["add_arguments", "main", "run"]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reply-assist" / "eval"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``eval`` subcommand's options (``reply_assist.cli`` adds the subcommand)."""
    data = parser.add_argument_group("cases")
    data.add_argument(
        "--cases",
        type=Path,
        default=DEFAULT_CASES,
        help="JSONL file of labelled reviews (default: the 315 shipped cases, 9 languages)",
    )
    data.add_argument(
        "--languages", help="only these languages, comma-separated (e.g. sv,en)", default=None
    )
    data.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="about N cases spread evenly over the set (every k-th), for a quick run or CI",
    )
    model = parser.add_argument_group("drafter (default: the built-in templates)")
    model.add_argument(
        "--base-url", help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"
    )
    model.add_argument("--model", help="the chat model's name (required with --base-url)")
    model.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="the endpoint's key (default: $OPENAI_API_KEY; local servers need none)",
    )
    model.add_argument("--temperature", type=float, default=0.7, help="default: 0.7, as served")
    model.add_argument("--timeout", type=float, default=120.0, help="seconds per model call")
    model.add_argument("--max-tokens", type=int, default=400, help="max_tokens of a draft")
    model.add_argument("--max-prompt-tokens", type=int, default=3000, help="the prompt budget")
    prompts = parser.add_argument_group("prompts")
    prompts.add_argument(
        "--prompt-version",
        action="append",
        dest="prompt_versions",
        metavar="VERSION",
        help="a prompt version to run; give it twice to compare two side by side "
        "(default: reply-v1)",
    )
    prompts.add_argument(
        "--prompts-dir", type=Path, default=None, help="default: the packaged prompts/"
    )
    voice = parser.add_argument_group("the company's voice")
    voice.add_argument(
        "--history",
        type=Path,
        default=None,
        help="JSONL of the company's published replies (language, stars, review, reply): "
        "runs each prompt version without and with examples from it, and reports how close "
        "the drafts come to its style",
    )
    run = parser.add_argument_group("running")
    run.add_argument("--concurrency", type=int, default=4, help="model calls at once (default 4)")
    run.add_argument(
        "--cache-dir",
        type=Path,
        default=_default_cache_dir(),
        help="where model answers are kept, so a rerun does not pay twice "
        "(default: $XDG_CACHE_HOME/reply-assist/eval)",
    )
    run.add_argument("--no-cache", action="store_true", help="ask the model again for every case")
    run.add_argument("--judge-model", help="a model that also rates tone and fit (reported apart)")
    run.add_argument("--judge-base-url", help="the judge's endpoint (default: --base-url)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, default=Path("eval-report"), help="report directory")
    out.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="exit 1 when any prompt version's mean score (0-1) is below this",
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def _select(cases: list[EvalCase], args: argparse.Namespace) -> list[EvalCase]:
    if args.languages:
        wanted = {code.strip().lower() for code in args.languages.split(",")}
        cases = [c for c in cases if c.language in wanted]
    if args.sample and args.sample < len(cases):
        step = len(cases) / args.sample
        cases = [cases[int(i * step)] for i in range(args.sample)]
    return cases


def _openai(
    args: argparse.Namespace, base_url: str | None, model: str, counter: TokenCounter
) -> Drafter:
    from reply_assist.drafting.llm import OpenAIDrafter, make_openai_client

    client = make_openai_client(
        api_key=args.api_key,
        base_url=base_url,
        timeout_s=args.timeout,
        max_retries=2,
        max_connections=max(1, args.concurrency),
        transport="httpx",
    )
    return OpenAIDrafter(client, model, args.temperature, counter=counter)


async def _run(args: argparse.Namespace, console: Console) -> int:
    configure_logging("WARNING", "console")  # the drafter's per-call debug lines are noise here
    if args.base_url and not args.model:
        console.print("reply-assist eval: --base-url needs --model (the chat model's name)")
        return 2
    cases = _select(load_cases(args.cases), args)
    if not cases:
        console.print("reply-assist eval: no cases selected")
        return 2
    prompts_dir = args.prompts_dir or default_prompts_dir()
    versions = args.prompt_versions or ["reply-v1"]
    try:
        libraries = {v: PromptLibrary.load(prompts_dir, v) for v in versions}
    except ValueError as exc:
        console.print(f"reply-assist eval: {exc}")
        return 2
    uses_model = bool(args.base_url or args.model)
    model_name = args.model or "template"
    counter = TokenCounter.for_model(model_name, _tiktoken_dir())
    ensure_loaded()
    drafter: Drafter = (
        _openai(args, args.base_url, args.model, counter)
        if uses_model
        else TemplateDrafter(TemplateTexts.load(templates_dir(prompts_dir, default_prompts_dir())))
    )
    identity: dict[str, Any] = {
        "base_url": args.base_url,
        "model": model_name,
        "temperature": args.temperature,
    }
    judge = None
    if args.judge_model:
        judge_base = args.judge_base_url or args.base_url
        judge = Judge(
            _openai(args, judge_base, args.judge_model, counter),
            {"base_url": judge_base, "model": args.judge_model, "temperature": 0.7, "judge": 1},
        )
    arms = [Arm(v, lib) for v, lib in libraries.items()]
    history = None
    if args.history:
        from reply_assist.eval.voice_eval import History

        history = History.load(args.history, counter)
        arms = [a for v, lib in libraries.items() for a in history.arms(v, lib)]
    cache = None if args.no_cache else DiskCache(args.cache_dir)
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
        transient=True,
    ) as progress:
        task = progress.add_task("drafting", total=len(cases) * len(arms))
        try:
            results = await run_cases(
                cases,
                arms,
                drafter=drafter,
                identity=identity,
                counter=counter,
                company=EVAL_COMPANY,
                concurrency=max(1, args.concurrency),
                cache=cache,
                judge=judge,
                max_prompt_tokens=args.max_prompt_tokens,
                max_tokens=args.max_tokens,
                on_done=lambda: progress.advance(task),
            )
        finally:
            await drafter.aclose()
            if judge:
                await judge.drafter.aclose()
    meta: dict[str, Any] = {
        "drafter": drafter.kind,
        "model": model_name,
        "cases": len(cases),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if cache:
        meta["cache_hits"] = cache.hits
    summary = summarise(results, meta)
    if history:
        summary["voice"] = history.closeness(results)
    print_tables(summary, console)
    json_path, md_path = write_reports(summary, results, args.out)
    console.print(f"reports: {json_path} {md_path}")
    if args.min_score is not None:
        low = {a: s["score"] for a, s in summary["arms"].items() if s["score"] < args.min_score}
        if low:
            console.print(f"reply-assist eval: under --min-score {args.min_score}: {low}")
            return 1
    return 0


def _tiktoken_dir() -> Path:
    from reply_assist.settings import Settings

    return Settings().tiktoken_cache_dir


def run(args: argparse.Namespace) -> int:
    """Run the ``eval`` subcommand; returns the exit code."""
    return asyncio.run(_run(args, Console(stderr=False)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reply-assist eval", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""``reply-assist eval``: score drafts of a labelled set of reviews with the service's checks.

Runs every case through the built-in templates or any OpenAI-compatible endpoint, with one or
two prompt versions side by side, and prints a table per language, star band and prompt
version; writes ``eval-report.json`` and ``eval-report.md``; exits 1 when an arm scores under
``--min-score``, so a team can put it in its CI.
"""

from __future__ import annotations

import argparse
import asyncio
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
from reply_assist.eval.arguments import add_arguments
from reply_assist.eval.cases import EVAL_COMPANY, EvalCase, load_cases
from reply_assist.eval.report import print_tables, summarise, write_reports
from reply_assist.eval.runner import Arm, DiskCache, Judge, run_cases
from reply_assist.logs import configure_logging

__all__ = ["add_arguments", "main", "run"]


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

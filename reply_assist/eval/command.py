"""``reply-assist eval``: score drafts of a labelled set of reviews with the service's checks.

Runs every case through the built-in templates or any OpenAI-compatible endpoint, with one or
two prompt versions side by side, and prints a table per language, star band and prompt
version; writes ``eval-report.json`` and ``eval-report.md``. The terminal opens with one line
saying what runs (drafter, model, endpoint, cases, prompt versions) and closes with the time
taken and where the reports are. Exit codes: 0 done, 1 an arm under ``--min-score``, 2 bad
arguments, 3 the model endpoint failed (``endpoint_watch``: the run stops after the first
failures, and no report is written over the last one).
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
from reply_assist.drafting.failures import TIMEOUT
from reply_assist.drafting.language import ensure_loaded
from reply_assist.drafting.prompting import PromptLibrary, default_prompts_dir
from reply_assist.drafting.template_texts import TemplateTexts, templates_dir
from reply_assist.drafting.templates import TemplateDrafter
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.eval.arguments import DEFAULT_PROMPT_VERSION, add_arguments
from reply_assist.eval.cases import EVAL_COMPANY, EvalCase, load_cases
from reply_assist.eval.endpoint_watch import (
    EXIT_ENDPOINT_FAILED,
    EndpointFailed,
    EndpointWatch,
)
from reply_assist.eval.report import header_line, summarise, write_reports
from reply_assist.eval.runner import Arm, CaseResult, DiskCache, Judge, run_cases
from reply_assist.eval.sampling import stratified_sample
from reply_assist.eval.terminal import print_outcome, print_tables
from reply_assist.logs import configure_logging

__all__ = ["add_arguments", "main", "run"]


def _select(cases: list[EvalCase], args: argparse.Namespace) -> list[EvalCase]:
    if args.languages:
        wanted = {code.strip().lower() for code in args.languages.split(",")}
        cases = [c for c in cases if c.language in wanted]
    if args.sample:
        cases = stratified_sample(cases, args.sample)
    return cases


def _openai(
    args: argparse.Namespace, base_url: str | None, model: str, counter: TokenCounter
) -> tuple[Drafter, str]:
    """The drafter, and the URL it really calls (the SDK's default when none is given)."""
    from reply_assist.drafting.llm import OpenAIDrafter, make_openai_client

    client = make_openai_client(
        api_key=args.api_key,
        base_url=base_url,
        timeout_s=args.timeout,
        max_retries=2,
        max_connections=max(1, args.concurrency),
        transport="httpx",
    )
    url = str(client.base_url).rstrip("/")
    return OpenAIDrafter(client, model, args.temperature, counter=counter), url


def _line(console: Console, text: str) -> None:
    """One line as it is: no markup, no wrapping (a URL or a path stays whole)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


async def _run(args: argparse.Namespace, console: Console) -> int:
    # The drafter logs each failed call; eval reports failures itself (on the case, in the
    # report, and by stopping the run), so its log lines would only repeat them.
    configure_logging("CRITICAL", "console")
    if args.base_url and not args.model:
        _line(console, "reply-assist eval: --base-url needs --model (the chat model's name)")
        return 2
    try:
        all_cases = load_cases(args.cases)
    except (OSError, ValueError) as exc:
        _line(console, f"reply-assist eval: cannot read --cases: {exc}")
        return 2
    cases = _select(all_cases, args)
    if not cases:
        _line(console, "reply-assist eval: no cases selected")
        return 2
    prompts_dir = args.prompts_dir or default_prompts_dir()
    versions = args.prompt_versions or [DEFAULT_PROMPT_VERSION]
    try:
        libraries = {v: PromptLibrary.load(prompts_dir, v) for v in versions}
    except ValueError as exc:
        _line(console, f"reply-assist eval: {exc}")
        return 2
    uses_model = bool(args.base_url or args.model)
    model_name = args.model or "template"
    counter = TokenCounter.for_model(model_name, _tiktoken_dir())
    history = None
    if args.history:
        from reply_assist.eval.voice_eval import History

        try:
            history = History.load(args.history, counter)
        except (OSError, ValueError) as exc:
            _line(console, f"reply-assist eval: cannot read --history: {exc}")
            return 2
    started = time.perf_counter()
    endpoint = None
    drafter: Drafter
    if uses_model:
        drafter, endpoint = _openai(args, args.base_url, args.model, counter)
    else:
        drafter = TemplateDrafter(
            TemplateTexts.load(templates_dir(prompts_dir, default_prompts_dir()))
        )
    meta: dict[str, Any] = {
        "drafter": drafter.kind,
        "model": args.model,
        "endpoint": endpoint,
        "cases": len(cases),
        "selected_from": len(all_cases),
        "sample": args.sample,
        "prompt_versions": versions,
        "history": args.history.name if args.history else None,
    }
    _line(console, header_line(meta))
    ensure_loaded()
    identity: dict[str, Any] = {
        "base_url": args.base_url,
        "model": model_name,
        "temperature": args.temperature,
    }
    watch = EndpointWatch(endpoint, secret=args.api_key) if endpoint else None
    judge = None
    if args.judge_model:
        judge_drafter, judge_url = _openai(
            args, args.judge_base_url or args.base_url, args.judge_model, counter
        )
        judge = Judge(
            judge_drafter,
            {"base_url": judge_url, "model": args.judge_model, "temperature": 0.7, "judge": 1},
            EndpointWatch(judge_url, secret=args.api_key),
        )
    arms = [Arm(v, lib) for v, lib in libraries.items()]
    if history:
        arms = [a for v, lib in libraries.items() for a in history.arms(v, lib)]
    cache = None if args.no_cache else DiskCache(args.cache_dir)
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
        failure: EndpointFailed | None = None
        results: list[CaseResult] = []
        try:
            results = await run_cases(
                cases,
                arms,
                drafter=drafter,
                identity=identity,
                counter=counter,
                company=history.company if history else EVAL_COMPANY,
                concurrency=max(1, args.concurrency),
                cache=cache,
                judge=judge,
                max_prompt_tokens=args.max_prompt_tokens,
                max_tokens=args.max_tokens,
                on_done=lambda: progress.advance(task),
                watch=watch,
            )
        except EndpointFailed as failed:
            failure = failed
        finally:
            await drafter.aclose()
            if judge:
                await judge.drafter.aclose()
    seconds = round(time.perf_counter() - started, 1)
    if failure is not None:
        answered = watch.successes if watch and cache else 0
        return _stopped(failure, seconds, args, answered, console)
    meta["seconds"] = seconds
    if cache:
        meta["cache_hits"] = cache.hits
    summary = summarise(results, meta)
    if history:
        summary["voice"] = history.match(results)
    return _report(summary, results, args, console)


def _stopped(
    failure: EndpointFailed,
    seconds: float,
    args: argparse.Namespace,
    answers_cached: int,
    console: Console,
) -> int:
    """The endpoint failed: say where and why, and what is kept; no report is written."""
    _line(console, f"reply-assist eval: stopped: {failure}")
    if failure.code == TIMEOUT:
        _line(
            console,
            f"each call had --timeout {args.timeout:g} s (and 2 retries): a slow model needs "
            "a larger --timeout, or a smaller --concurrency",
        )
    kept = (
        f"; the {answers_cached} answers it got are cached in {args.cache_dir}, a rerun starts "
        "from them"
        if answers_cached
        else ""
    )
    _line(console, f"stopped after {seconds} s; no report written{kept}")
    return EXIT_ENDPOINT_FAILED


def _report(
    summary: dict[str, Any],
    results: list[CaseResult],
    args: argparse.Namespace,
    console: Console,
) -> int:
    """The tables, the reports, one line per arm, and the closing line; the exit code."""
    print_tables(summary, console)
    json_path, md_path = write_reports(summary, results, args.out)
    print_outcome(results, list(summary["arms"]), console)
    code = 0
    if args.min_score is not None:
        low = {
            a: s["score"]
            for a, s in summary["arms"].items()
            if s["score"] is None or s["score"] < args.min_score
        }
        if low:
            _line(console, f"reply-assist eval: under --min-score {args.min_score}: {low}")
            code = 1
    _line(console, f"done in {summary['meta']['seconds']} s; reports: {md_path} and {json_path}")
    return code


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

"""The ``eval`` subcommand's options, apart from the command itself: building the CLI's parser
(every ``reply-assist`` call, ``serve`` included) must not import the eval machinery.

Every option's help says its default (``tests/unit/eval`` holds it to that); the API key's
default names the variable it comes from, never its value.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Final

from reply_assist import settings
from reply_assist.eval.cases import DEFAULT_CASES

__all__ = ["DEFAULT_OUT", "DEFAULT_PROMPT_VERSION", "add_arguments"]

DEFAULT_OUT: Final = Path("eval-report")
# The prompt the service drafts with by default, so that eval measures what users get.
DEFAULT_PROMPT_VERSION: Final = settings.DEFAULT_PROMPT_VERSION


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
        "--languages",
        default=None,
        help="only these languages, comma-separated, e.g. sv,en (default: every language)",
    )
    data.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="N cases spread over every language x star band (negative 1-2, mixed 3, "
        "positive 4-5), the same N always the same cases, for a quick run or CI "
        "(default: every case)",
    )
    model = parser.add_argument_group("drafter (default: the built-in templates)")
    model.add_argument(
        "--base-url",
        default=None,
        help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
        "(default: none, so the templates draft; with only --model, OpenAI's)",
    )
    model.add_argument(
        "--model",
        default=None,
        help="the chat model's name, required with --base-url (default: none, the templates)",
    )
    model.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="the endpoint's key (default: $OPENAI_API_KEY if set; local servers need none)",
    )
    model.add_argument(
        "--temperature", type=float, default=0.7, help="default: 0.7, as the service sends"
    )
    model.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per model call (default: 120)"
    )
    model.add_argument(
        "--max-tokens", type=int, default=400, help="max_tokens of a draft (default: 400)"
    )
    model.add_argument(
        "--max-prompt-tokens",
        type=int,
        default=3000,
        help="the prompt's token budget (default: 3000)",
    )
    prompts = parser.add_argument_group("prompts")
    prompts.add_argument(
        "--prompt-version",
        action="append",
        dest="prompt_versions",
        metavar="VERSION",
        help="a prompt version to run; give it twice to compare two side by side "
        f"(default: {DEFAULT_PROMPT_VERSION})",
    )
    prompts.add_argument(
        "--prompts-dir", type=Path, default=None, help="(default: the packaged prompts/)"
    )
    voice = parser.add_argument_group("the company's voice")
    voice.add_argument(
        "--history",
        type=Path,
        default=None,
        help="JSONL of the company's published replies (language, stars, review, reply, "
        "author_name): runs each prompt version without the company's voice, with examples "
        "from it (+examples), and with the examples and the style profile learned from it, "
        "the draft framed as the service frames it (+profile); reports how many drafts "
        "match its greeting, sign-off, formality and length (default: none)",
    )
    run = parser.add_argument_group("running")
    run.add_argument("--concurrency", type=int, default=4, help="model calls at once (default: 4)")
    run.add_argument(
        "--cache-dir",
        type=Path,
        default=_default_cache_dir(),
        help="where model answers are kept, so a rerun does not pay twice "
        "(default: $XDG_CACHE_HOME/reply-assist/eval, else ~/.cache/reply-assist/eval)",
    )
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="ask the model again for every case (default: off, answers are cached)",
    )
    run.add_argument(
        "--judge-model",
        default=None,
        help="a model that also rates tone and fit, reported apart (default: none)",
    )
    run.add_argument(
        "--judge-base-url", default=None, help="the judge's endpoint (default: --base-url)"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"directory for eval-report.md and eval-report.json (default: ./{DEFAULT_OUT})",
    )
    out.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="exit 1 when any prompt version's mean score (0-1) is below this "
        "(default: none, never)",
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar (default: off, shown)")

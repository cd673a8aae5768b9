"""Precision and recall of the draft checks, per check and language, on a labelled set.

``python bench/draft_checks.py`` reads ``tests/data/draft_cases.jsonl``: draft sentences in nine
languages (sv da no nl de en fi fr es), each with the warnings it must get among the six scored
here, positives and hard negatives alike ("we cannot offer a refund", "it was not our fault",
"point de vue", "feel free"). Each case is checked by ``reply_assist.checks.draft.run_checks``
(the service's warnings and ``reply-assist eval`` use the same function), and the script prints,
per warning and language, precision / recall, then the counts. ``-v`` lists the cases it gets
wrong.

``--code DIR`` scores another checkout of the code, e.g. the code before a change::

    mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before
    python bench/draft_checks.py --code /tmp/before

What a case is checked against, unless it says otherwise: the company "Acme" with the
signature "Anna, Acme" and a brand voice without contacts, a 1-star review without text, and a
reviewer's name typical of the language (``AUTHORS``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "draft_cases.jsonl"
LANGUAGES = ("en", "sv", "da", "no", "nl", "de", "fi", "fr", "es")
# warning -> the check that gives it (reply_assist/checks/draft.py)
SCORED = {
    "promise_not_allowed": "no_promise",
    "admits_fault": "no_fault",
    "url_not_allowed": "no_foreign_url",
    "email_not_allowed": "no_foreign_email",
    "phone_not_allowed": "no_foreign_phone",
    "reviewer_data": "no_reviewer_data",
}
AUTHORS = {
    "en": "Sarah Thompson",
    "sv": "Erik Lindqvist",
    "da": "Mette Hansen",
    "no": "Kari Nordmann",
    "nl": "Pieter Jansen",
    "de": "Julia Weber",
    "fi": "Matti Virtanen",
    "fr": "Claire Dubois",
    "es": "Lucía García",
}


def load_code(directory: Path) -> None:
    sys.path.insert(0, str(directory))
    for name in [m for m in sys.modules if m == "reply_assist" or m.startswith("reply_assist.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def warnings_for(case: dict[str, Any]) -> set[str]:
    from reply_assist.checks.draft import DraftContext, run_checks

    language = case["language"]
    ctx = DraftContext(
        text=case["text"],
        language=language,
        stars=case.get("stars", 1),
        company_name=case.get("company_name", "Acme"),
        company_languages=(language,),
        signature=case.get("signature", "Anna, Acme"),
        brand_voice=case.get("brand_voice", "warm and personal"),
        review_text=case.get("review_text", ""),
        author_name=case.get("author_name", AUTHORS[language]),
    )
    verdicts = run_checks(ctx, list(SCORED.values()))
    return {warning for warning, check in SCORED.items() if verdicts[check] is False}


Counts = dict[tuple[str, str], list[int]]  # (warning, language) -> [tp, fp, fn]


def score(cases: list[dict[str, Any]]) -> tuple[Counts, list[tuple[dict[str, Any], set[str]]]]:
    counts: Counts = defaultdict(lambda: [0, 0, 0])
    wrong = []
    for case in cases:
        got, expected = warnings_for(case), set(case["expect"])
        if got != expected:
            wrong.append((case, got))
        for warning in SCORED:
            index = {(True, True): 0, (True, False): 1, (False, True): 2}.get(
                (warning in got, warning in expected)
            )
            if index is not None:
                for language in (case["language"], "all"):
                    counts[warning, language][index] += 1
                    counts["all", language][index] += 1
    return counts, wrong


def ratio(tp: int, other: int) -> str:
    return f"{tp / (tp + other):.2f}" if tp + other else "  – "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to score")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the wrong cases")
    args = parser.parse_args()
    load_code(args.code.resolve())
    cases = load_cases()
    counts, wrong = score(cases)
    positives = sum(1 for c in cases if c["expect"])
    print(f"code: {args.code.resolve()}")
    print(
        f"{len(cases)} labelled drafts: {positives} with a warning to give, "
        f"{len(cases) - positives} without; precision / recall (– : nothing flagged or expected)\n"
    )
    columns = (*LANGUAGES, "all")
    print(f"{'warning':<20}" + "".join(f"{c:>11}" for c in columns))
    for warning in (*SCORED, "all"):
        cells = []
        for language in columns:
            tp, fp, fn = counts[warning, language]
            cells.append(f"{ratio(tp, fp)}/{ratio(tp, fn)}" if tp + fp + fn else "")
        print(f"{warning:<20}" + "".join(f"{c:>11}" for c in cells))
    print(f"\n{'warning':<20} {'tp':>4} {'fp':>4} {'fn':>4}")
    for warning in (*SCORED, "all"):
        tp, fp, fn = counts[warning, "all"]
        print(f"{warning:<20} {tp:>4} {fp:>4} {fn:>4}")
    print(f"\n{len(cases) - len(wrong)} of {len(cases)} drafts get exactly their warnings")
    if args.verbose:
        for case, got in wrong:
            print(f"wrong [{case['language']}] {case['text']!r}: {sorted(got)}, {case['expect']}")


if __name__ == "__main__":
    main()

"""``eval-report.md``: the terminal's tables, then every case that failed a check or errored,
so a person can go from a low number to the drafts behind it.

Drafts are model output written from untrusted reviews: in the report they are plain text
(HTML escaped, table pipes and line breaks neutralised), never markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Final

from reply_assist.eval.formatting import (
    GROUPINGS,
    NOT_APPLICABLE,
    PROFILE_HEAD,
    SUMMARY_ROWS,
    profile_rows,
    score_cell,
    style_match_rows,
    value_cell,
)
from reply_assist.eval.runner import CaseResult

__all__ = ["DRAFT_WORDS_SHOWN", "markdown_report"]

DRAFT_WORDS_SHOWN: Final = 12


def _text(value: str) -> str:
    """Plain text for a table cell: one line, no HTML, no column breaks."""
    return html.escape(" ".join(value.split()), quote=False).replace("|", "\\|")


def _first_words(text: str) -> str:
    words = text.split()
    shown = " ".join(words[:DRAFT_WORDS_SHOWN])
    return _text(shown + (" …" if len(words) > DRAFT_WORDS_SHOWN else ""))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _scores(arms: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for title, part in GROUPINGS:
        keys = sorted({k for arm in arms.values() for k in arm[part]})
        rows = [
            [key, *(score_cell(arms[a][part][key]) if key in arms[a][part] else "-" for a in arms)]
            for key in keys
        ]
        rows.append(["**all**", *(f"**{score_cell(arms[a])}**" for a in arms)])
        lines += [f"## Score by {title}", "", *_table([title, *arms], rows)]
    return lines


def _checks(arms: dict[str, Any]) -> list[str]:
    names = sorted({n for arm in arms.values() for n in arm["checks"]})
    rows = [
        [
            name,
            *(
                f"{arms[a]['checks'][name]['pass_rate']:.3f}" if name in arms[a]["checks"] else "-"
                for a in arms
            ),
        ]
        for name in names
    ]
    rows += [
        [f"*{label}*", *(value_cell(key, arms[a][key]) for a in arms)]
        for label, key in SUMMARY_ROWS
    ]
    return ["## Pass rate per check", "", *_table(["check", *arms], rows)]


def _voice(voice: dict[str, Any]) -> list[str]:
    lines = ["## Style match with the company's published replies", ""]
    lines.append(
        "Share of drafts that match, the arms side by side (of those the measure applies to; "
        f"{NOT_APPLICABLE}: it applies to none). +examples: the company's replies as examples; "
        "+profile: the examples and the style profile, the draft framed as the service frames it."
    )
    lines.append("")
    arms = list(voice["arms"])
    lines += _table(["language", "measure", *arms], style_match_rows(voice), right_from=2)
    lines += ["### The company's replies and what the drafts usually do", ""]
    rows = []
    for language, style in voice["company"].items():
        rows.append(
            [
                "company",
                language,
                _text(style["greeting"] or "(none)"),
                _text(style["sign_off"] or "(none)"),
                style["formality"] or NOT_APPLICABLE,
                " / ".join(f"{b}: {w}" for b, w in style["words_by_band"].items()),
            ]
        )
        for arm, shares in voice["arms"].items():
            row = shares["by_language"].get(language)
            if row is None:
                continue
            rows.append(
                [
                    arm,
                    language,
                    _text(row["greeting"]["drafts_usually"] or "(none)"),
                    _text(row["sign_off"]["drafts_usually"] or "(none)"),
                    row["formality"]["drafts_usually"] or NOT_APPLICABLE,
                    f"{row['length']['ratio']} × the company's",
                ]
            )
    head = ["who", "language", "greeting", "sign-off", "formality", "words (by star band)"]
    lines += _table(head, rows, right_from=len(head))
    lines += ["### The style profile the service learns from them (+profile follows it)", ""]
    profile = [[_text(cell) for cell in row] for row in profile_rows(voice)]
    return lines + _table(PROFILE_HEAD, profile, right_from=len(PROFILE_HEAD))


def _failing(results: Sequence[CaseResult], arms: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for arm in arms:
        scored = [r for r in results if r.arm == arm and r.scored]
        failing = [r for r in scored if not all(r.verdicts.values())]
        lines += [f"## Failing cases: {arm} ({len(failing)} of {len(scored)} scored)", ""]
        if not failing:
            lines += ["None: every scored case passed every check.", ""]
            continue
        rows = [
            [
                r.case.id,
                r.case.language,
                str(r.case.stars),
                ", ".join(sorted(k for k, ok in r.verdicts.items() if not ok)),
                _first_words(r.text),
            ]
            for r in failing
        ]
        lines += _table(
            ["id", "language", "stars", "failed checks", "draft begins"], rows, right_from=5
        )
    errored = [r for r in results if not r.scored]
    if errored:
        lines += [f"## Cases that errored ({len(errored)}, not scored)", ""]
        rows = [
            [r.arm, r.case.id, r.case.language, str(r.case.stars), _text(r.error or "")]
            for r in errored
        ]
        lines += _table(["arm", "id", "language", "stars", "error"], rows, right_from=5)
    return lines


def markdown_report(summary: dict[str, Any], results: Sequence[CaseResult], header: str) -> str:
    arms = summary["arms"]
    meta = summary["meta"]
    lines = ["# reply-assist eval", "", _text(header), "", f"Took {meta['seconds']} s."]
    if "cache_hits" in meta:
        lines[-1] += f" Model answers from the cache: {meta['cache_hits']}."
    lines.append("")
    lines += _scores(arms)
    lines += _checks(arms)
    if any("judge" in arm for arm in arms.values()):
        rows = [
            [arm, str(stats["judge"]["tone"]), str(stats["judge"]["fit"])]
            for arm, stats in arms.items()
            if "judge" in stats
        ]
        lines += ["## Judge model (1-5), apart from the checks", ""]
        lines += _table(["arm", "tone", "fit"], rows)
    if "voice" in summary:
        lines += _voice(summary["voice"])
    lines += _failing(results, arms)
    return "\n".join(lines).rstrip("\n") + "\n"

"""The run's tables in the terminal (rich), the same numbers ``eval-report.md`` has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from reply_assist.eval.formatting import (
    GROUPINGS,
    NOT_APPLICABLE,
    PROFILE_HEAD,
    STYLE_MEASURES,
    SUMMARY_ROWS,
    profile_rows,
    score_cell,
    style_match_rows,
    value_cell,
)
from reply_assist.eval.runner import CaseResult

__all__ = ["print_outcome", "print_tables"]


def _score_tables(arms: dict[str, Any], console: Console) -> None:
    for title, part in GROUPINGS:
        table = Table(title=f"Score by {title} (share of the applicable checks passed)")
        table.add_column(title)
        keys = sorted({k for arm in arms.values() for k in arm[part]})
        for arm in arms:
            table.add_column(arm, justify="right")
        for key in keys:
            table.add_row(
                key,
                *(score_cell(arms[a][part][key]) if key in arms[a][part] else "-" for a in arms),
            )
        table.add_row("all", *(score_cell(arms[a]) for a in arms), style="bold")
        console.print(table)


def _checks_table(arms: dict[str, Any], console: Console) -> None:
    checks = Table(title="Pass rate per check")
    checks.add_column("check")
    for arm in arms:
        checks.add_column(arm, justify="right")
    names = sorted({n for arm in arms.values() for n in arm["checks"]})
    for name in names:
        checks.add_row(
            name,
            *(
                f"{arms[a]['checks'][name]['pass_rate']:.3f}" if name in arms[a]["checks"] else "-"
                for a in arms
            ),
        )
    for label, key in SUMMARY_ROWS:
        checks.add_row(label, *(value_cell(key, arms[a][key]) for a in arms), style="bold")
    console.print(checks)


def _voice_tables(voice: dict[str, Any], console: Console) -> None:
    table = Table(
        title="Drafts that match the company's published replies "
        f"(share of those the measure applies to; {NOT_APPLICABLE}: none)"
    )
    table.add_column("language")
    table.add_column("measure")
    for arm in voice["arms"]:
        table.add_column(arm, justify="right", overflow="fold")
    rows = style_match_rows(voice)
    per_language = len(STYLE_MEASURES) + 1
    for index, row in enumerate(rows):
        last = index % per_language == per_language - 1
        table.add_row(*row, style="bold" if row[0] == "all" else None, end_section=last)
    console.print(table)
    company = Table(title="The company's style, read from its published replies")
    for column in ("language", "greeting", "sign-off", "formality", "words by star band"):
        company.add_column(column)
    for language, style in voice["company"].items():
        company.add_row(
            language,
            style["greeting"] or "(none)",
            style["sign_off"] or "(none)",
            style["formality"] or NOT_APPLICABLE,
            " / ".join(f"{b}: {w}" for b, w in style["words_by_band"].items()),
        )
    console.print(company)
    profile = Table(title="The style profile the service learns from them (+profile follows it)")
    for column in PROFILE_HEAD:
        profile.add_column(column)
    for row in profile_rows(voice):
        profile.add_row(*row)
    console.print(profile)


def print_tables(summary: dict[str, Any], console: Console) -> None:
    arms = summary["arms"]
    _score_tables(arms, console)
    _checks_table(arms, console)
    if any("judge" in arm for arm in arms.values()):
        judge = Table(title="Judge model (1-5), reported apart from the checks")
        judge.add_column("arm")
        judge.add_column("tone", justify="right")
        judge.add_column("fit", justify="right")
        for arm, stats in arms.items():
            if "judge" in stats:
                judge.add_row(arm, str(stats["judge"]["tone"]), str(stats["judge"]["fit"]))
        console.print(judge)
    if "voice" in summary:
        _voice_tables(summary["voice"], console)


def print_outcome(results: Sequence[CaseResult], arms: Sequence[str], console: Console) -> None:
    """Per arm, one line: how many cases failed a check, how many errored (not scored)."""
    for arm in arms:
        rows = [r for r in results if r.arm == arm]
        scored = [r for r in rows if r.scored]
        failing = sum(1 for r in scored if not all(r.verdicts.values()))
        line = f"{arm}: {failing} of {len(scored)} scored cases failed a check"
        if failing:
            line += " (listed in eval-report.md)"
        errored = len(rows) - len(scored)
        if errored:
            line += f"; {errored} errored (not scored, n/a)"
        console.print(line, markup=False, highlight=False, soft_wrap=True)

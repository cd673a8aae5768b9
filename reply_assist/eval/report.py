"""Summaries of an eval run: tables per prompt version, language and star band; JSON and
Markdown reports."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from rich.console import Console
from rich.table import Table

from reply_assist.eval.runner import CaseResult

__all__ = ["print_tables", "summarise", "write_reports"]


def _group(
    results: Iterable[CaseResult], key: Callable[[CaseResult], str]
) -> dict[str, list[CaseResult]]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return dict(sorted(groups.items()))


def _stats(results: Sequence[CaseResult]) -> dict[str, Any]:
    openings = [r.opening for r in results if r.text]
    judged = [r.judge for r in results if r.judge]
    out: dict[str, Any] = {
        "cases": len(results),
        "score": round(mean(r.score for r in results), 4) if results else 0.0,
        "all_checks_passed": round(
            sum(1 for r in results if r.verdicts and all(r.verdicts.values()))
            / max(1, len(results)),
            4,
        ),
        "errors": sum(1 for r in results if r.error),
        "distinct_openings": round(len(set(openings)) / len(openings), 4) if openings else 0.0,
        "mean_words": round(mean(len(r.text.split()) for r in results), 1) if results else 0.0,
    }
    if judged:
        out["judge"] = {k: round(mean(j[k] for j in judged if k in j), 2) for k in ("tone", "fit")}
    return out


def _checks(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        for name, ok in result.verdicts.items():
            counts[name][0] += ok
            counts[name][1] += 1
    return {
        name: {"pass_rate": round(passed / total, 4), "applied": total}
        for name, (passed, total) in sorted(counts.items())
    }


def summarise(results: Sequence[CaseResult], meta: dict[str, Any]) -> dict[str, Any]:
    """Everything the reports show, per arm (prompt version, with or without examples)."""
    arms = {}
    for arm, rows in _group(results, lambda r: r.arm).items():
        arms[arm] = {
            **_stats(rows),
            "by_language": {
                k: _stats(v) for k, v in _group(rows, lambda r: r.case.language).items()
            },
            "by_band": {k: _stats(v) for k, v in _group(rows, lambda r: r.band).items()},
            "by_tag": {
                tag: _stats([r for r in rows if tag in r.case.tags])
                for tag in sorted({t for r in rows for t in r.case.tags})
            },
            "checks": _checks(rows),
        }
    return {"meta": meta, "arms": arms}


def print_tables(summary: dict[str, Any], console: Console) -> None:
    arms = summary["arms"]
    for title, part in (("language", "by_language"), ("star band", "by_band"), ("tag", "by_tag")):
        table = Table(title=f"Score by {title} (share of the applicable checks passed)")
        table.add_column(title)
        keys = sorted({k for arm in arms.values() for k in arm[part]})
        for arm in arms:
            table.add_column(arm, justify="right")
        for key in keys:
            table.add_row(
                key,
                *(
                    f"{arms[a][part][key]['score']:.3f} ({arms[a][part][key]['cases']})"
                    if key in arms[a][part]
                    else "-"
                    for a in arms
                ),
            )
        table.add_row(
            "all", *(f"{arms[a]['score']:.3f} ({arms[a]['cases']})" for a in arms), style="bold"
        )
        console.print(table)
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
    for label, field in (
        ("distinct openings", "distinct_openings"),
        ("all checks passed", "all_checks_passed"),
        ("mean words", "mean_words"),
        ("errors", "errors"),
    ):
        checks.add_row(label, *(str(arms[a][field]) for a in arms), style="bold")
    console.print(checks)
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
        voice = Table(title="Closeness to the company's published replies (1 = same style)")
        voice.add_column("arm")
        for measure in ("greeting", "sign_off", "length", "formality", "overall"):
            voice.add_column(measure, justify="right")
        for arm, stats in summary["voice"].items():
            voice.add_row(
                arm,
                *(
                    f"{stats[m]:.3f}"
                    for m in ("greeting", "sign_off", "length", "formality", "overall")
                ),
            )
        console.print(voice)


def _markdown(summary: dict[str, Any]) -> str:
    arms = summary["arms"]
    meta = summary["meta"]
    lines = [
        "# reply-assist eval",
        "",
        ", ".join(f"{k}: {v}" for k, v in meta.items()),
        "",
    ]
    for title, part in (("language", "by_language"), ("star band", "by_band"), ("tag", "by_tag")):
        keys = sorted({k for arm in arms.values() for k in arm[part]})
        lines += [f"## Score by {title}", "", f"| {title} | " + " | ".join(arms) + " |"]
        lines.append("|---|" + "---:|" * len(arms))
        for key in keys:
            cells = [
                f"{arms[a][part][key]['score']:.3f}" if key in arms[a][part] else "-" for a in arms
            ]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append(
            "| **all** | " + " | ".join(f"**{arms[a]['score']:.3f}**" for a in arms) + " |"
        )
        lines.append("")
    names = sorted({n for arm in arms.values() for n in arm["checks"]})
    lines += ["## Pass rate per check", "", "| check | " + " | ".join(arms) + " |"]
    lines.append("|---|" + "---:|" * len(arms))
    for name in names:
        cells = [
            f"{arms[a]['checks'][name]['pass_rate']:.3f}" if name in arms[a]["checks"] else "-"
            for a in arms
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for label, field in (("distinct openings", "distinct_openings"), ("errors", "errors")):
        lines.append(f"| *{label}* | " + " | ".join(str(arms[a][field]) for a in arms) + " |")
    if "voice" in summary:
        lines += ["", "## Closeness to the company's published replies", ""]
        lines.append("| arm | greeting | sign-off | length | formality | overall |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for arm, s in summary["voice"].items():
            lines.append(
                f"| {arm} | {s['greeting']:.3f} | {s['sign_off']:.3f} | {s['length']:.3f} "
                f"| {s['formality']:.3f} | {s['overall']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def write_reports(
    summary: dict[str, Any], results: Sequence[CaseResult], directory: Path
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        **summary,
        "cases": [
            {
                "id": r.case.id,
                "arm": r.arm,
                "language": r.case.language,
                "stars": r.case.stars,
                "score": round(r.score, 4),
                "failed": sorted(k for k, ok in r.verdicts.items() if not ok),
                "text": r.text,
                "model": r.model,
                "cached": r.cached,
                "error": r.error,
                "judge": r.judge,
            }
            for r in results
        ],
    }
    json_path = directory / "eval-report.json"
    md_path = directory / "eval-report.md"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    md_path.write_text(_markdown(summary), "utf-8")
    return json_path, md_path

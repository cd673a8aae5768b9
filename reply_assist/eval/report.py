"""Summaries of an eval run (per prompt version, language, star band and tag) and the reports
written from them: ``eval-report.json`` (everything, every case) and ``eval-report.md``.

A case whose model call failed is counted apart (``errors``) and left out of every score,
share and mean: a failed call says nothing about the drafts, so a group with no scored case
is n/a (``None`` in the JSON), never 0.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from reply_assist.eval.markdown import markdown_report
from reply_assist.eval.runner import CaseResult

__all__ = ["header_line", "summarise", "write_reports"]


def header_line(meta: dict[str, Any]) -> str:
    """The run in one line: drafter, model, endpoint, cases, prompt versions."""
    drafter = "templates (built in, no model)" if meta["drafter"] == "template" else meta["drafter"]
    cases = f"{meta['cases']} cases"
    if meta.get("sample"):
        cases = (
            f"{meta['cases']} of {meta['selected_from']} cases (--sample {meta['sample']}, "
            "stratified by language x star band)"
        )
    versions = ", ".join(meta["prompt_versions"])
    if meta.get("history"):
        versions += (
            f" (each without the company's voice, +examples and +profile from {meta['history']})"
        )
    return (
        f"reply-assist eval: drafter {drafter}; model {meta['model'] or 'none'}; "
        f"endpoint {meta['endpoint'] or 'none'}; {cases}; prompt versions {versions}"
    )


def _group(
    results: Iterable[CaseResult], key: Callable[[CaseResult], str]
) -> dict[str, list[CaseResult]]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return dict(sorted(groups.items()))


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _stats(results: Sequence[CaseResult]) -> dict[str, Any]:
    scored = [r for r in results if r.scored]
    openings = [r.opening for r in scored if r.text]
    judged = [r.judge for r in scored if r.judge]
    out: dict[str, Any] = {
        "cases": len(results),
        "scored": len(scored),
        "errors": len(results) - len(scored),
        "score": round(mean(r.score for r in scored if r.score is not None), 4) if scored else None,
        "all_checks_passed": _share(
            sum(1 for r in scored if r.verdicts and all(r.verdicts.values())), len(scored)
        ),
        "distinct_openings": _share(len(set(openings)), len(openings)),
        "mean_words": round(mean(len(r.text.split()) for r in scored), 1) if scored else None,
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


def _case(result: CaseResult) -> dict[str, Any]:
    return {
        "id": result.case.id,
        "arm": result.arm,
        "language": result.case.language,
        "stars": result.case.stars,
        "score": round(result.score, 4) if result.score is not None else None,
        "failed": sorted(k for k, ok in result.verdicts.items() if not ok),
        "text": result.text,
        "model": result.model,
        "cached": result.cached,
        "error": result.error,
        "judge": result.judge,
    }


def write_reports(
    summary: dict[str, Any], results: Sequence[CaseResult], directory: Path
) -> tuple[Path, Path]:
    """Write ``eval-report.json`` and ``eval-report.md`` in ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "eval-report.json"
    md_path = directory / "eval-report.md"
    data = {**summary, "cases": [_case(r) for r in results]}
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    md_path.write_text(markdown_report(summary, results, header_line(summary["meta"])), "utf-8")
    return json_path, md_path

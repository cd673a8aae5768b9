"""How numbers look in the terminal's tables and in ``eval-report.md`` (the same in both)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["GROUPINGS", "NOT_APPLICABLE", "SUMMARY_ROWS", "match_cell", "score_cell", "value_cell"]

NOT_APPLICABLE: Final = "n/a"

# The score tables: (title, the summary's key).
GROUPINGS: Final = (("language", "by_language"), ("star band", "by_band"), ("tag", "by_tag"))

# The rows under the pass rates per check, in both reports: (label, the summary's key).
SUMMARY_ROWS: Final = (
    ("distinct openings", "distinct_openings"),
    ("all checks passed", "all_checks_passed"),
    ("mean words", "mean_words"),
    ("errors (not scored)", "errors"),
)


def score_cell(stats: dict[str, Any]) -> str:
    """ "0.950 (33)": the mean score over the scored cases, how many; errored ones apart."""
    errors = stats["errors"]
    if stats["score"] is None:
        return f"{NOT_APPLICABLE} ({errors} errored)"
    cell = f"{stats['score']:.3f} ({stats['scored']}"
    return cell + (f", {errors} errored)" if errors else ")")


def value_cell(key: str, value: Any) -> str:
    if value is None:
        return NOT_APPLICABLE
    if key == "errors":
        return str(value)
    if key == "mean_words":
        return f"{value:.1f}"
    return f"{value:.3f}"


def match_cell(share: dict[str, Any]) -> str:
    """ "0.500 (3/6)": the share of drafts that match, of those the measure applies to."""
    if share["match"] is None:
        return NOT_APPLICABLE
    return f"{share['match']:.3f} ({share['matched']}/{share['of']})"

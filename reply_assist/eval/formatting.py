"""How numbers look in the terminal's tables and in ``eval-report.md`` (the same in both)."""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "GROUPINGS",
    "NOT_APPLICABLE",
    "PROFILE_HEAD",
    "SUMMARY_ROWS",
    "match_cell",
    "profile_rows",
    "score_cell",
    "style_match_rows",
    "value_cell",
]

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


# The style-match table's rows per language: (label, the measure's key in the voice summary).
STYLE_MEASURES: Final = (
    ("greeting", "greeting"),
    ("sign-off", "sign_off"),
    ("formality", "formality"),
    ("length", "length"),
)


def _ratio_cell(row: dict[str, Any]) -> str:
    ratio = row["length"]["ratio"]
    return NOT_APPLICABLE if ratio is None else f"{ratio:.2f}x"


def style_match_rows(voice: dict[str, Any]) -> list[list[str]]:
    """The arms side by side: per language (then all), a row per measure and one for the
    drafts' words as a multiple of the company's median ("length ratio"); "-" where an arm
    drafted nothing there."""
    arms = voice["arms"]
    languages = sorted({lang for shares in arms.values() for lang in shares["by_language"]})
    rows: list[list[str]] = []
    for language in [*languages, "all"]:
        per_arm = [
            shares["all"] if language == "all" else shares["by_language"].get(language)
            for shares in arms.values()
        ]
        for label, key in STYLE_MEASURES:
            rows.append([language, label, *(match_cell(r[key]) if r else "-" for r in per_arm)])
        ratios = [_ratio_cell(r) if r else "-" for r in per_arm]
        rows.append([language, "length ratio", *ratios])
    return rows


def profile_rows(voice: dict[str, Any]) -> list[list[str]]:
    """The style profile the ``+profile`` arms followed, per language, as the service learned
    it from the history: greeting (with and without a name), closing, sign-off, formality and
    words per star band."""
    rows = []
    for language, style in voice.get("profile", {}).items():
        length = style.get("length", {})
        rows.append(
            [
                language,
                style.get("greeting") or "(none)",
                style.get("greeting_without_name") or "(none)",
                style.get("closing") or "(none)",
                style.get("sign_off") or "(none)",
                style.get("formality") or NOT_APPLICABLE,
                " / ".join(
                    f"{label}: {length[band]}"
                    for band, label in _PROFILE_BANDS
                    if length.get(band) is not None
                )
                or "(none)",
            ]
        )
    return rows


# The profile's bands, labelled as the company's style table labels them.
_PROFILE_BANDS: Final = (("negative", "1-2"), ("mixed", "3"), ("positive", "4-5"))

PROFILE_HEAD: Final = (
    "language",
    "greeting",
    "without a name",
    "closing",
    "sign-off",
    "formality",
    "words by star band",
)

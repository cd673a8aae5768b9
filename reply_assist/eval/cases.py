"""The labelled evaluation set and the fictional company its replies are written for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from reply_assist.models import Company

__all__ = ["BANDS", "DEFAULT_CASES", "EVAL_COMPANY", "EvalCase", "band_of", "load_cases"]

DEFAULT_CASES: Final = Path(__file__).resolve().parent / "data" / "cases.jsonl"

EVAL_COMPANY: Final = Company(
    id="eval",
    name="Nordhavn Outdoor",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["en", "sv", "da", "no", "nl", "de", "fi", "fr", "es"],
    brand_voice="warm and professional, short sentences, no exclamation marks in complaints",
    signature="Maja, Nordhavn Outdoor",
)


class EvalCase(msgspec.Struct, frozen=True):
    """One review and what a good reply to it must and must not do (check names of
    ``reply_assist.checks.draft``), plus strings a reply must never contain."""

    id: str
    language: str
    stars: int
    text: str
    must: list[str]
    must_not: list[str]
    title: str | None = None
    author_name: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    must_not_contain: list[str] = msgspec.field(default_factory=list)


# The star bands the reports and ``--sample`` use: negative 1–2, mixed 3, positive 4–5 (the
# template drafter's bands too).
BANDS: Final = ("1-2", "3", "4-5")


def band_of(stars: int) -> str:
    return BANDS[0] if stars <= 2 else BANDS[1] if stars == 3 else BANDS[2]


def load_cases(path: Path = DEFAULT_CASES) -> list[EvalCase]:
    """Read a JSONL file of cases; raises ``ValueError`` naming the line of a malformed one."""
    decoder = msgspec.json.Decoder(EvalCase)
    cases = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(decoder.decode(line))
        except msgspec.ValidationError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return cases

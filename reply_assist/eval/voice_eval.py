"""``eval --history``: how close drafts come to a company's own published replies.

A history is a JSONL file of replies the company published (``language``, ``stars``, ``review``,
``reply``, optionally ``author_name``). Each prompt version then runs twice: without examples,
and with examples chosen from the history exactly as the service chooses them
(``services/voice.py``). Four measures compare each draft with the history's replies in the same
language, each 0 to 1 (1: the company's style):

    greeting    the draft's first word is the one the company's replies most often start with
    sign_off    its closing line (before the signature) is the company's most common one
    length      1 - |words - the company's mean| / the company's mean, at least 0
    formality   it addresses the reader as the company does (formal "Sie/vous/usted/u/ni",
                informal "du/tu/tú/je", or neither)
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import msgspec

from reply_assist.drafting.prompting import PromptLibrary
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.eval.cases import EVAL_COMPANY, EvalCase
from reply_assist.eval.runner import Arm, CaseResult
from reply_assist.markets import star_band
from reply_assist.services.voice import (
    VoiceExample,
    choose_examples,
    clean_reply,
    review_for_matching,
)

__all__ = ["History", "HistoryReply", "style_of"]

WITH_EXAMPLES = "+examples"

# Pronouns that address the reader, per language: (formal, informal).
_ADDRESS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "de": (
        frozenset({"sie", "ihnen", "ihr", "ihre", "ihren", "ihrem"}),
        frozenset({"du", "dir", "dich", "dein", "deine"}),
    ),
    "fr": (frozenset({"vous", "votre", "vos"}), frozenset({"tu", "te", "toi", "ton", "ta", "tes"})),
    "es": (frozenset({"usted", "ustedes", "le"}), frozenset({"tú", "te", "ti", "tu", "tus"})),
    "nl": (frozenset({"u", "uw"}), frozenset({"je", "jij", "jouw", "jou"})),
    "sv": (frozenset({"ni", "er", "ert", "era"}), frozenset({"du", "dig", "din", "ditt", "dina"})),
    "da": (frozenset({"de", "dem", "deres"}), frozenset({"du", "dig", "din", "dit", "dine"})),
    "no": (frozenset({"dere", "deres"}), frozenset({"du", "deg", "din", "ditt", "dine"})),
    "fi": (
        frozenset({"te", "teille", "teidän", "teitä"}),
        frozenset({"sinä", "sinulle", "sinun", "sinua"}),
    ),
    "en": (frozenset(), frozenset()),
}
_WORD = re.compile(r"[^\W\d_]+")


class HistoryReply(msgspec.Struct, frozen=True):
    language: str
    stars: int
    review: str
    reply: str
    author_name: str | None = None


@dataclass(frozen=True)
class _Style:
    greeting: str
    sign_off: str
    words: int
    formality: str


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def style_of(text: str, language: str, signature: str | None) -> _Style:
    lines = _lines(text) or [""]
    words = _WORD.findall(lines[0].lower())
    closing = lines[-1]
    if signature and " ".join(signature.split()) in " ".join(closing.split()) and len(lines) > 1:
        closing = lines[-2]
    sign_off = " ".join(_WORD.findall(closing.lower())[:4])
    tokens = {w for w in _WORD.findall(text.lower())}
    formal, informal = _ADDRESS.get(language, (frozenset(), frozenset()))
    formality = "formal" if tokens & formal else "informal" if tokens & informal else "neither"
    return _Style(words[0] if words else "", sign_off, len(text.split()), formality)


def _mode(values: Sequence[str]) -> str:
    return Counter(values).most_common(1)[0][0] if values else ""


class History:
    """A company's published replies: example candidates, and the style drafts are held to."""

    def __init__(self, replies: list[HistoryReply], counter: TokenCounter) -> None:
        self._counter = counter
        self._candidates = [
            VoiceExample(
                review_id=f"h{i}",
                language=r.language,
                stars=r.stars,
                review_text=review_for_matching(r.review, [r.language]),
                reply_text=clean_reply(r.reply, r.author_name, EVAL_COMPANY),
                published_at=float(i),
            )
            for i, r in enumerate(replies)
        ]
        signature = EVAL_COMPANY.signature
        by_language: dict[str, list[_Style]] = defaultdict(list)
        for r in replies:
            by_language[r.language].append(style_of(r.reply, r.language, signature))
        self._target = {
            language: _Style(
                _mode([s.greeting for s in styles]),
                _mode([s.sign_off for s in styles]),
                round(mean(s.words for s in styles)),
                _mode([s.formality for s in styles]),
            )
            for language, styles in by_language.items()
        }

    @classmethod
    def load(cls, path: Path, counter: TokenCounter) -> History:
        decoder = msgspec.json.Decoder(HistoryReply)
        replies = [
            decoder.decode(line) for line in path.read_text("utf-8").splitlines() if line.strip()
        ]
        return cls(replies, counter)

    def examples(self, case: EvalCase) -> list[str]:
        return choose_examples(
            self._candidates,
            language=case.language,
            band=star_band(case.stars),
            review_text=case.text,
            counter=self._counter,
        )

    def arms(self, version: str, prompts: PromptLibrary) -> list[Arm]:
        return [Arm(version, prompts), Arm(f"{version}{WITH_EXAMPLES}", prompts, self.examples)]

    def closeness(self, results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
        """Per arm, the mean of each measure over the drafts in the history's languages."""
        scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for result in results:
            target = self._target.get(result.case.language)
            if target is None or not result.text:
                continue
            style = style_of(result.text, result.case.language, EVAL_COMPANY.signature)
            measures = {
                "greeting": float(style.greeting == target.greeting),
                "sign_off": float(style.sign_off == target.sign_off),
                "length": max(0.0, 1 - abs(style.words - target.words) / max(1, target.words)),
                "formality": float(style.formality == target.formality),
            }
            measures["overall"] = mean(measures.values())
            for name, value in measures.items():
                scores[result.arm][name].append(value)
        out: dict[str, dict[str, Any]] = {}
        for arm, by_measure in sorted(scores.items()):
            row: dict[str, Any] = {k: round(mean(v), 4) for k, v in by_measure.items()}
            row["cases"] = len(by_measure["overall"])
            out[arm] = row
        return out

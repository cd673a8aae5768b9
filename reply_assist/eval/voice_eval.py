"""``eval --history``: how close drafts come to a company's own published replies.

A history is a JSONL file of replies the company published (``language``, ``stars``, ``review``,
``reply``, optionally ``author_name``). Each prompt version then runs as three arms:

* without the company's voice;
* ``+examples``: with examples chosen from the history exactly as the service chooses them
  (``services/voice.py``);
* ``+profile``: as the service drafts for a company with that history: the same examples, and
  the style profile learned from the history by the service's own function
  (``services/style.profile_from_examples``), which the templates follow and a model is told,
  and which frames the draft (``drafting/framing.py``: it begins with the company's greeting
  and ends with its closing and sign-off, whatever the drafter wrote).

Every draft in a language the history has is held to the company's style in that language on
greeting, sign-off, formality and length, each reported apart (``style_match``: read from the
replies on its own terms, not by the rules that learned the profile, so the profile is not
graded by itself).

A history says nothing of the company's settings, so the run drafts for the eval company
without its ``signature`` setting (``HISTORY_COMPANY``): what signs a draft is then what the
company's own replies show, not the eval company's signature.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import msgspec

from reply_assist.drafting.prompting import PromptLibrary
from reply_assist.drafting.style import Style
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.eval.cases import EVAL_COMPANY, EvalCase
from reply_assist.eval.runner import Arm, CaseResult
from reply_assist.eval.style_match import (
    CompanyStyle,
    PublishedReply,
    StyleMatch,
    learn_style,
    match_style,
)
from reply_assist.markets import star_band
from reply_assist.models import Company
from reply_assist.services.style import profile_from_examples
from reply_assist.services.voice import (
    VoiceExample,
    choose_examples,
    clean_reply,
    review_for_matching,
)

__all__ = [
    "HISTORY_COMPANY",
    "MEASURES",
    "WITH_EXAMPLES",
    "WITH_PROFILE",
    "History",
    "HistoryReply",
]

WITH_EXAMPLES = "+examples"
WITH_PROFILE = "+profile"
HISTORY_COMPANY: Final = msgspec.structs.replace(EVAL_COMPANY, signature=None)
MEASURES = ("greeting", "sign_off", "formality", "length")


class HistoryReply(msgspec.Struct, frozen=True):
    language: str
    stars: int
    review: str
    reply: str
    author_name: str | None = None


class History:
    """A company's published replies: example candidates, and the style drafts are held to."""

    def __init__(
        self,
        replies: list[HistoryReply],
        counter: TokenCounter,
        company: Company = HISTORY_COMPANY,
    ) -> None:
        self._counter = counter
        self.company = company
        self._candidates = [
            VoiceExample(
                review_id=f"h{i}",
                language=r.language,
                stars=r.stars,
                review_text=review_for_matching(r.review, [r.language]),
                reply_text=clean_reply(r.reply, r.author_name, company),
                published_at=float(i),
            )
            for i, r in enumerate(replies)
        ]
        by_language: dict[str, list[PublishedReply]] = defaultdict(list)
        for r in replies:
            by_language[r.language].append(
                PublishedReply(r.language, r.stars, r.reply, r.author_name)
            )
        self.styles: dict[str, CompanyStyle] = {
            language: learn_style(language, published)
            for language, published in sorted(by_language.items())
        }
        # What the service's drafts would follow per language, had the company published these.
        self.profile: dict[str, Style] = profile_from_examples(self._candidates, company)

    @classmethod
    def load(cls, path: Path, counter: TokenCounter) -> History:
        """Read a JSONL history; raises ``ValueError`` naming the line of a malformed reply."""
        decoder = msgspec.json.Decoder(HistoryReply)
        replies = []
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                replies.append(decoder.decode(line))
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
        return cls(replies, counter)

    def examples(self, case: EvalCase) -> list[str]:
        return choose_examples(
            self._candidates,
            language=case.language,
            band=star_band(case.stars),
            review_text=case.text,
            counter=self._counter,
        )

    def style(self, case: EvalCase) -> Style | None:
        return self.profile.get(case.language)

    def arms(self, version: str, prompts: PromptLibrary) -> list[Arm]:
        return [
            Arm(version, prompts),
            Arm(f"{version}{WITH_EXAMPLES}", prompts, self.examples),
            Arm(f"{version}{WITH_PROFILE}", prompts, self.examples, self.style),
        ]

    def match(self, results: Sequence[CaseResult]) -> dict[str, Any]:
        """The company's style per language, and per arm how many drafts match it on each
        measure, over all the history's languages and per language. A measure that does not
        apply to a draft (formality in English) is left out of its share, and a case whose
        model call failed is not counted at all."""
        per_arm: dict[str, dict[str, list[tuple[CaseResult, StyleMatch]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for result in results:
            style = self.styles.get(result.case.language)
            if style is None or not result.scored:
                continue
            matched = match_style(
                result.text, style, stars=result.case.stars, reader_name=result.case.author_name
            )
            per_arm[result.arm][result.case.language].append((result, matched))
        return {
            "company": {language: _style_row(style) for language, style in self.styles.items()},
            "profile": {
                language: msgspec.to_builtins(style) for language, style in self.profile.items()
            },
            "arms": {
                arm: {
                    "all": _shares([m for rows in by_language.values() for m in rows]),
                    "by_language": {
                        language: _shares(rows) for language, rows in sorted(by_language.items())
                    },
                }
                for arm, by_language in per_arm.items()  # in the order the arms ran
            },
        }


def _style_row(style: CompanyStyle) -> dict[str, Any]:
    return {
        "replies": style.replies,
        "greeting": style.greeting_named
        if style.greeting_named is not None
        else style.greeting_generic,
        "sign_off": style.sign_off,
        "formality": style.address,
        "words": style.words,
        "words_by_band": style.words_by_band,
    }


def _share(values: Sequence[bool | None]) -> dict[str, Any]:
    measured = [v for v in values if v is not None]
    return {
        "match": round(sum(measured) / len(measured), 4) if measured else None,
        "matched": sum(measured),
        "of": len(measured),
    }


def _usual(values: Sequence[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def _shares(rows: Sequence[tuple[CaseResult, StyleMatch]]) -> dict[str, Any]:
    """Per measure: the share of drafts that match, and what the drafts most often do."""
    matches = [m for _, m in rows]
    ratios = [m.length_ratio for m in matches]
    return {
        "drafts": len(matches),
        "greeting": {
            **_share([m.greeting for m in matches]),
            "drafts_usually": _usual([m.draft_greeting for m in matches]),
        },
        "sign_off": {
            **_share([m.sign_off for m in matches]),
            "drafts_usually": _usual([m.draft_sign_off for m in matches]),
        },
        "formality": {
            **_share([m.formality for m in matches]),
            "drafts_usually": _usual([m.draft_address for m in matches]),
        },
        "length": {
            **_share([m.length for m in matches]),
            "ratio": round(sum(ratios) / len(ratios), 2) if ratios else None,
        },
    }

"""Scoring one draft of one case with the shared draft checks (``reply_assist.checks.draft``)."""

from __future__ import annotations

from dataclasses import dataclass

from reply_assist.checks.draft import CHECKS, DraftContext, opening, run_checks
from reply_assist.eval.cases import EvalCase
from reply_assist.models import Company

__all__ = ["EVAL_MAX_WORDS", "Scored", "score_draft"]

# The prompt asks for 40-120 words: eval holds drafts to that, the service warns only past 220.
EVAL_MAX_WORDS = 120


@dataclass(frozen=True, slots=True)
class Scored:
    verdicts: dict[str, bool]  # the checks that applied: True passed
    score: float  # the share of them that passed
    opening: str


def score_draft(
    case: EvalCase, company: Company, text: str, *, system_prompt: str, cut_off: bool = False
) -> Scored:
    ctx = DraftContext(
        text=text,
        language=case.language,
        stars=case.stars,
        company_name=company.name,
        company_languages=tuple(company.languages),
        signature=company.signature,
        brand_voice=company.brand_voice,
        system_prompt=system_prompt,
        review_text=case.text,
        review_title=case.title,
        author_name=case.author_name,
        cut_off=cut_off,
        max_words=EVAL_MAX_WORDS,
    )
    names = [name for name in (*case.must, *case.must_not) if name in CHECKS]
    verdicts = {name: ok for name, ok in run_checks(ctx, names).items() if ok is not None}
    if case.must_not_contain:
        lowered = text.casefold()
        verdicts["no_banned_text"] = not any(s.casefold() in lowered for s in case.must_not_contain)
    score = sum(verdicts.values()) / len(verdicts) if verdicts else 1.0
    return Scored(verdicts=verdicts, score=score, opening=opening(text, case.author_name))

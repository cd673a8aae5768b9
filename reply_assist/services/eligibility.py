"""The product's rules for generating a draft, checked in the contract's order.

Every rule is evaluated (the eligibility endpoint lists all that fail); a generate call is
refused with the first failing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from reply_assist.drafting.language import count_words
from reply_assist.errors import Forbidden, ReplyAssistError, Unprocessable
from reply_assist.models import GENERATION_LIMIT, Company
from reply_assist.services.usage import Balance, exhausted
from reply_assist.store.reviews import ReviewRecord

__all__ = ["GRACE_PERIOD", "LIMIT_DETAIL", "MIN_WORDS", "Eligibility", "evaluate", "refusal"]

LIMIT_DETAIL = (
    f"{GENERATION_LIMIT} drafts have already been generated for this review "
    "(generations in progress count)."
)
MIN_WORDS = 5  # "more than four words"
GRACE_PERIOD = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class Eligibility:
    reasons: list[str]
    details: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    generations_used: int = 0

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def generations_left(self) -> int:
        return max(0, GENERATION_LIMIT - self.generations_used)


def evaluate(
    company: Company, record: ReviewRecord, in_flight: int, balance: Balance | None = None
) -> Eligibility:
    """``balance``: the company's drafts this month (``services.usage.balance_of``); None
    leaves the month's drafts unchecked (a generate call's reservation decides them)."""
    review = record.review
    used = record.drafts + in_flight
    failed: dict[str, str] = {}
    if company.plan != "enterprise":
        failed["plan_not_eligible"] = (
            "AI reply suggestions are part of the Enterprise plan; this company's plan is "
            f"{company.plan!r}."
        )
    if review.type != "company":
        failed["product_review_not_supported"] = (
            "Drafts can only be generated for company reviews, not product reviews."
        )
    if review.reported:
        failed["review_reported"] = "The review has been reported; no draft can be generated."
    words = count_words(review.text)
    if words < MIN_WORDS:
        failed["review_too_short"] = (
            f"The review text has {words} word(s); more than four are needed."
        )
    # A difference of two datetimes, never a sum: contract_start + 48 h overflows datetime for
    # a contract starting on 9999-12-31, while any difference fits in a timedelta.
    if review.created_at - company.contract_start < GRACE_PERIOD:
        failed["review_in_grace_period"] = (
            "Drafts are available for reviews created at least 48 hours after the contract "
            f"started (from {_grace_end(company)}); this review was created "
            f"{review.created_at.isoformat()}."
        )
    if record.language is None:
        failed["language_not_supported"] = (
            f"The review's language could not be determined: {record.language_reason}. "
            "Send the review's language as the 'language' hint."
        )
    elif record.language not in company.languages:
        failed["language_not_supported"] = (
            f"The review is in {record.language!r}, which is not one of the company's "
            f"languages ({', '.join(company.languages)})."
        )
    if used >= GENERATION_LIMIT:
        failed["generation_limit_reached"] = LIMIT_DETAIL
    if balance is not None and not balance.available:
        failed["quota_exhausted"] = exhausted(balance.month).detail
    return Eligibility(
        reasons=list(failed), details=failed, language=record.language, generations_used=used
    )


def _grace_end(company: Company) -> str:
    try:
        return (company.contract_start + GRACE_PERIOD).isoformat()
    except OverflowError:  # past the year 9999
        return f"48 hours after {company.contract_start.isoformat()}"


def refusal(code: str, detail: str) -> ReplyAssistError:
    """The error a generate call is refused with; the plan is a 403, every other rule a 422."""
    if code == "plan_not_eligible":
        return Forbidden(detail, code=code)
    return Unprocessable(detail, code=code)

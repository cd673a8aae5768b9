"""Guarding the model's input and output.

Before the model: e-mail addresses, phone numbers and identifiers (personal identity, card and
bank account numbers) in every free-text field are masked (the model needs none of them, and
they should not leave for a third-party API). After the model: every draft is
checked, and what an agent must look at is named in ``warnings`` (never silently passed):

    wrong_language       the draft is (detectably) not in the review's language
    too_long             the draft is over the length budget
    cut_off              the model stopped at its token limit, mid-sentence
    url_not_allowed      a URL or domain that is not in the company's settings
    email_not_allowed    an e-mail address that is not in the company's settings
    phone_not_allowed    a phone number that is not in the company's settings
    prompt_leak          the draft repeats a passage of the system prompt
    promise_not_allowed  the draft promises a refund, discount, compensation or voucher
    admits_fault         the draft admits legal fault or liability
    reviewer_data        the draft names the reviewer beyond the first name, or their contacts
    review_echo          the draft copies a long passage of the review (injected text, often)

A drafter may add its own: the template drafter says ``guidance_not_applied`` when the agent
sent guidance that a fixed text cannot follow.

The checks themselves live in ``reply_assist.checks`` and are the same ones ``reply-assist
eval`` scores drafts with. They read a draft as a reader sees it (``visible``: without the
characters that reorder or hide text), and a draft is stored as ``visible`` gives it, so the
text an agent approves is the text that was checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reply_assist.checks import personal
from reply_assist.checks.draft import CHECKS, GUARDRAILS, MAX_DRAFT_WORDS, DraftContext, run_checks
from reply_assist.checks.language import surely_in
from reply_assist.checks.visible import visible
from reply_assist.models import Company, Review

__all__ = [
    "MAX_DRAFT_WORDS",
    "WARNINGS",
    "inspect_draft",
    "mask_personal_data",
    "surely_in",
    "visible",
]

WARNINGS: tuple[str, ...] = (
    *(str(CHECKS[name][1]) for name in GUARDRAILS),
    "guidance_not_applied",  # the template drafter's own (drafting/templates.py)
)


def mask_personal_data(text: str, languages: Iterable[str | None] = ()) -> str:
    """What of ``text`` may leave for the model: the text as a reader sees it (no characters
    that hide or reorder text), with e-mail addresses, phone numbers, personal identity
    numbers, card numbers and IBANs replaced by ``[e-mail]``, ``[phone]``, ``[id number]``,
    ``[card number]`` and ``[bank account]`` (``checks/personal.py``). They are found on the
    text normalised as the draft checks normalise it (line breaks, spelled-out addresses,
    full-width @, U+2011 hyphens…); ``languages`` choose the countries whose national numbers
    are read."""
    return personal.mask_personal(text, languages)


def inspect_draft(
    text: str,
    *,
    language: str,
    company: Company,
    system_prompt: str,
    cut_off: bool = False,
    review: Review | None = None,
    examples: Sequence[str] = (),
) -> list[str]:
    """The warnings for one draft, in ``WARNINGS`` order; empty when it passes. ``cut_off``: the
    model stopped at its token limit, so the draft ends mid-sentence. ``review`` (as the
    reviewer sent it) lets the checks see what of the reviewer's must not be repeated.
    ``examples``: the company's own replies shown in the prompt, which a draft may echo."""
    ctx = DraftContext(
        text=text,
        language=language,
        stars=review.stars if review else 5,
        company_name=company.name,
        company_languages=tuple(company.languages),
        signature=company.signature,
        brand_voice=company.brand_voice,
        system_prompt=system_prompt,
        review_text=review.text if review else "",
        review_title=review.title if review else None,
        author_name=review.author_name if review else None,
        cut_off=cut_off,
        own_passages=tuple(examples),
    )
    verdicts = run_checks(ctx, GUARDRAILS)
    return [str(CHECKS[name][1]) for name in GUARDRAILS if verdicts[name] is False]

"""The company's voice: replies it has published, shown to the model as examples.

A reply an agent published unedited, or whose draft got a thumbs up, is how the company wants
to sound. When such a reply is published it is kept as an example candidate, cleaned of the
reviewer's name (written ``‹name›``) and of contacts the company did not configure. When a draft
is generated, a few candidates for reviews like this one are put in the prompt: same language,
same star band (negative 1-2, mixed 3, positive 4-5), most similar review text first (rapidfuzz's
token-set ratio, a cheap similarity), newest first among equals, as many as fit
``EXAMPLE_TOKENS``. A company turns this off with ``voice_examples: false``. The template drafter
cannot follow examples, so nothing is read for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import msgspec
from rapidfuzz import fuzz

from reply_assist.checks import contacts
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.markets import StarBand, star_band
from reply_assist.models import Company

__all__ = [
    "EXAMPLE_TOKENS",
    "MAX_EXAMPLES",
    "NAME_MARK",
    "VoiceExample",
    "choose_examples",
    "clean_reply",
    "is_example",
]

EXAMPLE_TOKENS = 500  # about three replies of 80-120 words: the voice, not a second review
MAX_EXAMPLES = 3
NAME_MARK = "‹name›"
_MAX_REVIEW_CHARS = 1000  # enough to compare reviews; the review itself never reaches a prompt
_SHORT_NAME = 2  # name parts this short ("Bo", initials) are masked only as whole words


class VoiceExample(msgspec.Struct, frozen=True):
    review_id: str
    language: str
    stars: int
    review_text: str  # masked, cut: only for choosing, never sent to the model
    reply_text: str  # cleaned: what the model sees
    published_at: float
    # The band the reply was written for, after the company's market shift; None for examples
    # kept before it was recorded (their stars' band).
    star_band: StarBand | None = None

    @property
    def band(self) -> StarBand:
        return self.star_band or star_band(self.stars)


def is_example(*, edited: bool, from_draft: bool, voted_up: bool) -> bool:
    """A published reply shows the company's voice when a person took a draft as it was, or
    said the draft was good; a reply written from scratch or reworked says less about it."""
    return from_draft and (not edited or voted_up)


def clean_reply(text: str, author_name: str | None, company: Company) -> str:
    """The reply without the reviewer's name parts and without contacts the company did not
    configure: an example must not carry one customer's data into another's reply."""
    # Contacts first: a name inside an address (erik@…) must not hide the address.
    settings = " ".join(filter(None, [company.name, company.signature, company.brand_voice]))
    allowed = contacts.find_contacts(settings, company.languages)
    allowed_values = {c.value for c in allowed.all()}
    found = contacts.find_contacts(text, company.languages)
    for contact in sorted(found.emails + found.phones, key=lambda c: -c.start):
        if contact.value not in allowed_values:
            mark = "‹e-mail›" if contact.kind == "email" else "‹phone›"
            text = f"{text[: contact.start]}{mark}{text[contact.end :]}"
    if author_name:
        parts = sorted(
            {p for p in re.findall(r"[^\W\d_][\w'’-]*", author_name)}, key=len, reverse=True
        )
        for part in parts:
            if len(part) < _SHORT_NAME:
                continue
            text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", NAME_MARK, text, flags=re.IGNORECASE)
        text = re.sub(rf"{NAME_MARK}(?:\s+{NAME_MARK})+", NAME_MARK, text)
    return text


def review_for_matching(text: str, languages: Iterable[str]) -> str:
    from reply_assist.services.safety import mask_personal_data

    return mask_personal_data(text[:_MAX_REVIEW_CHARS], languages)


def choose_examples(
    candidates: Sequence[VoiceExample],
    *,
    language: str,
    band: StarBand,
    review_text: str,
    counter: TokenCounter,
    max_tokens: int = EXAMPLE_TOKENS,
    max_examples: int = MAX_EXAMPLES,
    exclude_review: str | None = None,
) -> list[str]:
    """The reply texts to show, best first, within ``max_tokens`` (counted with the model's
    tokenizer). One example per review (its newest), never the review being answered.
    ``band``: the star band the review is answered in (``markets.star_band``)."""
    newest: dict[str, VoiceExample] = {}
    for example in candidates:
        if example.language != language or example.band != band:
            continue
        if example.review_id == exclude_review:
            continue
        kept = newest.get(example.review_id)
        if kept is None or example.published_at > kept.published_at:
            newest[example.review_id] = example
    probe = review_text[:_MAX_REVIEW_CHARS]
    ranked = sorted(
        newest.values(),
        key=lambda e: (fuzz.token_set_ratio(probe, e.review_text), e.published_at),
        reverse=True,
    )
    chosen: list[str] = []
    used = 0
    for example in ranked:
        cost = counter.count(example.reply_text)
        if used + cost > max_tokens:
            continue  # a shorter one further down may still fit
        chosen.append(example.reply_text)
        used += cost
        if len(chosen) == max_examples:
            break
    return chosen

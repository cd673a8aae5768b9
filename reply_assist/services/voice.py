"""The company's voice: replies it has published, shown to the model as examples.

A reply an agent published unedited, or whose draft got a thumbs up, is how the company wants
to sound. When such a reply is published it is kept as an example candidate, cleaned of the
reviewer's name (written ``‹name›``, inflections such as "Lindqvists" included) and of contacts
the company did not configure. When a draft is generated, a few candidates are shown to the
model: same language, same star band (negative 1-2, mixed 3, positive 4-5), newest first, as
many as fit ``EXAMPLE_TOKENS``. Newest, not most similar to the review: the same examples for
every review of a language and band keep the prompt's head the same for a company, which a
model server can then serve from its prefix cache (the style profile, ``services/style.py``,
carries what is regular in the company's replies). ``choose_examples`` still ranks by
similarity when given a review text (rapidfuzz's token-set ratio). A company turns this off
with ``voice_examples: false``. The template drafter cannot follow examples, so nothing is read
for it.

Review text is untrusted, and a model may repeat what a hostile review told it; a published
reply carries that into every later prompt that shows it. So a reply is never an example when
its draft had any warning, or when the text that went out fails today's draft checks
(``reply_warnings``, at publish); a candidate is checked again when it is chosen
(``example_passes``, cached per example and company settings: the checks of today, on examples
kept by an older version too); and examples reach the model as data, fenced in the user
message like the review, never in the system message (``drafting/prompting.py``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from rapidfuzz import fuzz

from reply_assist.checks import contacts, personal
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.markets import StarBand, star_band
from reply_assist.models import Company, Review
from reply_assist.store.voice import VoiceExample

__all__ = [
    "EXAMPLE_TOKENS",
    "MAX_EXAMPLES",
    "NAME_MARK",
    "VoiceExample",
    "choose_examples",
    "clean_reply",
    "example_band",
    "example_passes",
    "is_example",
    "reply_warnings",
]

EXAMPLE_TOKENS = 500  # about three replies of 80-120 words: the voice, not a second review
MAX_EXAMPLES = 3
NAME_MARK = "‹name›"
_MAX_REVIEW_CHARS = 1000  # enough to compare reviews; the review itself never reaches a prompt
_SHORT_NAME = 2  # name parts this short ("Bo", initials) are masked only as whole words
# Where an example's data stood, in the brackets of its ‹name› (the model input's are [e-mail]…).
_MARKS: dict[str, str] = {
    "email": "‹e-mail›",
    "phone": "‹phone›",
    "id_number": "‹id number›",
    "card": "‹card number›",
    "iban": "‹bank account›",
}
_INFLECTED_NAME = 4  # parts this long are masked with an ending ("Lindqvists", "Erik's")
_MASKS = tuple(_MARKS.values())  # an example that needed one masked is never shown
_CHECKED_CACHE = 4096


def example_band(example: VoiceExample) -> StarBand:
    """The band an example reply was written in: the one recorded when it was kept (after the
    company's market shift), else its stars' (examples kept before bands were recorded)."""
    return example.star_band or star_band(example.stars)


def is_example(*, edited: bool, from_draft: bool, voted_up: bool) -> bool:
    """A published reply shows the company's voice when a person took a draft as it was, or
    said the draft was good; a reply written from scratch or reworked says less about it."""
    return from_draft and (not edited or voted_up)


def clean_reply(text: str, author_name: str | None, company: Company) -> str:
    """The reply without the reviewer's name parts, without contacts the company did not
    configure and without identifiers (masked as before the model, ``checks/personal.py``):
    an example must not carry one customer's data into another's reply."""
    # Contacts first: a name inside an address (erik@…) must not hide the address.
    settings = " ".join(filter(None, [company.name, company.signature, company.brand_voice]))
    allowed = {c.value for c in contacts.find_contacts(settings, company.languages).all()}
    text = personal.mask_personal(
        text, company.languages, keep=lambda found: found.value in allowed, marks=_MARKS
    )
    if author_name:
        parts = sorted(
            {p for p in re.findall(r"[^\W\d_][\w'’-]*", author_name)}, key=len, reverse=True
        )
        for part in parts:
            if len(part) < _SHORT_NAME:
                continue
            # A genitive or an inflection is still the name: "Lindqvists", "Erik's", "Eriks".
            ending = r"(?:['’]?\w{1,3})?" if len(part) >= _INFLECTED_NAME else ""
            text = re.sub(
                rf"(?<!\w){re.escape(part)}{ending}(?!\w)", NAME_MARK, text, flags=re.IGNORECASE
            )
        text = re.sub(rf"{NAME_MARK}(?:\s+{NAME_MARK})+", NAME_MARK, text)
    return text


def review_for_matching(text: str, languages: Iterable[str]) -> str:
    from reply_assist.services.safety import mask_personal_data

    return mask_personal_data(text[:_MAX_REVIEW_CHARS], languages)


def reply_warnings(text: str, review: Review, company: Company, language: str) -> list[str]:
    """The draft checks' warnings for a reply as it was published, against its own review."""
    from reply_assist.services.safety import inspect_draft

    return inspect_draft(text, language=language, company=company, system_prompt="", review=review)


def example_passes(example: VoiceExample, company: Company) -> bool:
    """Whether a candidate passes today's draft checks, against the company's current settings
    and its own review (as kept: masked, cut). One that needed contacts masked never does."""
    if any(mark in example.reply_text for mark in _MASKS):
        return False
    settings = (company.name, company.signature, company.brand_voice, tuple(company.languages))
    return _passes(example, settings)


@functools.lru_cache(maxsize=_CHECKED_CACHE)
def _passes(
    example: VoiceExample, settings: tuple[str, str | None, str | None, tuple[str, ...]]
) -> bool:
    name, signature, brand_voice, languages = settings
    company = Company(
        id="",
        name=name,
        plan="enterprise",
        contract_start=_EPOCH,
        languages=list(languages),
        brand_voice=brand_voice,
        signature=signature,
    )
    review = Review(
        id=example.review_id,
        company_id="",
        type="company",
        text=example.review_text,
        stars=example.stars,
        created_at=_EPOCH,
    )
    return not reply_warnings(example.reply_text, review, company, example.language)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def choose_examples(
    candidates: Sequence[VoiceExample],
    *,
    language: str,
    band: StarBand,
    review_text: str | None,
    counter: TokenCounter,
    max_tokens: int = EXAMPLE_TOKENS,
    max_examples: int = MAX_EXAMPLES,
    exclude_review: str | None = None,
    accept: Callable[[VoiceExample], bool] | None = None,
) -> list[str]:
    """The reply texts to show, best first, within ``max_tokens`` (counted with the model's
    tokenizer). One example per review (its newest), never the review being answered, none
    that ``accept`` refuses. Best is newest; with a ``review_text``, the most similar first.
    ``band``: the star band the review is answered in (``markets.star_band``); an example must
    have been written in it too (``example_band``)."""
    newest: dict[str, VoiceExample] = {}
    for example in candidates:
        if example.language != language or example_band(example) != band:
            continue
        if example.review_id == exclude_review:
            continue
        kept = newest.get(example.review_id)
        if kept is None or example.published_at > kept.published_at:
            newest[example.review_id] = example
    if review_text is None:
        ranked = sorted(newest.values(), key=lambda e: e.published_at, reverse=True)
    else:
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
        if accept is not None and not accept(example):
            continue
        chosen.append(example.reply_text)
        used += cost
        if len(chosen) == max_examples:
            break
    return chosen

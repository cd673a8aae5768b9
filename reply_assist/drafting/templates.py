"""The built-in offline drafter: natural replies from templates, used when no model is configured.

Without ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` the service still drafts, from the texts in
``prompts/templates/<language>.toml`` (see ``template_texts``); such drafts are marked
``"model": "template"``. The templates follow the review
platform's advice for replies: never argue, keep it short; for a negative review apologise
personally and with empathy without going into detail, make the customer feel heard by naming
the frustration, and invite them to get in touch so it can be solved; remember that the reply is
public; thank the customer and end on a positive note.

What the templates use from a ``DraftRequest``:

* ``review.language`` picks the language. A language without templates falls back to English;
  the service's output language check then flags the draft (``wrong_language``) for the agent.
* ``review.star_band`` picks the band: negative (1-2), mixed (3) or positive (4-5), after the
  company's market shift for the reviewer's country (a French 4 with ``FR: 1`` is a 5).
* ``variant`` (the generation number) picks the template, ``variant % len(templates)``, so that
  "Generate again" gives a different text, and the same generation always gives the same one.
* ``review.author_name`` gives the greeting's name, sanitised (see ``_greeting_name``).
* ``company.name`` and ``company.signature`` give the sign-off.
* ``company.brand_voice`` gives the formality of the greeting and the closing: a voice with
  formal words ("formal, polite") gets "Dear Erik, … Yours sincerely,", an informal one
  ("warm, informal, first names") "Hi Erik, … Cheers,", in each language's own phrasing.

What they never use: the review's text and title are untrusted customer input and are never
copied into a reply (a reply is published under the company's name). ``guidance`` cannot be
followed by a fixed text: a draft written without it says so with the warning
``guidance_not_applied``, so that the agent edits it or configures a model.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Final

from reply_assist.drafting.base import ANSWERING, Completion, DraftRequest, StreamItem, Usage
from reply_assist.drafting.language import count_words, normalize_language
from reply_assist.drafting.template_texts import Band, TemplateTexts
from reply_assist.markets import star_band

__all__ = [
    "GUIDANCE_NOT_APPLIED",
    "TEMPLATE_MODEL",
    "TemplateDrafter",
    "band_for_stars",
]

TEMPLATE_MODEL: Final = "template"
GUIDANCE_NOT_APPLIED: Final = "guidance_not_applied"


def band_for_stars(stars: int) -> Band:
    """The band of a star rating with no market shift (``markets.star_band``, the one rule)."""
    return star_band(stars)


# --------------------------------------------------------------------------------------------
# The greeting's name
# --------------------------------------------------------------------------------------------

_MAX_NAME_CHARS: Final = 40
_MAX_RAW_NAME_CHARS: Final = 400  # bounds the work on a hostile author_name
# Script and style blocks go with their content: "<script>alert(1)</script>" is not a name.
_SCRIPT_RE: Final = re.compile(r"(?is)<(script|style)\b.*?(?:</\1\s*>|$)")
_TAG_RE: Final = re.compile(r"<[^>]*>?")
# Tokens that look like a URL, an address, a domain or code rather than a part of a name.
_URLISH_RE: Final = re.compile(
    r"\S*(?:[:/\\@=&?#%{}\[\]`|]|www\.|[^\W\d_]{2,}\.[^\W\d_]{2,})\S*", re.IGNORECASE
)
_NAME_PUNCTUATION: Final = frozenset(" '’-.")
_EDGE_PUNCTUATION: Final = "-'’."
# Titles that would make a poor first name on their own ("Hi Mr," ): greet the full name.
_TITLES: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "herr", "frau", "fru", "hr", "dhr", "mevr", "mevrouw"}
    | {"meneer", "m", "mme", "mlle", "monsieur", "madame", "sr", "sra", "srta", "don", "doña"}
)


def _trim_name_word(word: str) -> str:
    """Strip punctuation from a name's word, but keep the period of an initial ("J.")."""
    word = word.strip(_EDGE_PUNCTUATION)
    if len(word) == 1 and word.isalpha():
        return f"{word}."
    return word


def _greeting_name(author_name: str | None) -> str | None:
    """The name to greet the reviewer with, or None to use the generic greeting.

    The author name is chosen by the reviewer, so it is untrusted and will be published in the
    company's reply. Only its first line is used; markup, URL-like tokens, control and format
    characters (bidi overrides included), digits and symbols are removed; what remains must hold
    a letter. The reply greets the first name ("Erik Svensson" -> "Erik") unless that is a title
    or an initial, and the result is at most 40 characters.
    """
    if not author_name:
        return None
    raw = unicodedata.normalize("NFC", author_name[:_MAX_RAW_NAME_CHARS])
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        return None
    text = _SCRIPT_RE.sub(" ", lines[0])
    text = _TAG_RE.sub(" ", text)
    text = _URLISH_RE.sub(" ", text)
    kept = "".join(
        ch if ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM" else " " for ch in text
    )
    words = [_trim_name_word(word) for word in kept.split()]
    words = [word for word in words if any(ch.isalpha() for ch in word)]
    if not words:
        return None
    first = words[0]
    if first.casefold() in _TITLES or (len(first) <= 2 and first.endswith(".")):
        name = ""
        for word in words:  # the whole name, cut at a word boundary
            candidate = f"{name} {word}".strip()
            if len(candidate) > _MAX_NAME_CHARS:
                break
            name = candidate
        if name == first:  # nothing but the title or initial fits: too little to greet
            return None
    else:
        name = first
    if not name or len(name) > _MAX_NAME_CHARS:
        return None
    if name.islower():  # "erik" -> "Erik"; leave deliberate casing ("McDonald", "de") alone
        name = name[0].upper() + name[1:]
    return name


# --------------------------------------------------------------------------------------------
# Rendering and the drafter
# --------------------------------------------------------------------------------------------

_CHUNK_RE: Final = re.compile(r"\S+\s*|\s+")


def _render(texts: TemplateTexts, request: DraftRequest) -> str:
    """The reply for ``request``: language, band and variant choose the paragraph, the brand
    voice's formality the greeting and the closing."""
    language = texts.for_language(normalize_language(request.review.language))
    formality = texts.formality(request.company.brand_voice)
    choices = language.templates[request.review.star_band]
    closings = language.closings.get(formality) or language.closings["neutral"]
    greeting = language.greetings.get(formality) or language.greetings["neutral"]

    company = request.company.name.strip()
    name = _greeting_name(request.review.author_name)
    # format_map does not re-read what it inserts, so braces in a company name are harmless.
    greeting_line = greeting.named.format_map({"name": name}) if name else greeting.generic
    paragraph = choices[request.variant % len(choices)].format_map({"company": company})
    closing = closings[request.variant % len(closings)]
    signature = (request.company.signature or "").strip()
    signoff = signature or language.team_signoff.format_map({"company": company})
    return f"{greeting_line}\n\n{paragraph}\n\n{closing}\n{signoff}"


class TemplateDrafter:
    """Drafts from the template texts; needs no model, network or state.

    It implements ``base.Drafter``. Its usage reports no prompt tokens (no prompt is sent) and
    the reply's word count as completion tokens, as the closest honest figure.
    """

    def __init__(self, texts: TemplateTexts) -> None:
        self._texts = texts

    @property
    def kind(self) -> str:
        """Always ``"template"`` (shown in ``/readyz``)."""
        return TEMPLATE_MODEL

    @property
    def connection_failed_at(self) -> float:
        return float("-inf")  # nothing to connect to

    async def complete(self, request: DraftRequest) -> Completion:
        """The whole reply at once."""
        text = _render(self._texts, request)
        guidance = request.guidance is not None and request.guidance.strip() != ""
        return Completion(
            text=text,
            model=TEMPLATE_MODEL,
            usage=Usage(prompt_tokens=0, completion_tokens=count_words(text)),
            warnings=(GUIDANCE_NOT_APPLIED,) if guidance else (),
        )

    async def stream(self, request: DraftRequest) -> AsyncIterator[StreamItem]:
        """The reply in word-sized deltas, then the same ``Completion`` that ``complete`` gives.

        Streaming a template is not needed for speed, but it lets clients exercise exactly the
        code path they use with a model. The deltas join to exactly the completion's text.
        """
        completion = await self.complete(request)
        yield ANSWERING
        for chunk in _CHUNK_RE.findall(completion.text):
            yield chunk
            await asyncio.sleep(0)  # let other tasks run, as a real stream would
        yield completion

    async def probe(self) -> str | None:
        """Always usable."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""

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
* ``review.author_name`` gives the greeting's name, sanitised (see ``style.greeting_name``).
* ``company.name`` and ``company.signature`` give the sign-off.
* ``company.brand_voice`` gives the formality of the greeting and the closing: a voice with
  formal words ("formal, polite") gets "Dear Erik, … Yours sincerely,", an informal one
  ("warm, informal, first names") "Hi Erik, … Cheers,", in each language's own phrasing.
* ``style``, the company's style profile in the language (learned from its replies or pinned),
  wins over all of these: its greeting, closing and sign-off are used as they are, its
  formality picks the paragraphs in that address (``[templates.formal]``/``[templates.informal]``
  where the language has them: ni/du, u/je, Sie/du, vous/tu, usted/tú), and its typical
  length for the star band picks the paragraph that brings the reply closest to it.

What they never use: the review's text and title are untrusted customer input and are never
copied into a reply (a reply is published under the company's name). ``guidance`` cannot be
followed by a fixed text: a draft written without it says so with the warning
``guidance_not_applied``, so that the agent edits it or configures a model.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Final

from reply_assist.drafting.base import ANSWERING, Completion, DraftRequest, StreamItem, Usage
from reply_assist.drafting.language import count_words, normalize_language
from reply_assist.drafting.style import greeting_line, greeting_name, typical_words
from reply_assist.drafting.template_texts import Band, Formality, TemplateTexts
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
# Rendering and the drafter
# --------------------------------------------------------------------------------------------

_CHUNK_RE: Final = re.compile(r"\S+\s*|\s+")


def _render(texts: TemplateTexts, request: DraftRequest) -> str:
    """The reply for ``request``: language, band and variant choose the paragraph; the company's
    style (``request.style``), else its brand voice, the address, greeting, closing, sign-off
    and which paragraph fits its typical length."""
    language = texts.for_language(normalize_language(request.review.language))
    style = request.style
    formality: Formality = (
        style.formality
        if style is not None and style.formality is not None
        else texts.formality(request.company.brand_voice)
    )
    band = request.review.star_band
    choices = language.paragraphs(band, formality)
    closings = language.closings.get(formality) or language.closings["neutral"]
    greeting = language.greetings.get(formality) or language.greetings["neutral"]

    company = request.company.name.strip()
    own_greeting = greeting_line(style, request.review.author_name)[0] if style else None
    if own_greeting is not None:
        greeting_text = own_greeting
    else:
        name = greeting_name(request.review.author_name)
        # format_map does not re-read what it inserts, so braces in a company name are harmless.
        greeting_text = greeting.named.format_map({"name": name}) if name else greeting.generic
    closing = (style.closing if style else None) or closings[request.variant % len(closings)]
    signature = (style.sign_off if style else None) or (request.company.signature or "").strip()
    signoff = signature or language.team_signoff.format_map({"company": company})
    paragraphs = [choice.format_map({"company": company}) for choice in choices]
    target = typical_words(style, band)
    if target is None:
        paragraph = paragraphs[request.variant % len(paragraphs)]
    else:
        # The company's typical length: the paragraph that brings the reply closest to it
        # first, the next closest on "Generate again" (generation 1 is the first draft).
        frame = count_words(f"{greeting_text} {closing} {signoff}")
        ranked = sorted(paragraphs, key=lambda p: abs(frame + count_words(p) - target))
        paragraph = ranked[max(request.variant - 1, 0) % len(ranked)]
    return f"{greeting_text}\n\n{paragraph}\n\n{closing}\n{signoff}"


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

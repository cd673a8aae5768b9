"""Renders the versioned prompt files into the two chat messages a drafter sends.

Prompts live in files, one directory per version (``prompts/reply-v2/system.j2`` and
``user.j2``), so a prompt change is a reviewed diff and every stored draft can name the version
it came from. The split is a security boundary: the *system* part carries the rules and trusted
settings (company, brand voice, signature, style, agent guidance); the *user* part carries the
untrusted text, fenced: the company's earlier replies shown as examples between ``<<<EXAMPLES``
and ``EXAMPLES>>>`` (written by the company, but a reply may repeat what a hostile review said),
then the review between ``<<<REVIEW`` and ``REVIEW>>>``. The system template is never given the
examples (only whether there are any), whatever a prompt version's files say.

``reply-v2`` orders the system part for a model server's prefix cache: what is the same for
every draft of a company first (the platform's advice, the rules, the company, its language and
style), then the star band (after the market shift, which is said there when it moved the
rating), then the agent's guidance; the examples (the same for a company's language and band)
open the user part, the review closes it.

Autoescape is off because the review must reach the model unchanged: HTML-escaping would turn
``don't`` into ``don&#39;t``. Values are never evaluated as template source, so ``{{ 7*7 }}`` in
a review stays literal. The one change made to untrusted text: runs of three or more ``<`` or
``>`` become ``‹``/``›`` lookalikes, so a hostile review (or example) cannot write ``REVIEW>>>``
and close the fence early (a homoglyph of the word ``REVIEW`` would not help it either).

Long reviews are truncated to the token budget, never refused: an agent can still get a draft
for a rambling review, and the ``truncated`` flag says the model did not see all of it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import jinja2

from reply_assist.drafting.base import CompanyFacts, PromptMessages, ReviewFacts
from reply_assist.drafting.style import ADDRESS_WORDS, Style, greeting_line, typical_words
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.markets import StarBand

__all__ = [
    "FENCE_END",
    "FENCE_START",
    "LANGUAGE_NAMES",
    "MIN_REVIEW_TOKENS",
    "PromptLibrary",
    "default_prompts_dir",
    "language_label",
    "neutralise_fences",
]

FENCE_START: Final = "<<<REVIEW"
FENCE_END: Final = "REVIEW>>>"

# The review always gets at least this many tokens, even when the system part alone is over
# budget (a long brand voice plus guidance with a tiny budget): a draft from a cut review beats
# a refusal, and ``prompt_tokens`` still reports the real size.
MIN_REVIEW_TOKENS: Final = 64
# Title and reviewer name are untrusted and unbounded by the API; cap them so they cannot eat
# the review text's budget or smuggle a long payload past truncation.
_MAX_TITLE_TOKENS: Final = 100
_MAX_AUTHOR_TOKENS: Final = 20
_SYSTEM_PROMPTS_CACHED: Final = 512
# Re-tokenising the assembled message can differ from the parts' sum by a token or two.
_MAX_FIT_ATTEMPTS: Final = 4

_VERSION_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_OPEN_RUN: Final = re.compile(r"<{3,}")
_CLOSE_RUN: Final = re.compile(r">{3,}")

# ISO 639-1 → English name, for the system prompt ("sv (Swedish)"): models follow a language
# name more reliably than a bare code, and the code disambiguates (no vs nb vs nn).
LANGUAGE_NAMES: Final[dict[str, str]] = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "bs": "Bosnian",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "gl": "Galician",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "hy": "Armenian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "ja": "Japanese",
    "ka": "Georgian",
    "kk": "Kazakh",
    "ko": "Korean",
    "lb": "Luxembourgish",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mk": "Macedonian",
    "ms": "Malay",
    "mt": "Maltese",
    "nb": "Norwegian Bokmål",
    "nl": "Dutch",
    "nn": "Norwegian Nynorsk",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sq": "Albanian",
    "sr": "Serbian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_label(code: str) -> tuple[str, str | None]:
    """``("sv", "Swedish")``; a region suffix is ignored for the name (``en-GB`` → English)."""
    normalised = code.strip().lower().replace("_", "-")
    return normalised, LANGUAGE_NAMES.get(normalised) or LANGUAGE_NAMES.get(
        normalised.split("-", 1)[0]
    )


def neutralise_fences(text: str) -> str:
    """Replace runs of ``<<<``/``>>>`` with lookalikes so untrusted text cannot fake a fence."""
    text = _OPEN_RUN.sub(lambda m: "‹" * len(m.group()), text)
    return _CLOSE_RUN.sub(lambda m: "›" * len(m.group()), text)


def default_prompts_dir() -> Path:
    """The prompts in the wheel (``reply_assist/prompts``), else a checkout's ``prompts/``."""
    packaged = Path(__file__).resolve().parents[1] / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "prompts"


class PromptLibrary:
    """One prompt version, compiled once; render it for each generation."""

    __slots__ = ("_system", "_system_prompt", "_user", "_version")

    def __init__(self, version: str, system: jinja2.Template, user: jinja2.Template) -> None:
        self._version = version
        self._system = system
        self._user = user
        # The system part depends only on the company, the stars, the language, guidance, the
        # style and whether there are examples: the same few hundred combinations over and
        # over. Rendered once each (bounded: at most a few MB of text per process).
        self._system_prompt = functools.lru_cache(maxsize=_SYSTEM_PROMPTS_CACHED)(
            self._render_system
        )

    @classmethod
    def load(cls, directory: Path, version: str) -> PromptLibrary:
        """Read and compile ``<directory>/<version>/{system,user}.j2``.

        Raises ``ValueError`` naming the path when the version is malformed or a file is
        missing, and on a template syntax error, so a bad deploy fails at start, not per call.
        """
        if not _VERSION_RE.fullmatch(version):
            raise ValueError(f"invalid prompt version {version!r}: use letters, digits, . _ -")
        version_dir = directory / version
        if not version_dir.is_dir():
            raise ValueError(f"prompt version directory not found: {version_dir}")
        for name in ("system.j2", "user.j2"):
            if not (version_dir / name).is_file():
                raise ValueError(f"prompt file not found: {version_dir / name}")
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(version_dir),
            autoescape=False,  # noqa: S701 - plain-text prompts, not HTML; see module docstring
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        try:
            system = env.get_template("system.j2")
            user = env.get_template("user.j2")
        except jinja2.TemplateSyntaxError as exc:
            where = version_dir / (exc.name or "?")
            raise ValueError(f"prompt template {where} line {exc.lineno}: {exc.message}") from exc
        return cls(version, system, user)

    @property
    def version(self) -> str:
        return self._version

    def render(
        self,
        company: CompanyFacts,
        review: ReviewFacts,
        guidance: str | None,
        counter: TokenCounter,
        max_prompt_tokens: int,
        examples: Sequence[str] = (),
        *,
        style: Style | None = None,
    ) -> PromptMessages:
        """Render both messages, cutting the review text to what the budget leaves for it.

        ``examples`` are replies the company published to other reviews, already chosen within
        their own token budget and cleaned of personal data (``services/voice.py``); they go in
        the user part, fenced as data like the review. ``style`` is the company's style in the
        review's language (``services/style.py``): the system part tells the model its
        greeting, address, closing, sign-off and length, and the user part ends with the exact
        greeting line for this reviewer. A prompt version that does not use them ignores them.

        ``truncated`` is true when any of the review's text, title or reviewer name was cut.
        Raises ``jinja2.UndefinedError`` only if a template names a variable that does not
        exist (a broken prompt version, caught by the tests).
        """
        guidance = guidance.strip() if guidance else None
        # The market shift (``markets``): the band and the stars the review is answered as; the
        # country only when it moved them, so unshifted reviews share their cached prompt.
        answered = review.answered_stars
        system = self._system_prompt(
            company,
            review.stars,
            answered,
            review.star_band,
            review.country if answered != review.stars else None,
            review.language,
            guidance or None,
            style,
            bool(examples),
        )

        title, title_cut = _cap(counter, review.title, _MAX_TITLE_TOKENS)
        author, author_cut = _cap(counter, review.author_name, _MAX_AUTHOR_TOKENS)
        fields: dict[str, Any] = {"stars": review.stars, "title": title, "author_name": author}
        text = neutralise_fences(review.text)
        greeting = greeting_line(style, review.author_name)[0] if style is not None else None
        shared: dict[str, Any] = {
            "company_name": company.name,
            "examples": [neutralise_fences(example) for example in examples],
            "greeting": greeting,
        }

        # count_chat is additive, so the system part (the bulk) is tokenised once.
        system_tokens = counter.count_chat(system, "")
        frame = self._user.render(review={**fields, "text": ""}, **shared)
        budget = max(MIN_REVIEW_TOKENS, max_prompt_tokens - system_tokens - counter.count(frame))
        text_cut = False
        for _ in range(_MAX_FIT_ATTEMPTS):
            fitted, text_cut = counter.truncate(text, budget)
            user = self._user.render(review={**fields, "text": fitted}, **shared)
            prompt_tokens = system_tokens + counter.count(user)
            overflow = prompt_tokens - max_prompt_tokens
            if overflow <= 0 or budget <= MIN_REVIEW_TOKENS:
                break
            budget = max(MIN_REVIEW_TOKENS, budget - overflow)
        return PromptMessages(
            system=system,
            user=user,
            prompt_version=self._version,
            prompt_tokens=prompt_tokens,
            truncated=text_cut or title_cut or author_cut,
        )

    def _render_system(
        self,
        company: CompanyFacts,
        stars: int,
        answered_stars: int,
        star_band: StarBand,
        country: str | None,
        language: str,
        guidance: str | None,
        style: Style | None,
        has_examples: bool,
    ) -> str:
        language_code, language_name = language_label(language)
        address = None
        if style is not None and style.formality is not None:
            formal, informal = ADDRESS_WORDS.get(language_code, (None, None))
            address = formal if style.formality == "formal" else informal
        return self._system.render(
            company=company,
            stars=stars,
            answered_stars=answered_stars,
            star_band=star_band,
            band=star_band,
            country=country,
            language_code=language_code,
            language_name=language_name,
            guidance=guidance,
            style=style,
            address=address,
            length=typical_words(style, star_band),
            has_examples=has_examples,
            # Never the examples themselves: they are untrusted data, and belong in the user
            # part (an older prompt version that still lists them here shows none).
            examples=[],
        )


def _cap(counter: TokenCounter, value: str | None, max_tokens: int) -> tuple[str | None, bool]:
    if not value or not value.strip():
        return None, False
    # Fences are neutralised first so the cut is counted on the text the model will see; a
    # newline in a title or name would let it pose as a field line, so fold to one line.
    single_line = " ".join(neutralise_fences(value).split())
    return counter.truncate(single_line, max_tokens)

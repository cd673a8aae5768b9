"""Learning a company's style from the replies it published: pure functions, no storage.

The replies are the company's voice examples (``services/voice.py``: published unedited, or
whose draft got a thumbs up, never one whose draft had a warning), with the reviewer's name
written ``‹name›``. From them, per language:

    greeting     the first line (or a leading "Hi ‹name›," clause), ``‹name›`` → ``{name}``;
                 the form with the name, and the form without one when the company has both
    closing      the short line above the sign-off ("Warm wishes from the fjords,")
    sign_off     the last line when it signs rather than says ("Maja, Nordhavn Outdoor")
    formality    the address its replies use: formal or informal pronouns, per language
    length       the median length in words of its replies, per star band (the band each
                 reply was written in, after the company's market shift: ``markets``)

A value is learned only when it is regular: the most common form, in at least two replies and
at least ``MIN_SHARE`` of them (a formality in ``MIN_ADDRESS_SHARE`` of the replies that address
the reader at all), so one odd reply teaches nothing. A learned line is then put to the same
checks as a draft (no link, address or number the company did not configure, no promise, no
admission of fault) and dropped if it fails: it will be written into every draft.

``services/style.py`` stores what is learned, merges it with pinned fields and serves it;
``reply-assist eval`` can call ``learn_styles`` on a history file directly.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

from reply_assist.checks.draft import DraftContext, run_checks
from reply_assist.drafting.style import NAME_PLACEHOLDER, Address, LengthByBand, Style
from reply_assist.markets import StarBand
from reply_assist.models import Company
from reply_assist.services.voice import NAME_MARK, VoiceExample, example_band

__all__ = [
    "MAX_LINE_CHARS",
    "MIN_ADDRESS_SHARE",
    "MIN_SHARE",
    "MIN_SUPPORT",
    "ReplyParts",
    "address_of",
    "learn_language",
    "learn_styles",
    "line_problem",
    "reply_parts",
]

MIN_SUPPORT: Final = 2
MIN_SHARE: Final = 0.3
MIN_ADDRESS_SHARE: Final = 0.6
MAX_LINE_CHARS: Final = 100
_MAX_LINE_WORDS: Final = 12
_MAX_GREETING_WORDS: Final = 6
_MAX_CLOSING_WORDS: Final = 8
_MAX_SIGN_OFF_WORDS: Final = 8
_LINE_CHECKS: Final = (
    "no_foreign_url",
    "no_foreign_email",
    "no_foreign_phone",
    "no_promise",
    "no_fault",
)
_MARKS: Final = ("‹e-mail›", "‹phone›", NAME_MARK)
_INLINE: Final = re.compile(
    rf"^([^\n.!?,:;]{{0,40}}{re.escape(NAME_MARK)}[^\n.!?,:;]{{0,20}}[,!:])"
)
_TOKEN: Final = re.compile(r"[^\W\d_]+")

# Pronouns (and Spanish enclitics) that address the reader, per language: (formal, informal).
# Where the formal pronoun is also "they" (de Sie, da/no De), only its capitalised form counts.
_FORMAL_CAPITALISED: Final[dict[str, frozenset[str]]] = {
    "de": frozenset({"Sie", "Ihnen", "Ihr", "Ihre", "Ihren", "Ihrem", "Ihrer", "Ihres"}),
    "da": frozenset({"De", "Dem", "Deres"}),
    "no": frozenset({"De", "Dem", "Deres"}),
}
_FORMAL: Final[dict[str, frozenset[str]]] = {
    "sv": frozenset({"ni", "er", "ert", "era", "eder"}),
    "nl": frozenset({"u", "uw", "uwe"}),
    "fr": frozenset({"vous", "votre", "vos", "vôtre", "vôtres"}),
    # "su" and "le" are also "his"/"her", but in a reply they are the reader's, as in "su pedido".
    "es": frozenset({"usted", "ustedes", "su", "sus", "le", "suyo", "suya"}),
    "fi": frozenset({"te", "teille", "teidän", "teitä", "teillä", "teiltä"}),
}
_INFORMAL: Final[dict[str, frozenset[str]]] = {
    "sv": frozenset({"du", "dig", "din", "ditt", "dina"}),
    "da": frozenset({"du", "dig", "din", "dit", "dine"}),
    "no": frozenset({"du", "deg", "din", "ditt", "dine"}),
    "nl": frozenset({"je", "jij", "jou", "jouw"}),
    "de": frozenset({"du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner"}),
    "fr": frozenset({"tu", "te", "toi", "ton", "ta", "tes", "tien", "tienne", "tiens"}),
    "es": frozenset({"tú", "te", "ti", "contigo", "tu", "tus", "tuyo", "tuya"}),
    "fi": frozenset({"sinä", "sinulle", "sinun", "sinua", "sinulla", "sinulta", "sinut"}),
}
_ES_FORMAL_ENCLITIC: Final = re.compile(r"\w+(?:ar|er|ir)les?\b")
_ES_INFORMAL_ENCLITIC: Final = re.compile(r"\w+(?:ar|er|ir)te\b")
_FR_ELIDED_TE: Final = re.compile(r"\bt['’]", re.IGNORECASE)


def address_of(text: str, language: str) -> Address | None:
    """Whether ``text`` addresses its reader formally or informally; None when it does not say
    (no pronoun of either kind, as many English or Finnish sentences)."""
    tokens = _TOKEN.findall(text)
    lowered = [t.casefold() for t in tokens]
    formal = sum(t in _FORMAL.get(language, ()) for t in lowered)
    formal += sum(t in _FORMAL_CAPITALISED.get(language, ()) for t in tokens[1:])
    informal = sum(t in _INFORMAL.get(language, ()) for t in lowered)
    if language == "es":
        formal += len(_ES_FORMAL_ENCLITIC.findall(text.casefold()))
        informal += len(_ES_INFORMAL_ENCLITIC.findall(text.casefold()))
    elif language == "fr":
        informal += len(_FR_ELIDED_TE.findall(text))
    if formal > informal:
        return "formal"
    if informal > formal:
        return "informal"
    return None


class ReplyParts:
    """What one reply shows of the company's style."""

    __slots__ = ("address", "closing", "greeting", "sign_off", "words")

    def __init__(self) -> None:
        self.greeting: str | None = None
        self.closing: str | None = None
        self.sign_off: str | None = None
        self.address: Address | None = None
        self.words = 0


def _short(line: str, max_words: int) -> bool:
    return len(line.split()) <= max_words and len(line) <= MAX_LINE_CHARS


def _says(line: str) -> bool:
    """A line that ends a sentence says something; a greeting, closing or signature does not."""
    return line.rstrip().endswith((".", "?"))


def reply_parts(text: str, language: str, signature: str | None = None) -> ReplyParts:
    """The greeting, closing, sign-off, address and length of one reply."""
    parts = ReplyParts()
    parts.words = len(text.split())
    parts.address = address_of(text, language)
    lines = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return parts
    first = lines[0]
    if len(lines) > 1 and _short(first, _MAX_GREETING_WORDS) and not _says(first):
        parts.greeting = first
    else:
        inline = _INLINE.match(first)
        if inline is not None and len(inline.group(1).split()) <= _MAX_GREETING_WORDS:
            parts.greeting = inline.group(1)
    if len(lines) < 2:  # a one-line reply has no separate closing or signature
        return parts
    last = lines[-1]
    closing_index: int | None = None
    if signature is not None and " ".join(signature.split()) in last:
        parts.sign_off = last
        closing_index = len(lines) - 2
    elif last.endswith((",", "!")) and _short(last, _MAX_CLOSING_WORDS):
        closing_index = len(lines) - 1  # "Kind regards," or "Ha det fint!" with no name under it
    elif _short(last, _MAX_SIGN_OFF_WORDS) and not _says(last):
        parts.sign_off = last
        closing_index = len(lines) - 2
    if closing_index is not None and closing_index >= 1:
        closing = lines[closing_index]
        if _short(closing, _MAX_CLOSING_WORDS) and not _says(closing):
            parts.closing = closing
    return parts


def _regular(values: Sequence[str | None], total: int) -> str | None:
    """The most common value when it is regular enough to call the company's."""
    counted = Counter(v for v in values if v)
    if not counted:
        return None
    value, count = counted.most_common(1)[0]
    if count < MIN_SUPPORT or count < MIN_SHARE * total:
        return None
    return value


def line_problem(
    value: str, language: str, company: Company, *, greeting: bool = False
) -> str | None:
    """Why ``value`` cannot be a greeting, closing or sign-off written into every draft (None:
    it can): one line, short, no fence or masking marks, and the draft checks pass on it."""
    if "\n" in value or "\r" in value:
        return "must be one line"
    if len(value) > MAX_LINE_CHARS or len(value.split()) > _MAX_LINE_WORDS:
        return f"must be at most {MAX_LINE_CHARS} characters and {_MAX_LINE_WORDS} words"
    if "<<<" in value or ">>>" in value:
        return "must not hold <<< or >>>"
    if any(mark in value for mark in _MARKS):
        return "must not hold a masked name, e-mail address or phone number"
    rest = value.replace(NAME_PLACEHOLDER, "", 1) if greeting else value
    if "{" in rest or "}" in rest:
        allowed = f" other than one {NAME_PLACEHOLDER}" if greeting else ""
        return f"must not hold braces{allowed}"
    ctx = DraftContext(
        text=value.replace(NAME_PLACEHOLDER, "Anna"),
        language=language,
        stars=5,
        company_name=company.name,
        company_languages=tuple(company.languages),
        signature=company.signature,
        brand_voice=company.brand_voice,
    )
    failed = [name for name, ok in run_checks(ctx, _LINE_CHECKS).items() if ok is False]
    if failed:
        return "fails the draft checks (" + ", ".join(failed) + ")"
    return None


def _checked(
    value: str | None, language: str, company: Company, *, greeting: bool = False
) -> str | None:
    if value is None or line_problem(value, language, company, greeting=greeting) is not None:
        return None
    return value


def learn_language(
    replies: Sequence[tuple[StarBand, str]], language: str, company: Company
) -> Style:
    """The style of one language's replies, given as (the star band each was written in,
    text) with ``‹name›`` marks."""
    parts = [reply_parts(text, language, company.signature) for _, text in replies]
    total = len(parts)
    greetings = [
        p.greeting.replace(NAME_MARK, NAME_PLACEHOLDER) if p.greeting else None for p in parts
    ]
    named = _regular([g for g in greetings if g and NAME_PLACEHOLDER in g], total)
    unnamed = _regular([g for g in greetings if g and NAME_PLACEHOLDER not in g], total)
    addresses = [p.address for p in parts if p.address]
    formality: Address | None = None
    if addresses:
        address, count = Counter(addresses).most_common(1)[0]
        if count >= MIN_SUPPORT and count >= MIN_ADDRESS_SHARE * len(addresses):
            formality = address
    by_band: dict[str, list[int]] = defaultdict(list)
    for (band, _), part in zip(replies, parts, strict=True):
        by_band[band].append(part.words)
    medians = {
        band: round(statistics.median(words))
        for band, words in by_band.items()
        if len(words) >= MIN_SUPPORT
    }
    length = LengthByBand(
        negative=medians.get("negative"),
        mixed=medians.get("mixed"),
        positive=medians.get("positive"),
    )
    return Style(
        greeting=_checked(named or unnamed, language, company, greeting=True),
        greeting_without_name=_checked(unnamed, language, company),
        closing=_checked(_regular([p.closing for p in parts], total), language, company),
        sign_off=_checked(_regular([p.sign_off for p in parts], total), language, company),
        formality=formality,
        length=length,
    )


def learn_styles(
    examples: Iterable[VoiceExample], company: Company
) -> dict[str, tuple[Style, int]]:
    """Per language: the style learned from the company's voice examples, and how many replies
    it was learned from. One example per review, its newest (as examples are chosen)."""
    newest: dict[str, VoiceExample] = {}
    for example in examples:
        kept = newest.get(example.review_id)
        if kept is None or example.published_at > kept.published_at:
            newest[example.review_id] = example
    by_language: dict[str, list[tuple[StarBand, str]]] = defaultdict(list)
    for example in newest.values():
        by_language[example.language].append((example_band(example), example.reply_text))
    return {
        language: (learn_language(replies, language, company), len(replies))
        for language, replies in sorted(by_language.items())
    }

"""A company's style profile: learned from its replies, pinned by hand, followed by drafts.

Per language, what the company's published voice examples show (``style_learning``), and
what an admin or agent pinned (``PUT /v1/companies/{id}/style``). A pinned field wins over
what is learned. The sign-off a draft ends with is the pinned one, else the company's
``signature`` setting, else the learned one: a setting an admin changed must not wait for 200
new replies to take effect.

* **Learning** happens when a reply becomes a voice example (``relearn``, called by
  publishing): the company's candidates for that language (at most 200, the voice store's
  cap) are read once and learned from. Never a scan of all reviews, never per draft.
* **Drafting** reads the profile through the store's per-process cache (``style_for_draft``):
  no Redis round trip on most drafts, and the merged style is computed once per cache entry.
  A company with nothing learned or pinned in the language gets no style: drafts as before.
* **Every line** that a draft will carry (greeting, closing, sign-off) passes the draft checks
  against the company's current settings when it is learned, pinned and merged: one that
  carries a link, address or number the company did not configure, a promise or an admission
  is dropped (learned) or refused with 400 (pinned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec
import structlog
from redis.exceptions import RedisError

from reply_assist.drafting.language import normalize_language
from reply_assist.drafting.style import NAME_PLACEHOLDER, LengthByBand, Style
from reply_assist.errors import InvalidRequest
from reply_assist.markets import StarBand
from reply_assist.models import Company
from reply_assist.runtime import Runtime
from reply_assist.services.access import AGENT, ANY_ROLE, Principal, authorize
from reply_assist.services.lookups import require_company
from reply_assist.services.style_learning import learn_language, learn_styles, line_problem
from reply_assist.services.voice import VoiceExample, example_band
from reply_assist.store.style import PINS_FIELD, StyleEntry, learned_field

__all__ = [
    "FIELDS",
    "CompanyStyle",
    "LanguageStyle",
    "LearnedStyle",
    "company_style",
    "effective_style",
    "pin_style",
    "profile_from_examples",
    "relearn",
    "style_for_draft",
]

log = structlog.get_logger(__name__)

FIELDS: Final = ("greeting", "greeting_without_name", "closing", "sign_off", "formality", "length")
_LINES: Final = ("greeting", "greeting_without_name", "closing", "sign_off")
_BANDS: Final = ("negative", "mixed", "positive")


class LearnedStyle(msgspec.Struct, frozen=True):
    """What one language's replies taught, and from how many replies."""

    style: Style
    replies: int
    learned_at: datetime


@dataclass(frozen=True, slots=True)
class LanguageStyle:
    """One language of a company's profile, as ``GET …/style`` shows it."""

    language: str
    effective: Style  # what drafts follow: pinned, else learned (the sign-off: see above)
    learned: Style
    pinned: tuple[str, ...]  # the pinned fields, "length.negative" for one band's length
    replies: int  # how many replies it was learned from
    learned_at: datetime | None


@dataclass(frozen=True, slots=True)
class CompanyStyle:
    company_id: str
    languages: tuple[LanguageStyle, ...]


_pins_decoder = msgspec.json.Decoder(dict[str, Style])
_learned_decoder = msgspec.json.Decoder(LearnedStyle)


def _pins(entry: StyleEntry) -> dict[str, Style]:
    raw = entry.fields.get(PINS_FIELD)
    if raw is None:
        return {}
    try:
        return _pins_decoder.decode(raw)
    except msgspec.DecodeError:
        return {}  # written by a newer version: draft without it rather than fail


def _learned(entry: StyleEntry, language: str) -> LearnedStyle | None:
    raw = entry.fields.get(learned_field(language))
    if raw is None:
        return None
    try:
        return _learned_decoder.decode(raw)
    except msgspec.DecodeError:
        return None


def _pinned_fields(pins: Style | None) -> tuple[str, ...]:
    if pins is None:
        return ()
    names = [name for name in FIELDS if name != "length" and getattr(pins, name) is not None]
    names += [f"length.{band}" for band in _BANDS if getattr(pins.length, band) is not None]
    return tuple(names)


def effective_style(
    learned: Style | None, pins: Style | None, company: Company, language: str
) -> Style:
    """What drafts in ``language`` follow: each pinned field, else the learned one; the sign-off
    pinned, else the company's signature, else learned. Lines that fail the checks against the
    company's current settings are left out (a domain taken out of the settings, say)."""
    learned = learned or Style()
    pins = pins or Style()

    def line(name: str) -> str | None:
        value: str | None = getattr(pins, name) or getattr(learned, name)
        if value is None:
            return None
        greeting = name == "greeting"
        return None if line_problem(value, language, company, greeting=greeting) else value

    # The company's own signature setting is its own words (its contacts are allowed by
    # definition, and it may be longer than a learned line): taken as it is.
    sign_off = line("sign_off") if pins.sign_off else None
    sign_off = sign_off or (company.signature or "").strip() or line("sign_off")
    return Style(
        greeting=line("greeting"),
        greeting_without_name=line("greeting_without_name"),
        closing=line("closing"),
        sign_off=sign_off,
        formality=pins.formality or learned.formality,
        length=LengthByBand(
            negative=pins.length.negative or learned.length.negative,
            mixed=pins.length.mixed or learned.length.mixed,
            positive=pins.length.positive or learned.length.positive,
        ),
    )


def _language_style(entry: StyleEntry, company: Company, language: str) -> LanguageStyle:
    learned = _learned(entry, language)
    pins = _pins(entry).get(language)
    has_any = (learned is not None and not learned.style.is_empty) or (
        pins is not None and not pins.is_empty
    )
    effective = (
        effective_style(learned.style if learned else None, pins, company, language)
        if has_any
        else Style()
    )
    return LanguageStyle(
        language=language,
        effective=effective,
        learned=learned.style if learned else Style(),
        pinned=_pinned_fields(pins),
        replies=learned.replies if learned else 0,
        learned_at=learned.learned_at if learned else None,
    )


def _view(company: Company, entry: StyleEntry) -> CompanyStyle:
    languages = dict.fromkeys(company.languages)
    languages.update(dict.fromkeys(_pins(entry)))
    languages.update(
        dict.fromkeys(k.split("/", 1)[1] for k in entry.fields if k.startswith("learned/"))
    )
    return CompanyStyle(
        company_id=company.id,
        languages=tuple(_language_style(entry, company, language) for language in languages),
    )


def profile_from_examples(examples: Iterable[VoiceExample], company: Company) -> dict[str, Style]:
    """What drafts would follow, per language, for a company whose voice examples these are and
    that pinned nothing: ``learn_styles`` merged as ``style_for_draft`` merges it. Pure (no
    storage), for ``reply-assist eval --history``: give a ``DraftRequest`` the language's style,
    render its prompt with ``style=``, and frame the completion with ``frame_completion``."""
    return {
        language: effective_style(learned, None, company, language)
        for language, (learned, _) in learn_styles(examples, company).items()
        if not learned.is_empty
    }


async def company_style(rt: Runtime, principal: Principal, company_id: str) -> CompanyStyle:
    """The company's profile in every language it has (``GET …/style``; every role)."""
    authorize(principal, company_id, ANY_ROLE)
    company = await require_company(rt, company_id)
    return _view(company, await rt.style.read(company_id, fresh=True))


async def pin_style(
    rt: Runtime, principal: Principal, company_id: str, pins: Mapping[str, Style]
) -> CompanyStyle:
    """Replace the company's pinned fields (``PUT …/style``): per language, each field given
    wins over what is learned; a language or field left out is not pinned any more. A line that
    a draft could not carry is refused with 400 naming the field. Agents and the admin."""
    authorize(principal, company_id, AGENT)
    company = await require_company(rt, company_id)
    cleaned: dict[str, Style] = {}
    for code, style in pins.items():
        language = normalize_language(code)
        for name in _LINES:
            value = getattr(style, name)
            if value is None:
                continue
            greeting = name == "greeting"
            problem = line_problem(value, language, company, greeting=greeting)
            if problem is None and not greeting and NAME_PLACEHOLDER in value:
                problem = f"must not hold {NAME_PLACEHOLDER} (only the greeting names the reviewer)"
            if problem is not None:
                field = f"languages.{code}.{name}"
                raise InvalidRequest(
                    f"Invalid '{field}': {problem}.",
                    errors=[{"field": field, "message": problem}],
                )
        if not style.is_empty:
            cleaned[language] = style
    await rt.style.write(company_id, PINS_FIELD, msgspec.json.encode(cleaned))
    return _view(company, await rt.style.read(company_id, fresh=True))


async def style_for_draft(rt: Runtime, company: Company, language: str) -> Style | None:
    """The style a draft in ``language`` follows, or None when the company has none there.
    Read through the per-process cache; a failed read costs the style, never the draft."""
    try:
        entry = await rt.style.read(company.id)
    except RedisError as exc:
        log.warning("style_unavailable", company_id=company.id, error=type(exc).__name__)
        return None
    if not entry.fields:
        return None
    key = (language, company.name, company.signature, company.brand_voice, *company.languages)
    if key not in entry.derived:
        effective = _language_style(entry, company, language).effective
        entry.derived[key] = None if effective.is_empty else effective
    style: Style | None = entry.derived[key]
    return style


async def relearn(rt: Runtime, company: Company, language: str) -> None:
    """Learn the company's style in ``language`` again from its voice examples (bounded: the
    store keeps at most 200). Called when a reply becomes an example."""
    candidates = await rt.voice.candidates(company.id)
    newest: dict[str, tuple[float, StarBand, str]] = {}
    for example in candidates:
        if example.language != language:
            continue
        kept = newest.get(example.review_id)
        if kept is None or example.published_at > kept[0]:
            band = example_band(example)  # as written, after the market shift
            newest[example.review_id] = (example.published_at, band, example.reply_text)
    replies = [(band, text) for _, band, text in newest.values()]
    learned = LearnedStyle(
        style=learn_language(replies, language, company),
        replies=len(replies),
        learned_at=datetime.now(UTC),
    )
    await rt.style.write(company.id, learned_field(language), msgspec.json.encode(learned))

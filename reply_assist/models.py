"""The records the service keeps, as msgspec Structs: what goes over the wire and into Redis.

Request bodies carry their limits as ``Meta`` constraints, so Litestar refuses a wrong body with
a 400 that names the field before any handler code runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from reply_assist.iso639 import is_iso_639_1
from reply_assist.iso3166 import ISO_3166_1_ALPHA_2, country_code
from reply_assist.markets import MAX_STAR_SHIFT, StarBand

__all__ = [
    "DOWN_REASONS",
    "GENERATION_LIMIT",
    "MAX_DRAFTS",
    "REASONS",
    "STAR_BAND_DESCRIPTION",
    "UP_REASONS",
    "Company",
    "CompanyIn",
    "DraftRules",
    "DraftRulesIn",
    "DraftUsage",
    "LanguageSource",
    "Origin",
    "Plan",
    "Reason",
    "Review",
    "ReviewIn",
    "ReviewType",
    "Role",
    "StarShifts",
    "StoredDraft",
    "Vote",
    "in_utc_range",
    "out_of_utc_range",
]

GENERATION_LIMIT = 10  # drafts per review, a product rule (not a setting)

Plan = Literal["enterprise", "standard"]
ReviewType = Literal["company", "product"]
Role = Literal["dashboard", "agent", "analyst"]
LanguageSource = Literal["platform", "detected"]
# Who asked for a draft: a person or a dashboard (`request`), or the company's draft rules (`rule`).
Origin = Literal["request", "rule"]
# A feedback reason goes with one direction (api-v1, 2026-12-06): "helpful" explains a thumbs up,
# the others a thumbs down; a reason of the other direction would put a "Helpful" bar among the
# reasons for thumbs down.
Reason = Literal[
    "helpful", "wrong_tone", "inaccurate", "too_long", "too_generic", "wrong_language", "other"
]
UP_REASONS: tuple[Reason, ...] = ("helpful",)
DOWN_REASONS: tuple[Reason, ...] = (
    "wrong_tone",
    "inaccurate",
    "too_long",
    "too_generic",
    "wrong_language",
    "other",
)
REASONS: tuple[Reason, ...] = (*UP_REASONS, *DOWN_REASONS)
Stars = Literal[1, 2, 3, 4, 5]
DEFAULT_MAX_AGE_HOURS = 72

VOICE_EXAMPLES_DESCRIPTION = (
    "Show the model a few replies this company published (unedited, or whose draft got a thumbs "
    "up) to similar reviews, so drafts sound like the company; reviewers' names and contacts are "
    "removed from them. false: never. Ignored by the built-in templates."
)

MAX_DRAFTS = 1_000_000_000  # a bound on every count of drafts a client sends
ALLOWANCE_DESCRIPTION = (
    "Drafts the company may generate each calendar month (UTC), on any face and from any "
    "origin; it renews on the 1st and unused ones are dropped. Bought drafts "
    "(`POST …/credits`) are used once it is spent. null: unlimited."
)
ALERT_AT_DESCRIPTION = (
    "Drafts left this month (allowance and credits) at or under which the `usage.low` event "
    "is sent, once a month, and the reply desk warns agents. null: never."
)

MARKET_STAR_SHIFT_DESCRIPTION = (
    "Ratings differ by culture: per reviewer country (ISO 3166-1 alpha-2), how many stars to add "
    f"(-{MAX_STAR_SHIFT}…{MAX_STAR_SHIFT}) before a draft chooses its tone. "
    '`{"FR": 1}`: a 4 from France is answered like a 5 (clamped to 1–5). '
    "Empty: every review is answered as rated."
)
_COUNTRY_DOC = (
    "The reviewer's country, ISO 3166-1 alpha-2 (`FR`; any case, shown in upper case); null "
    "when unknown. With the company's `market_star_shift` it decides the draft's star band."
)
STAR_BAND_DESCRIPTION = (
    "The band whose tone the draft was written in: `negative` (1–2 stars), `mixed` (3), "
    "`positive` (4–5), after the company's `market_star_shift` for the reviewer's country. "
    "Null for drafts stored before it was recorded."
)

AwareDatetime = Annotated[datetime, Meta(tz=True)]
# No pattern: a code is checked against the assigned ones in __post_init__, whose error names
# the field and the form (msgspec's own would only show a regular expression).
CountryCode = Annotated[str, Meta(description="ISO 3166-1 alpha-2 code: FR, DE, US")]
StarShift = Annotated[int, Meta(ge=-MAX_STAR_SHIFT, le=MAX_STAR_SHIFT)]
StarShifts = dict[str, int]
LanguageCode = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 639-1 code")]
LanguageHint = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$",
        description="ISO 639-1, optionally with a region: sv, en-GB, pt_BR",
    ),
]


_LANGUAGE_DOC = (
    "The language the rules use (ISO 639-1): the platform's hint, normalized (en-GB -> en), "
    "else the language detected when the review was stored; null when it cannot be told"
)
_SOURCE_DOC = "Where `language` came from: `platform` (the hint), `detected`, or null (no language)"


class CompanyIn(msgspec.Struct, forbid_unknown_fields=False):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    plan: Plan
    contract_start: AwareDatetime
    languages: Annotated[list[LanguageCode], Meta(min_length=1, max_length=20)]
    brand_voice: Annotated[str, Meta(max_length=1000)] | None = None
    signature: Annotated[str, Meta(max_length=200)] | None = None
    voice_examples: Annotated[bool, Meta(description=VOICE_EXAMPLES_DESCRIPTION)] = True
    market_star_shift: Annotated[
        dict[CountryCode, StarShift],
        Meta(max_length=len(ISO_3166_1_ALPHA_2), description=MARKET_STAR_SHIFT_DESCRIPTION),
    ] = msgspec.field(default_factory=dict)
    monthly_draft_allowance: (
        Annotated[int, Meta(ge=0, le=MAX_DRAFTS, description=ALLOWANCE_DESCRIPTION)] | None
    ) = None
    usage_alert_at: (
        Annotated[int, Meta(ge=0, le=MAX_DRAFTS, description=ALERT_AT_DESCRIPTION)] | None
    ) = None

    def __post_init__(self) -> None:
        _require_utc_range("contract_start", self.contract_start)
        for n, code in enumerate(self.languages):
            _require_iso_639_1(f"languages[{n}]", code)
        shifts: StarShifts = {}
        for code, shift in self.market_star_shift.items():
            field = f"market_star_shift.{code[:20]}"
            country = _require_iso_3166(field, code)
            if country in shifts:
                raise ValueError(
                    f"Invalid '{field}': {country} is given twice (codes are read in any case)"
                )
            shifts[country] = shift
        self.market_star_shift = shifts


class Company(msgspec.Struct):
    id: str
    name: str
    plan: Plan
    contract_start: datetime
    languages: list[str]
    brand_voice: str | None = None
    signature: str | None = None
    updated_at: datetime | None = None
    voice_examples: Annotated[bool, Meta(description=VOICE_EXAMPLES_DESCRIPTION)] = True
    market_star_shift: Annotated[StarShifts, Meta(description=MARKET_STAR_SHIFT_DESCRIPTION)] = (
        msgspec.field(default_factory=dict)
    )
    monthly_draft_allowance: Annotated[int | None, Meta(description=ALLOWANCE_DESCRIPTION)] = None
    usage_alert_at: Annotated[int | None, Meta(description=ALERT_AT_DESCRIPTION)] = None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=False):
    type: ReviewType
    text: Annotated[str, Meta(max_length=10_000)]
    stars: Annotated[int, Meta(ge=1, le=5)]
    created_at: AwareDatetime
    title: Annotated[str, Meta(max_length=500)] | None = None
    reported: bool = False
    verified: bool = False
    author_name: Annotated[str, Meta(max_length=200)] | None = None
    language: LanguageHint | None = None
    country: Annotated[CountryCode | None, Meta(description=_COUNTRY_DOC)] = None

    def __post_init__(self) -> None:
        _require_utc_range("created_at", self.created_at)
        if self.language is not None:
            _require_iso_639_1("language", self.language)
        if self.country is not None:
            self.country = _require_iso_3166("country", self.country)


def in_utc_range(value: datetime) -> bool:
    """Whether UTC can write the instant: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.

    An offset can put an instant that Python holds outside that range
    (``0001-01-01T00:00:00+14:00`` is 10:00 on the last day of year 0), and everything the
    service computes in UTC then breaks: the review list's index entry became negative, and
    the service refused its own ``next_cursor``.
    """
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def out_of_utc_range(field: str, value: datetime) -> str:
    """The 400's message for an instant outside ``in_utc_range`` (it names the field)."""
    return (
        f"Invalid '{field}': {value.isoformat()} is outside 0001-01-01T00:00:00Z to "
        "9999-12-31T23:59:59Z in UTC"
    )


def _require_utc_range(field: str, value: datetime) -> None:
    if not in_utc_range(value):
        raise ValueError(out_of_utc_range(field, value))


def _require_iso_639_1(field: str, code: str) -> None:
    # A pattern cannot say which two letters are a language; msgspec turns this ValueError into
    # a 400 whose message names the field in the form problems.py reads ("Invalid 'f': ...").
    if not is_iso_639_1(code):
        raise ValueError(f"Invalid '{field}': {code!r} is not an ISO 639-1 language code")


def _require_iso_3166(field: str, code: str) -> str:
    """The code in upper case; a 400 naming the field and the allowed form otherwise."""
    country = country_code(code)
    if country is None:
        raise ValueError(
            f"Invalid '{field}': {code[:20]!r} is not an assigned ISO 3166-1 alpha-2 country code "
            "(two letters, e.g. FR, DE, US)"
        )
    return country


class Review(msgspec.Struct):
    id: str
    company_id: str
    type: ReviewType
    text: str
    stars: int
    created_at: datetime
    title: str | None = None
    reported: bool = False
    verified: bool = False
    author_name: str | None = None
    # Stored: the platform's hint, as sent. Shown (GET, PUT): the effective language, the hint
    # normalized or else the detected one, with ``language_source`` saying which.
    language: Annotated[str | None, Meta(description=_LANGUAGE_DOC)] = None
    updated_at: datetime | None = None
    language_source: Annotated[LanguageSource | None, Meta(description=_SOURCE_DOC)] = None
    country: Annotated[str | None, Meta(description=_COUNTRY_DOC)] = None


class DraftUsage(msgspec.Struct, omit_defaults=True):
    prompt_tokens: int
    completion_tokens: int
    # Of prompt_tokens, read from the server's cache; left out when none (or not reported).
    cached_prompt_tokens: int = 0


class StoredDraft(msgspec.Struct):
    """The part of a draft that never changes after generation (the ``data`` field in Redis)."""

    id: str
    review_id: str
    text: str  # the generated text
    language: str
    model: str
    prompt_version: str
    usage: DraftUsage
    created_at: datetime
    warnings: list[str] = msgspec.field(default_factory=list)
    prompt_truncated: bool = False
    origin: Origin = "request"  # drafts stored before origins existed were all requested
    # The band the draft was written for, and the reviewer's country when it was generated: the
    # draft's votes and publishes count under that country, whatever the review says later.
    star_band: Annotated[StarBand | None, Meta(description=STAR_BAND_DESCRIPTION)] = None
    country: str | None = None


class Vote(msgspec.Struct):
    vote: Literal["up", "down"]
    agent_id: str
    created_at: datetime
    reason: str | None = None
    comment: str | None = None


_RULE_LANGUAGES_DOC = (
    "Review languages to draft (ISO 639-1), each one of the company's languages; "
    "left out or null: all of the company's languages, as they are when a review is stored"
)


class DraftRulesIn(msgspec.Struct, forbid_unknown_fields=False):
    """Which stored reviews get a draft in the background (``PUT …/draft-rules``)."""

    enabled: bool
    stars: Annotated[
        list[Stars], Meta(min_length=1, max_length=5, description="Star ratings to draft")
    ] = msgspec.field(default_factory=lambda: [1, 2, 3, 4, 5])
    languages: Annotated[list[LanguageCode] | None, Meta(description=_RULE_LANGUAGES_DOC)] = None
    max_age_hours: Annotated[
        int,
        Meta(
            ge=1,
            le=8760,
            description="A review whose created_at is older than this when it is stored is not "
            "drafted",
        ),
    ] = DEFAULT_MAX_AGE_HOURS

    def __post_init__(self) -> None:
        for n, code in enumerate(self.languages or ()):
            _require_iso_639_1(f"languages[{n}]", code)


class DraftRules(msgspec.Struct):
    """The stored rules; ``languages`` None means all of the company's."""

    enabled: bool = False
    stars: list[int] = msgspec.field(default_factory=lambda: [1, 2, 3, 4, 5])
    languages: list[str] | None = None
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS
    updated_at: datetime | None = None

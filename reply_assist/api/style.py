"""A company's style profile: what drafts follow, learned from its replies or pinned."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.drafting.style import LengthByBand, Style
from reply_assist.http.ids import CompanyId, rfc3339
from reply_assist.iso639 import is_iso_639_1
from reply_assist.runtime import Runtime
from reply_assist.services.style import CompanyStyle, company_style, pin_style
from reply_assist.services.style_learning import MAX_LINE_CHARS

__all__ = ["StyleController", "StyleIn", "StyleOut"]

Line = Annotated[str, Meta(min_length=1, max_length=MAX_LINE_CHARS, pattern=r"^[^\r\n]*$")]
Words = Annotated[int, Meta(ge=10, le=200, description="Words, 10 to 200")]
LanguageKey = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 639-1 code")]
Formality = Literal["formal", "informal"]

_GREETING_DOC = (
    "The first line, with `{name}` where the reviewer's first name goes (`Dear {name},`); "
    "without `{name}` nobody is greeted by name."
)
_WITHOUT_NAME_DOC = "The first line for a reviewer without a usable first name."
_CLOSING_DOC = "The line above the sign-off (`Warm wishes from the fjords,`)."
_SIGN_OFF_DOC = (
    "The last line, the signature as the company writes it. Drafts end with the pinned one, "
    "else the company's `signature`, else the learned one."
)
_FORMALITY_DOC = "`formal` or `informal` address: ni/du, u/je, Sie/du, vous/tu, usted/tú."
_LENGTH_DOC = "Typical length in words by star band (negative 1–2, mixed 3, positive 4–5)."


class LengthIn(msgspec.Struct):
    negative: Words | None = None
    mixed: Words | None = None
    positive: Words | None = None


class StyleFieldsIn(msgspec.Struct):
    greeting: Annotated[Line, Meta(description=_GREETING_DOC)] | None = None
    greeting_without_name: Annotated[Line, Meta(description=_WITHOUT_NAME_DOC)] | None = None
    closing: Annotated[Line, Meta(description=_CLOSING_DOC)] | None = None
    sign_off: Annotated[Line, Meta(description=_SIGN_OFF_DOC)] | None = None
    formality: Annotated[Formality, Meta(description=_FORMALITY_DOC)] | None = None
    length: Annotated[LengthIn, Meta(description=_LENGTH_DOC)] | None = None


class StyleIn(msgspec.Struct):
    """The pinned fields, per language; this replaces every pin the company had."""

    languages: Annotated[dict[LanguageKey, StyleFieldsIn], Meta(max_length=20)]

    def __post_init__(self) -> None:
        for code in self.languages:
            if not is_iso_639_1(code):
                raise ValueError(f"Invalid 'languages': {code!r} is not an ISO 639-1 language code")


class LengthOut(msgspec.Struct):
    negative: int | None
    mixed: int | None
    positive: int | None


class StyleFieldsOut(msgspec.Struct):
    greeting: Annotated[str | None, Meta(description=_GREETING_DOC)]
    greeting_without_name: Annotated[str | None, Meta(description=_WITHOUT_NAME_DOC)]
    closing: Annotated[str | None, Meta(description=_CLOSING_DOC)]
    sign_off: Annotated[str | None, Meta(description=_SIGN_OFF_DOC)]
    formality: Annotated[Formality | None, Meta(description=_FORMALITY_DOC)]
    length: Annotated[LengthOut, Meta(description=_LENGTH_DOC)]


class LanguageStyleOut(msgspec.Struct):
    """What drafts in this language follow (pinned, else learned), what was learned, and
    which fields are pinned."""

    greeting: Annotated[str | None, Meta(description=_GREETING_DOC)]
    greeting_without_name: Annotated[str | None, Meta(description=_WITHOUT_NAME_DOC)]
    closing: Annotated[str | None, Meta(description=_CLOSING_DOC)]
    sign_off: Annotated[str | None, Meta(description=_SIGN_OFF_DOC)]
    formality: Annotated[Formality | None, Meta(description=_FORMALITY_DOC)]
    length: Annotated[LengthOut, Meta(description=_LENGTH_DOC)]
    pinned: Annotated[
        list[str],
        Meta(description="The pinned fields (`length.negative` for one band's length)."),
    ]
    learned: Annotated[StyleFieldsOut, Meta(description="What the company's replies show.")]
    replies: Annotated[
        int,
        Meta(
            description="How many published replies it was learned from (unedited or upvoted, "
            "whose drafts had no warning; the newest 200)."
        ),
    ]
    learned_at: str | None


class StyleOut(msgspec.Struct):
    company_id: str
    languages: dict[str, LanguageStyleOut]


def _length(length: LengthByBand) -> LengthOut:
    return LengthOut(negative=length.negative, mixed=length.mixed, positive=length.positive)


def _fields(style: Style) -> StyleFieldsOut:
    return StyleFieldsOut(
        greeting=style.greeting,
        greeting_without_name=style.greeting_without_name,
        closing=style.closing,
        sign_off=style.sign_off,
        formality=style.formality,
        length=_length(style.length),
    )


def style_out(profile: CompanyStyle) -> StyleOut:
    languages: dict[str, LanguageStyleOut] = {}
    for item in profile.languages:
        effective = item.effective
        languages[item.language] = LanguageStyleOut(
            greeting=effective.greeting,
            greeting_without_name=effective.greeting_without_name,
            closing=effective.closing,
            sign_off=effective.sign_off,
            formality=effective.formality,
            length=_length(effective.length),
            pinned=list(item.pinned),
            learned=_fields(item.learned),
            replies=item.replies,
            learned_at=rfc3339(item.learned_at) if item.learned_at else None,
        )
    return StyleOut(company_id=profile.company_id, languages=languages)


def _pins(data: StyleIn) -> dict[str, Style]:
    pins: dict[str, Style] = {}
    for code, fields in data.languages.items():
        length = fields.length or LengthIn()
        pins[code.lower()] = Style(
            greeting=fields.greeting,
            greeting_without_name=fields.greeting_without_name,
            closing=fields.closing,
            sign_off=fields.sign_off,
            formality=fields.formality,
            length=LengthByBand(
                negative=length.negative, mixed=length.mixed, positive=length.positive
            ),
        )
    return pins


class StyleController(Controller):
    path = "/companies/{company_id:str}/style"
    tags = ["style"]

    @get(
        summary="The company's style profile, per language",
        description="Learned from the replies the company published unedited or upvoted (whose "
        "drafts had no warning), recomputed at each such publish; a pinned field wins over what "
        "is learned. Every drafter follows it, and the service makes each draft begin with the "
        "greeting and end with the closing and sign-off.",
    )
    async def get_style(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> StyleOut:
        return style_out(await company_style(runtime, principal_of(request), company_id))

    @put(
        summary="Pin style fields by hand (agent, admin); replaces every earlier pin",
        description="A greeting, closing or sign-off that a draft could not carry (a link, "
        "e-mail address or phone number not in the company's settings, a promise, an "
        "admission of fault, more than one line) is refused with 400 naming the field.",
        status_code=200,
    )
    async def put_style(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[StyleIn],
    ) -> StyleOut:
        pinned = await pin_style(runtime, principal_of(request), company_id, _pins(data))
        return style_out(pinned)

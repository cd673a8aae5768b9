"""A company's written style in one language, as every drafter follows it.

Companies notice first what is most regular in their replies: how they greet, how they close,
how they sign, whether they say "du" or "ni", and how long they write. ``Style`` holds exactly
those, as the drafters take them (what the company learned and pinned, already merged by
``services/style.py``):

    greeting               the greeting line, ``{name}`` where the reviewer's first name goes
                           ("Dear {name},"); without ``{name}`` the company greets nobody by name
    greeting_without_name  for a reviewer without a usable name ("Dear customer,")
    closing                the line above the sign-off ("Warm wishes from the fjords,")
    sign_off               the signature as the company writes it ("Maja, Nordhavn Outdoor")
    formality              ``formal`` or ``informal`` address (ni/du, u/je, Sie/du, vous/tu…)
    length                 the typical reply length in words, per star band

``frame_for`` turns a style and a review into the ``Frame`` a draft must begin and end with;
``drafting/framing.py`` applies it to whatever a drafter wrote.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from reply_assist.drafting.template_texts import Band

if TYPE_CHECKING:  # base.py's DraftRequest carries a Style: import it only for the types
    from reply_assist.drafting.base import DraftRequest

__all__ = [
    "ADDRESS_WORDS",
    "NAME_PLACEHOLDER",
    "Address",
    "Frame",
    "LengthByBand",
    "Style",
    "frame_for",
    "greeting_name",
    "typical_words",
]

Address = Literal["formal", "informal"]
NAME_PLACEHOLDER: Final = "{name}"

# How each language says "you" formally and informally: named in the prompt ("address the
# customer as ni"), so that a model knows which pronoun the company uses.
ADDRESS_WORDS: Final[dict[str, tuple[str, str]]] = {
    "sv": ("ni", "du"),
    "da": ("De", "du"),
    "no": ("De", "du"),
    "nl": ("u", "je"),
    "de": ("Sie", "du"),
    "fr": ("vous", "tu"),
    "es": ("usted", "tú"),
    "fi": ("te", "sinä"),
}


class LengthByBand(msgspec.Struct, frozen=True, omit_defaults=True):
    """Typical reply length in words per star band (negative 1-2, mixed 3, positive 4-5)."""

    negative: int | None = None
    mixed: int | None = None
    positive: int | None = None


class Style(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a drafter follows in one language; ``None`` is "nothing known, draft as usual"."""

    greeting: str | None = None
    greeting_without_name: str | None = None
    closing: str | None = None
    sign_off: str | None = None
    formality: Address | None = None
    length: LengthByBand = msgspec.field(default_factory=LengthByBand)

    @property
    def is_empty(self) -> bool:
        return self == _EMPTY


_EMPTY: Final = Style()


class Frame(msgspec.Struct, frozen=True):
    """What one draft begins and ends with: the exact greeting line, closing and sign-off."""

    greeting: str | None
    closing: str | None
    sign_off: str | None
    language: str
    name: str | None = None  # the reviewer's first name in the greeting
    # Words that mark a line as the company's own signature ("Acme", "Anna"), to recognise a
    # sign-off a model wrote in its own way.
    own_words: frozenset[str] = frozenset()


def typical_words(style: Style | None, band: Band) -> int | None:
    if style is None:
        return None
    value: int | None = getattr(style.length, band)
    return value


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


def greeting_name(author_name: str | None) -> str | None:
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
# The frame of one draft
# --------------------------------------------------------------------------------------------

_WORD: Final = re.compile(r"[^\W\d_]{2,}")


def greeting_line(style: Style, author_name: str | None) -> tuple[str | None, str | None]:
    """(the greeting line for this reviewer, the name in it). A name is used only when it is one
    word: "Mr Smith" would put the reviewer's surname into a published reply."""
    name = greeting_name(author_name)
    if name is not None and " " in name:
        name = None
    if style.greeting and NAME_PLACEHOLDER in style.greeting:
        if name is not None:
            # str.replace, not format: the company's text is not read again for placeholders.
            return style.greeting.replace(NAME_PLACEHOLDER, name), name
        return style.greeting_without_name, None
    return style.greeting or style.greeting_without_name, None


def frame_for(request: DraftRequest) -> Frame | None:
    """The frame the request's draft must have, or None when the style asks for none."""
    style = request.style
    if style is None or style.is_empty:
        return None
    greeting, name = greeting_line(style, request.review.author_name)
    if greeting is None and style.closing is None and style.sign_off is None:
        return None
    own = " ".join(filter(None, [request.company.name, style.sign_off]))
    return Frame(
        greeting=greeting,
        closing=style.closing,
        sign_off=style.sign_off,
        language=request.review.language,
        name=name,
        own_words=frozenset(w.casefold() for w in _WORD.findall(own)),
    )

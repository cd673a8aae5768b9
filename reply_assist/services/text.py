"""The rules for every text a person submits, on every face: line endings, blank text, lengths.

- Line endings: ``\\r\\n`` and a lone ``\\r`` become ``\\n``. Browsers send a ``<textarea>`` with
  CRLF whatever was typed; without this the same reply would reach the platform as other bytes,
  an unchanged draft would look edited, and an unchanged update would make a new version.
- Blank: a text is blank when it has no visible character (see ``is_blank``). A reply or an
  edit that is blank is refused (400 ``reply_blank``); an optional comment or guidance that is
  blank is no comment or guidance.
- Lengths are counted after normalising, in characters (code points), as the API's schema says.

Each service function calls these before it checks the caller's role, so a body error is a 400
before a 403 on every face, as the contract orders.
"""

from __future__ import annotations

from typing import Final

import regex

from reply_assist.errors import InvalidRequest

__all__ = [
    "MAX_COMMENT",
    "MAX_GUIDANCE",
    "MAX_TEXT",
    "is_blank",
    "normalize_newlines",
    "optional_text",
    "reply_text",
]

MAX_TEXT: Final = 10_000  # a reply, an edit
MAX_COMMENT: Final = 2_000
MAX_GUIDANCE: Final = 500

# A character shows nothing when Unicode says so by its properties:
# - White_Space (spaces of every width, line and paragraph separators, tabs, NEL);
# - Default_Ignorable_Code_Point: what a renderer without support for it must not show
#   (zero-width space and joiners, variation selectors, tags, the soft hyphen, the combining
#   grapheme joiner U+034F, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, ...);
# - the controls (Cc), surrogates (Cs), and the format characters (Cf) other than the
#   Prepended_Concatenation_Marks (U+0600 ARABIC NUMBER SIGN, U+06DD END OF AYAH, ...), which
#   are drawn: the rest of Cf are invisible controls (bidi marks, interlinear annotation,
#   Egyptian hieroglyph joiners);
# - and U+2800 BRAILLE PATTERN BLANK: Unicode encodes a Braille cell's raised dots as the
#   low eight bits of its code point, and U+2800 is the cell with no dot raised.
# Everything else draws something (letters, digits, marks, symbols, private-use glyphs).
_VISIBLE: Final = regex.compile(
    r"[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cs}\u2800"
    r"[\p{Cf}--\p{Prepended_Concatenation_Mark}]]",
    regex.VERSION1,
)
_LINE_ENDINGS: Final = regex.compile(r"\r\n?")


def is_blank(text: str) -> bool:
    """True when the text would show nothing at all on the review page."""
    return _VISIBLE.search(text) is None


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and a lone ``\\r`` as ``\\n``."""
    return _LINE_ENDINGS.sub("\n", text) if "\r" in text else text


def _too_long(field: str, limit: int) -> InvalidRequest:
    message = f"at most {limit} characters"
    return InvalidRequest(
        f"Invalid '{field}': {message}.",
        errors=[{"field": field, "source": "body", "message": message}],
    )


def reply_text(text: str, field: str = "text") -> str:
    """A reply (or an edit of a draft) as it will be kept: line endings normalised; refused
    when blank (400 ``reply_blank``) or too long. Nothing else is changed: what the agent
    approved is what is published."""
    text = normalize_newlines(text)
    if is_blank(text):
        raise InvalidRequest(
            f"Invalid '{field}': a reply must have visible text, not only white space or "
            "invisible characters.",
            code="reply_blank",
            errors=[{"field": field, "source": "body", "message": "no visible character"}],
        )
    if len(text) > MAX_TEXT:
        raise _too_long(field, MAX_TEXT)
    return text


def optional_text(text: str | None, field: str, limit: int) -> str | None:
    """A comment or guidance: line endings normalised, surrounding white space dropped, None
    when nothing visible is left; refused when too long."""
    if text is None:
        return None
    text = normalize_newlines(text)
    if is_blank(text):
        return None
    text = text.strip()
    if len(text) > limit:
        raise _too_long(field, limit)
    return text

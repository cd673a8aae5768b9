"""The text rules every face's input goes through (services/text.py)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from reply_assist.errors import InvalidRequest
from reply_assist.services.text import (
    MAX_TEXT,
    is_blank,
    normalize_newlines,
    optional_text,
    reply_text,
)

# From the Unicode Character Database's PropList.txt (15.1), the two properties that
# Default_Ignorable_Code_Point is derived from besides the general category Cf:
OTHER_DEFAULT_IGNORABLE = [
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x2065, 0x2065),  # reserved
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0xE0000, 0xE0000),
    (0xE0002, 0xE001F),
    (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
]
VARIATION_SELECTORS = [(0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF)]
# Format characters that are drawn (Prepended_Concatenation_Mark): an Arabic number sign shows.
PREPENDED_CONCATENATION_MARKS = [
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
]


def within(cp: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a <= cp <= b for a, b in ranges)


def expected_blank(cp: int) -> bool | None:
    """What a reader would expect, reasoned from the general category (Python's own Unicode
    data) and the properties above; None where Python's Unicode does not know the character
    (a newer version may have assigned it), so no expectation is claimed."""
    category = unicodedata.category(chr(cp))
    if within(cp, OTHER_DEFAULT_IGNORABLE) or within(cp, VARIATION_SELECTORS):
        return True  # shows nothing (fillers, joiners, selectors, tags)
    if category == "Cn":
        return None
    if category in ("Zs", "Zl", "Zp", "Cc", "Cs"):
        return True  # spaces, line and paragraph separators, controls, lone surrogates
    if category == "Cf":
        return not within(cp, PREPENDED_CONCATENATION_MARKS)  # invisible format controls
    return cp == 0x2800  # BRAILLE PATTERN BLANK: the Braille cell with no dot raised


def test_blank_means_no_visible_character_over_the_whole_of_unicode() -> None:
    wrong = []
    checked = 0
    for cp in range(sys.maxunicode + 1):
        expected = expected_blank(cp)
        if expected is None:
            continue
        checked += 1
        if is_blank(chr(cp)) != expected:
            wrong.append(f"U+{cp:04X} {unicodedata.name(chr(cp), '?')}: expected {expected}")
    assert checked > 280_000  # every assigned character (and the reserved ignorables)
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(
    "text",
    [
        "\u2800",
        "\u3164",
        "\u115f",
        "\u1160",
        "\uffa0",
        "\u034f",
        "\u200b",
        "   \u200b ",
        "\ufeff\u2060\u200d",
        "\u202e\u202c",
        " \r\n\t\u00a0\u3000",
        "",
    ],
)
def test_what_the_red_team_published_is_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", "Tack!", "\u0301", "\U0001f44d", "\u0600", "\ufffc", "ㅎ"])
def test_anything_drawn_is_not_blank(text: str) -> None:
    assert not is_blank(text)
    assert not is_blank(f"\u200b {text} \u3164")


def test_line_endings_become_line_feeds() -> None:
    assert normalize_newlines("Hi Erik,\r\n\r\nThanks.\rAnna\n") == "Hi Erik,\n\nThanks.\nAnna\n"
    assert normalize_newlines("no breaks") == "no breaks"


def test_a_reply_is_kept_as_typed_but_for_its_line_endings() -> None:
    assert reply_text("  Hi Erik,\r\n  thanks  ") == "  Hi Erik,\n  thanks  "
    with pytest.raises(InvalidRequest) as blank:
        reply_text("\u2800\u3164")
    assert blank.value.code == "reply_blank"
    # Counted after normalising: a CRLF line break is one character.
    assert len(reply_text("a\r\n" * (MAX_TEXT // 2))) == MAX_TEXT
    with pytest.raises(InvalidRequest) as long:
        reply_text("x" * (MAX_TEXT + 1))
    assert long.value.code == "invalid_request" and "text" in long.value.detail


def test_an_optional_text_that_shows_nothing_is_none() -> None:
    assert optional_text("  \u200b\r\n", "comment", 10) is None
    assert optional_text(None, "comment", 10) is None
    assert optional_text("  Too\r\nlong ", "comment", 10) == "Too\nlong"
    with pytest.raises(InvalidRequest):
        optional_text("x" * 11, "comment", 10)

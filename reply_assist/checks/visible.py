"""Text as a reader sees it: without the characters that reorder or hide what is shown.

A draft is checked, stored and shown; if it holds characters that change what a reader sees
without being seen themselves, the checks judge one text and the agent approves another. Two
kinds matter:

* **Bidirectional controls** (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C) reorder what is
  shown: ``\\u202emoc.pohs-live//:sptth\\u202c`` is stored as that gibberish and shown as
  ``https://evil-shop.com``.
* **Invisible format characters** hide text or split words: a zero-width space in
  ``re\\u200bfund`` hides the word from a phrase list, a soft hyphen in ``liab\\u00adility``
  does the same, and Unicode *tag* characters (U+E0020–U+E007F) carry whole sentences that no
  screen shows but a language model reads.

``visible(text)`` drops them all: every character of Unicode's format category (Cf), the
combining grapheme joiner and variation selectors, except where they are part of what is shown
(a zero-width joiner inside an emoji sequence such as 👨‍👩‍👧, a variation selector after an emoji,
the tag sequence of a subdivision flag, the Arabic number signs that are printed). The checks
run on ``visible(draft)``, the service stores ``visible(draft)``, and the desk's templates show
every value through it, so the text an agent approves is the text that was checked.

``shown_reversed(text)`` gives what right-to-left overrides make a reader see, so that the
checks also judge the link the override was meant to show.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["HIDDEN_CHARACTERS", "shown_reversed", "visible"]

_ZWJ: Final = "\u200d"
_KEYCAP: Final = "\u20e3"
_RLO: Final = "\u202e"
# Every format character (Unicode 14's category Cf, tests/unit/checks/test_visible.py keeps
# this in step with the running Python's unicodedata) but the printed number signs, plus the
# combining grapheme joiner and the variation selectors.
HIDDEN_CHARACTERS: Final = (
    "\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufe00-\ufe0f\ufeff\ufff9-\ufffb\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef"
)
_HIDDEN: Final = re.compile(
    # A subdivision flag (🏴 + tag letters + cancel tag) is shown as one picture: kept whole.
    "(?P<flag>\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,7}\U000e007f)"
    f"|[{HIDDEN_CHARACTERS}]"
)
_ANY_HIDDEN: Final = re.compile(f"[{HIDDEN_CHARACTERS}]")  # a plain class: the engine scans fast
_VARIATION_SELECTORS: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# An override runs to its pop (PDF), to a pop of every isolate (PDI), or to the paragraph's end.
_OVERRIDE_RUN: Final = re.compile("\u202e([^\u202c\u2069\n]*)")


def _is_symbol(ch: str) -> bool:
    """A character an emoji sequence is built from (not a letter, digit, space or ASCII)."""
    return not ch.isascii() and unicodedata.category(ch)[0] == "S"


def _keep(match: re.Match[str]) -> str:
    if match.group("flag"):
        return match.group()
    ch, text, start = match.group(), match.string, match.start()
    before = text[start - 1] if start else ""
    after = text[match.end() : match.end() + 1]
    if ch == _ZWJ:
        # 👨‍👩‍👧 and ❤️‍🔥 (a variation selector may come before the joiner).
        base = before
        if base and _VARIATION_SELECTORS.fullmatch(base) and start >= 2:
            base = text[start - 2]
        return ch if base and after and _is_symbol(base) and _is_symbol(after) else ""
    if _VARIATION_SELECTORS.fullmatch(ch):
        # One selector after an emoji ("❤️"), or in a keycap ("1️⃣"); never after a letter.
        if before and (_is_symbol(before) or (before in "0123456789#*" and after == _KEYCAP)):
            return ch
        return ""
    return ""


def visible(text: str) -> str:
    """``text`` without the characters that reorder or hide what it shows (module docstring)."""
    if text.isascii() or _ANY_HIDDEN.search(text) is None:
        return text
    return _HIDDEN.sub(_keep, text)


def shown_reversed(text: str) -> str:
    """What the right-to-left overrides in ``text`` show, each run as a reader sees it
    (reversed), one per line; empty when there is none. Only overrides reverse Latin letters:
    embeddings and isolates keep them in reading order."""
    if _RLO not in text:
        return ""
    return "\n".join(visible(run)[::-1] for run in _OVERRIDE_RUN.findall(text))

"""How a reply is framed, read the same way from a company's published replies and from drafts.

Four things a company notices first in a reply, each measured on its own (``--history``):

greeting
    The words before the reply's first comma or line break, the reader's name written ``‹name›``
    ("dear ‹name›", "guten tag ‹name›", "hola ‹name›"); none when the reply opens straight in.
    A draft matches when its greeting is the company's most common one in that language (the
    one with the name when the case has a reader's name, else the one without).
sign-off
    The last short lines (a closing and a signature: at most two lines of at most 8 words, the
    closing not a sentence ending in "." or "?"), or
    the words after the last sentence of a one-paragraph reply ("warm wishes from the fjords maja
    nordhavn outdoor"). A draft matches when its last words are the company's most common
    sign-off, line breaks and punctuation aside.
formality
    How the reader is addressed, by the pronouns (and a few endings) that mark it: du/ni (sv),
    je/u (nl), du/Sie (de), tu/vous (fr), tú/usted (es), du/De (da, no), sinä/te (fi). English
    has no such choice, and a reply that never addresses the reader has none to compare: both
    are n/a, not matches.
length
    Words, against the median of the company's replies in that language and star band (the
    language's median when the band has none): a draft matches within 25 % of it.

Words are compared case-insensitively and without punctuation, so "Dear Sarah," and "dear
sarah" are the same greeting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Final

from reply_assist.eval.cases import band_of

__all__ = [
    "LENGTH_TOLERANCE",
    "NAME",
    "CompanyStyle",
    "PublishedReply",
    "StyleMatch",
    "address_of",
    "greeting_of",
    "learn_style",
    "match_style",
    "sign_off_of",
]

NAME: Final = "‹name›"
LENGTH_TOLERANCE: Final = 0.25
_GREETING_MAX_WORDS: Final = 4
_SIGN_OFF_MAX_LINE_WORDS: Final = 8
_SIGN_OFF_MAX_LINES: Final = 2
_WORD: Final = re.compile(r"[^\W\d_]+")
_CLAUSE_END: Final = re.compile(r"[,;:.!?¡¿]")
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+")
FORMAL: Final = "formal"
INFORMAL: Final = "informal"


@dataclass(frozen=True)
class _Address:
    """The words that address the reader formally or informally in one language."""

    formal: frozenset[str] = frozenset()  # compared case-insensitively
    informal: frozenset[str] = frozenset()
    # Formal only when capitalised and not opening a sentence: Danish and Norwegian "De" is
    # "you", "de" (and "De" opening a sentence, "De bedste hilsner") is "they"/"the".
    formal_capitalised_mid_sentence: frozenset[str] = frozenset()
    # Formal only when capitalised, anywhere: German "Sie"/"Ihnen" ("sie" is she/they).
    formal_capitalised: frozenset[str] = frozenset()
    formal_endings: tuple[str, ...] = ()
    informal_endings: tuple[str, ...] = ()
    not_endings: frozenset[str] = frozenset()  # words that end so without addressing anyone


_ADDRESS: Final[dict[str, _Address]] = {
    "sv": _Address(
        formal=frozenset({"ni", "er", "ert", "era"}),
        informal=frozenset({"du", "dig", "din", "ditt", "dina"}),
    ),
    "nl": _Address(
        formal=frozenset({"u", "uw"}),
        informal=frozenset({"je", "jij", "jou", "jouw"}),
    ),
    "de": _Address(
        formal_capitalised=frozenset({"Sie", "Ihnen", "Ihr", "Ihre", "Ihren", "Ihrem", "Ihrer"}),
        informal=frozenset({"du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner"}),
    ),
    "fr": _Address(
        formal=frozenset({"vous", "votre", "vos"}),
        informal=frozenset({"tu", "te", "toi", "ton", "ta", "tes"}),
    ),
    "es": _Address(
        formal=frozenset({"usted", "ustedes", "su", "sus", "suyo", "suya", "le"}),
        informal=frozenset({"tú", "tu", "tus", "te", "ti", "contigo", "tuyo", "tuya"}),
        # "ayudarle" / "ayudarte": the pronoun joined to the verb.
        formal_endings=("arle", "erle", "irle"),
        informal_endings=("arte", "erte", "irte"),
        not_endings=frozenset({"arte", "parte", "aparte", "suerte", "fuerte", "muerte"}),
    ),
    "da": _Address(
        formal_capitalised_mid_sentence=frozenset({"De", "Dem", "Deres"}),
        informal=frozenset({"du", "dig", "din", "dit", "dine"}),
    ),
    "no": _Address(
        formal_capitalised_mid_sentence=frozenset({"De", "Dem", "Deres"}),
        informal=frozenset({"du", "deg", "din", "ditt", "dine"}),
    ),
    "fi": _Address(
        formal=frozenset({"te", "teille", "teidän", "teitä", "teiltä", "teillä", "teistä"}),
        informal=frozenset({"sinä", "sinulle", "sinun", "sinua", "sinulta", "sinulla"}),
        # Possessive endings: "palautteestanne" (your, formal), "palautteestasi" (your).
        formal_endings=("nne",),
        informal_endings=("stasi", "stäsi", "ssasi", "ssäsi", "llesi", "ltasi", "ltäsi"),
        not_endings=frozenset({"tänne", "sinne", "minne", "jonne", "tuonne", "kanne"}),
    ),
}


def _words(text: str) -> list[str]:
    # lower(), not casefold(): the forms are shown in reports, and "Grüße" must stay "grüße".
    return [w.lower() for w in _WORD.findall(text)]


def _name_words(name: str | None) -> frozenset[str]:
    return frozenset(_words(name)) if name else frozenset()


def _with_name(words: Sequence[str], name: frozenset[str]) -> list[str]:
    """The words with the reader's name (first, last or both) written once as ``NAME``."""
    out: list[str] = []
    for word in words:
        if word in name:
            if not out or out[-1] != NAME:
                out.append(NAME)
        else:
            out.append(word)
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def greeting_of(text: str, reader_name: str | None) -> str:
    """The reply's greeting, the reader's name as ``NAME``; "" when it opens without one."""
    lines = _lines(text)
    if not lines:
        return ""
    name = _name_words(reader_name)
    clauses = [c for c in _CLAUSE_END.split(lines[0]) if _words(c)]
    if not clauses:
        return ""
    words = _with_name(_words(clauses[0]), name)
    # "Hola, Ana:" / "Hi, Ann!": the name in a clause of its own belongs to the greeting.
    if len(clauses) > 1 and NAME not in words and _with_name(_words(clauses[1]), name) == [NAME]:
        words.append(NAME)
    return " ".join(words) if len(words) <= _GREETING_MAX_WORDS else ""


def sign_off_of(text: str) -> str:
    """The reply's closing and signature as words; "" when it has none."""
    lines = _lines(text)
    tail: list[str] = []
    for line in reversed(lines[1:]):  # the first line is the greeting, never the sign-off
        # A short sentence of the body ("We hope to see you soon.") is not a closing; the
        # signature, the last line, may end with a full stop ("Nordhavn Outdoor Ltd.").
        sentence = bool(tail) and line.endswith((".", "?"))
        if (
            sentence
            or len(tail) == _SIGN_OFF_MAX_LINES
            or len(_words(line)) > _SIGN_OFF_MAX_LINE_WORDS
        ):
            break
        tail.insert(0, line)
    if not tail and lines:  # one paragraph: what follows its last sentence
        last = _SENTENCE_END.split(lines[-1])[-1]
        if len(_words(last)) <= _SIGN_OFF_MAX_LINE_WORDS and len(_SENTENCE_END.split(text)) > 1:
            tail = [last]
    return " ".join(_words(" ".join(tail)))


def _sentence_initial(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start].rstrip(" \t\"'«»“”‘’(")
    return not before or before[-1] in ".!?\n:"


def _is_formal(rules: _Address, word: str, folded: str) -> bool:
    return folded in rules.formal or word in rules.formal_capitalised


def address_of(text: str, language: str) -> str | None:
    """``FORMAL`` or ``INFORMAL`` by which marks are in the majority; None when the language
    has no such choice, the reply addresses nobody, or the marks are tied."""
    rules = _ADDRESS.get(language)
    if rules is None:
        return None
    formal = informal = 0
    for match in _WORD.finditer(text):
        word = match.group()
        folded = word.lower()
        if _is_formal(rules, word, folded) or (
            word in rules.formal_capitalised_mid_sentence
            and not _sentence_initial(text, match.start())
        ):
            formal += 1
        elif folded in rules.informal:
            informal += 1
        elif folded not in rules.not_endings and len(folded) > 5:
            if folded.endswith(rules.formal_endings):
                formal += 1
            elif folded.endswith(rules.informal_endings):
                informal += 1
    if formal > informal:
        return FORMAL
    if informal > formal:
        return INFORMAL
    return None


def _mode(values: Sequence[str]) -> str | None:
    """The most common value (the first seen among equals); None for none."""
    return Counter(values).most_common(1)[0][0] if values else None


@dataclass(frozen=True)
class CompanyStyle:
    """How a company frames its published replies in one language."""

    language: str
    replies: int
    greeting_named: str | None  # None: no reply to a named reader to learn it from
    greeting_generic: str
    sign_off: str
    address: str | None  # None: the language has no choice, or the replies make none
    words: int  # median
    words_by_band: dict[str, int]

    def greeting_for(self, reader_name: str | None) -> str:
        if reader_name and self.greeting_named is not None:
            return self.greeting_named
        return self.greeting_generic

    def words_for(self, stars: int) -> int:
        return self.words_by_band.get(band_of(stars), self.words)


@dataclass(frozen=True)
class PublishedReply:
    """A reply the company published: what ``learn_style`` reads."""

    language: str
    stars: int
    text: str
    reader_name: str | None = None


def learn_style(language: str, replies: Sequence[PublishedReply]) -> CompanyStyle:
    """The most common framing of ``replies`` (all in ``language``)."""
    named = [greeting_of(r.text, r.reader_name) for r in replies if _name_words(r.reader_name)]
    generic = [greeting_of(r.text, None) for r in replies if not _name_words(r.reader_name)]
    greeting_named = _mode(named)
    if generic:
        greeting_generic = _mode(generic) or ""
    else:  # never wrote to an unnamed reader: its named greeting without the name
        greeting_generic = " ".join(w for w in (greeting_named or "").split() if w != NAME)
    addresses = [a for r in replies if (a := address_of(r.text, language))]
    by_band: dict[str, list[int]] = {}
    for reply in replies:
        by_band.setdefault(band_of(reply.stars), []).append(len(reply.text.split()))
    return CompanyStyle(
        language=language,
        replies=len(replies),
        greeting_named=greeting_named,
        greeting_generic=greeting_generic,
        sign_off=_mode([sign_off_of(r.text) for r in replies]) or "",
        address=_mode(addresses),
        words=round(median(len(r.text.split()) for r in replies)),
        words_by_band={band: round(median(counts)) for band, counts in sorted(by_band.items())},
    )


@dataclass(frozen=True)
class StyleMatch:
    """One draft against its company's style; None: not measurable for this draft."""

    greeting: bool
    sign_off: bool | None
    formality: bool | None
    length: bool
    length_ratio: float  # the draft's words / the company's
    draft_greeting: str
    draft_sign_off: str
    draft_address: str | None


def match_style(
    text: str, style: CompanyStyle, *, stars: int, reader_name: str | None
) -> StyleMatch:
    greeting = greeting_of(text, reader_name)
    sign_off = sign_off_of(text)
    target_end = style.sign_off.split()
    words = _words(text)
    address = address_of(text, style.language)
    expected_words = max(1, style.words_for(stars))
    draft_words = len(text.split())
    return StyleMatch(
        greeting=greeting == style.greeting_for(reader_name),
        # The company's sign-off as the draft's last words, however the lines are broken.
        sign_off=words[-len(target_end) :] == target_end if target_end else None,
        formality=address == style.address if address and style.address else None,
        length=abs(draft_words - expected_words) <= LENGTH_TOLERANCE * expected_words,
        length_ratio=draft_words / expected_words,
        draft_greeting=greeting,
        draft_sign_off=sign_off,
        draft_address=address,
    )

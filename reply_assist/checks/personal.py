"""A person's data in free text, found and masked before the text leaves for the model.

A review, its title, the reviewer's name and an agent's guidance go to a third-party model,
which needs no one's contacts or identifiers. ``mask_personal`` replaces, in a text as a reader
sees it (``visible``):

* e-mail addresses and phone numbers, found as the draft checks find them
  (``contacts.find_contacts``: the same normaliser, so ``070\\n765\\n43\\n21``, ``erik dot svensson
  at gmail dot com``, ``erik.svensson @ gmail . com`` and ``46701234567`` are caught);
* Swedish personal identity numbers (personnummer and samordningsnummer: ``811228-9874``,
  ``19811228-9874``, ``811228+9874``, ``8112289874``), with a valid date and Luhn check digit;
* payment card numbers: 13 to 19 digits, spaced or dashed, a major network's first digit (2–6)
  and a valid Luhn check digit;
* IBANs (``SE45 5000 0000 0583 9825 7466``): the country's length and format and the ISO 7064
  mod 97 check.

Names are kept: a draft greets the reviewer by first name, and the output checks warn when it
goes further (``reviewer_data``). The validation is ``python-stdnum``'s (personnummer, Luhn and
IBAN with each country's format in one well-kept library); a digit run that fails its check is
an order number and stays.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from stdnum import iban, luhn
from stdnum.se import personnummer

from reply_assist.checks import contacts
from reply_assist.checks.visible import visible

__all__ = [
    "MARKS",
    "Identifier",
    "IdentifierKind",
    "find_identifiers",
    "find_personal",
    "mask_personal",
]

IdentifierKind = Literal["id_number", "card", "iban"]

# What stands in a masked text where the data was.
MARKS: Final[Mapping[str, str]] = {
    "email": "[e-mail]",
    "phone": "[phone]",
    "id_number": "[id number]",
    "card": "[card number]",
    "iban": "[bank account]",
}


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: IdentifierKind
    value: str  # compact: digits (and the IBAN's letters), no separators
    start: int  # offsets in the original text
    end: int


# On the normalised text (contacts.normalise): dashes are "-", whitespace runs one space.
_PERSONNUMMER: Final = re.compile(
    r"(?<![\w+-])(?:19|20)?\d{2}(?:0[1-9]|1[0-2])\d{2}[-+ ]?\d{4}(?![\w-])"
)
_CARD: Final = re.compile(r"(?<![\w+-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])")
_IBAN: Final = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])")
_MIN_DIGITS: Final = 10  # the shortest of them, a personnummer without its century
_DIGIT: Final = re.compile(r"\d")
_FULL_DATE: Final = 8  # YYYYMMDD
_COORDINATION_DAY: Final = 60  # a samordningsnummer's day of birth is the day plus 60
_MIN_IBAN: Final = 15  # Norway's, the shortest
_NOT_ALNUM: Final = re.compile(r"[^A-Za-z0-9]")


def _is_personnummer(candidate: str) -> bool:
    if personnummer.is_valid(candidate):
        return True
    digits = _NOT_ALNUM.sub("", candidate)
    # A samordningsnummer: personnummer's format and check digit, the day plus 60.
    date = digits[:-4]
    day = int(date[-2:])
    if day <= _COORDINATION_DAY or not luhn.is_valid(digits[-10:]):
        return False
    year = int(date[:4]) if len(date) == _FULL_DATE else 2000 + int(date[:2])  # a leap year?
    try:
        datetime.date(year, int(date[-4:-2]), day - _COORDINATION_DAY)
    except ValueError:
        return False
    return True


def _longest_iban(candidate: str) -> int:
    """How many characters of ``candidate`` (separators included) make a valid IBAN; 0 when
    none does. The pattern may run on into a following word ("… 7466 TACK")."""
    compact = _NOT_ALNUM.sub("", candidate)
    for length in range(len(compact), _MIN_IBAN - 1, -1):
        if iban.is_valid(compact[:length]):
            seen = 0
            for i, ch in enumerate(candidate):
                seen += ch.isalnum()
                if seen == length:
                    return i + 1
    return 0


@functools.lru_cache(maxsize=256)
def find_identifiers(text: str) -> tuple[Identifier, ...]:
    """The personal identity numbers, card numbers and IBANs in ``text``, by their check
    digits; in order, none overlapping."""
    if len(_DIGIT.findall(text)) < _MIN_DIGITS:
        return ()
    norm = contacts.normalised(text)
    found: list[Identifier] = []
    for match in _IBAN.finditer(norm.text):
        length = _longest_iban(match.group())
        if length:
            value = _NOT_ALNUM.sub("", match.group()[:length])
            span = norm.span(match.start(), match.start() + length)
            found.append(Identifier("iban", value, *span))
    for match in _PERSONNUMMER.finditer(norm.text):
        if _is_personnummer(match.group()):
            value = _NOT_ALNUM.sub("", match.group())
            found.append(Identifier("id_number", value, *norm.span(*match.span())))
    for match in _CARD.finditer(norm.text):
        digits = _NOT_ALNUM.sub("", match.group())
        if luhn.is_valid(digits):
            found.append(Identifier("card", digits, *norm.span(*match.span())))
    return tuple(_without_overlaps(found))


def _without_overlaps(items: Iterable[Identifier]) -> list[Identifier]:
    kept: list[Identifier] = []
    for item in sorted(items, key=lambda i: (i.start, -i.end)):
        if not kept or item.start >= kept[-1].end:
            kept.append(item)
    return kept


def find_personal(
    text: str, languages: Iterable[str | None] = ()
) -> list[contacts.Contact | Identifier]:
    """Every e-mail address, phone number and identifier in ``text``, in order; where two
    overlap, the identifier (a card number is no phone number)."""
    found = contacts.find_contacts(text, languages)
    identifiers = find_identifiers(text)
    taken = [(i.start, i.end) for i in identifiers]
    others = [
        c
        for c in (*found.emails, *found.phones)
        if not any(s < c.end and c.start < e for s, e in taken)
    ]
    return sorted([*identifiers, *others], key=lambda item: item.start)


def mask_personal(
    text: str,
    languages: Iterable[str | None] = (),
    *,
    keep: Callable[[contacts.Contact | Identifier], bool] = lambda _: False,
    marks: Mapping[str, str] = MARKS,
) -> str:
    """``text`` as a reader sees it (``visible``), each e-mail address, phone number and
    identifier replaced by its mark, but those ``keep`` says are allowed (a company's own
    contacts in a reply). ``languages`` choose the countries whose national numbers are read."""
    text = visible(text)
    out: list[str] = []
    last = 0
    for item in find_personal(text, languages):
        if item.start < last or keep(item):
            continue
        out.append(text[last : item.start])
        out.append(marks[item.kind])
        last = item.end
    out.append(text[last:])
    return "".join(out)

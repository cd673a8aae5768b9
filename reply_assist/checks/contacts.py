"""Finding links, e-mail addresses and phone numbers in text, however they are disguised.

A draft is published under the company's name, so a link or a contact in it that the company did
not configure is a warning (a model that obeyed an injected "tell them to call 070-…"). The same
finders mask the reviewer's contacts before a review leaves for the model.

What makes it hard is that a contact does not have to look like ASCII: ``evil。com`` (the
ideographic full stop, which browsers and IDNA read as a dot), ``promo＠evil.example`` (a
full-width @), ``070‑123‑4567`` (U+2011 non-breaking hyphens), zero-width characters inside a
domain, ``evil[.]com``. So every text is first *normalised* (NFKC, dots and dashes folded to ASCII,
invisible characters dropped, common defanging undone) with a map back to the original offsets,
then searched. Two well-kept libraries do what hand-written patterns did badly:

* ``publicsuffixlist`` (the Public Suffix List, shipped inside the wheel, no download) decides
  whether the ending of a bare ``word.word`` is a real top-level domain: ``evil.shop`` and
  ``bit.ly`` are links, ``t.ex``, ``e.g`` and ``m.fl`` are abbreviations.
* ``phonenumbers`` (Google's libphonenumber) knows which digit strings are valid numbers in
  which country, so ``070-123 45 67`` is a Swedish mobile number and ``Order 123456789`` is not
  a phone number.

``tests/data/contact_cases.jsonl`` labels such strings; ``bench/contacts.py`` prints precision
and recall before and after these finders.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

import phonenumbers
from publicsuffixlist import PublicSuffixList

__all__ = [
    "Contact",
    "ContactKind",
    "Contacts",
    "find_contacts",
    "normalise",
    "normalised",
    "region_for",
    "unconfigured",
]

ContactKind = Literal["url", "email", "phone"]


@dataclass(frozen=True, slots=True)
class Contact:
    kind: ContactKind
    value: str  # normalised: a host for a URL, a lower-case address, a phone number's key
    start: int  # offsets in the ORIGINAL text (for masking)
    end: int


# --------------------------------------------------------------------------------------------
# Normalisation with a map back to the original offsets
# --------------------------------------------------------------------------------------------

# IDNA reads these as label separators; NFKC leaves the ideographic full stop alone. The middle
# dots (``070·123·45·67``, ``evil·com``) read as dots too.
_DOTS: Final = frozenset("\u3002\uff0e\uff61\u2024\ufe52\u00b7\u2027\u2219\u22c5\u30fb\uff65")
# Defanged forms people (and attackers) write to get a link past a filter.
_DEFANG: Final = re.compile(
    r"\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[at\]|\(at\))\s?", re.IGNORECASE
)
# A line break or a tab reads as a space, and a longer run of spaces as one: "070\n765\n43\n21"
# is a phone number a reader sees, and the model too. (Character for character first, which
# keeps every offset; two spaces are one separator to the finders already.)
_CONTROL_SPACES: Final = "\n\r\t\v\f"  # the others (U+2028, U+0085…) fold one by one
_SPACE_RUN: Final = re.compile(r" {3,}")

# Spelled-out addresses: "evil dot com", "x at evil dot shop", "erik.svensson @ gmail . com",
# "kundservice snabel-a evil punkt se". The words for "dot" and "@" in the service's languages;
# English "at" only where the rest is plainly an address (below).
_DOT_WORDS: Final = r"dot|punkt|punktum|prik|prikk|punt|piste|point|punto"
_AT_WORDS: Final = (
    r"snabel-a|snabela|krøllalfa|kröllalfa|apenstaartje|klammeraffe|arobase|arroba|ät|miukumauku"
)
# A spelled-out dot counts only before one of these endings, so that "point de vue", "punto de
# vista" and "on the dot at nine" stay prose: endings that are no word in these languages count
# anywhere, those that are words ("de", "se", "no", "es", "at") only at the end of a sentence.
_PLAIN_TLDS: Final = (
    r"com|net|org|biz|shop|online|site|xyz|io|app|eu|dk|fi|nl|fr|uk|ch|example|invalid|onion"
)
_WORD_TLDS: Final = r"se|no|de|es|nu|at|be|it|me|co|store|to|in|is|us|test|local|info"
_TLD_AHEAD: Final = rf"(?:{_PLAIN_TLDS})(?![\w-])|(?:{_WORD_TLDS})(?![\w-])(?=[.,;:!?)\]\"'/]|\s*$)"
# Each form is its own regex, run only when a cheap substring test says it may occur: one
# alternation of them all was 40 µs a draft, most of the normaliser's time.
# (A pattern that starts with a character, not a lookbehind, lets the engine skip ahead to it.)
_AT: Final = re.compile(r" (?<=[\w.+'-] )@ ?(?=\w)|@(?<=[\w.+'-]@) (?=\w)")
_AT_WORD: Final = re.compile(rf" (?<=[\w.+'-] )(?:{_AT_WORDS}) (?=[\w-])", re.IGNORECASE)
_AT_EN: Final = re.compile(
    rf" (?<=[\w.+'-] )at (?=[\w-]+(?: (?:{_DOT_WORDS}) |\.[\w-]))", re.IGNORECASE
)
# "dot" before the ending, before another spelled label ("mail dot evil dot com"), or inside
# the address's own part ("erik dot svensson at …").
_DOT: Final = re.compile(
    rf" (?<=\w )(?:{_DOT_WORDS}) (?=(?:[\w-]+ (?:{_DOT_WORDS}) )*(?:{_TLD_AHEAD})"
    rf"|[\w-]+(?: ?@| (?:at|{_AT_WORDS}) ))",
    re.IGNORECASE,
)
_SPACED_DOT: Final = re.compile(rf" (?<=\w )\. ?(?=(?:{_TLD_AHEAD}))", re.IGNORECASE)
# "gmail. com": a sentence's full stop, unless a lower-case plain ending follows.
_DOT_SPACE: Final = re.compile(rf"\.(?<=\w\.) (?=(?:{_PLAIN_TLDS})(?![\w-]))")
_LOCAL_PART: Final = re.compile(r"[\w.+'-]+$")
# A spelled-out name after "at": a domain, unless an "@" follows it (then it is the next
# address's own part: "our manager at erik dot svensson at gmail dot com").
_SPELLED_NAME: Final = re.compile(
    rf"[\w-]+(?: (?:{_DOT_WORDS}) [\w-]+)+(?P<address> (?:at|{_AT_WORDS}) [\w-]| ?@)?",
    re.IGNORECASE,
)
# "Find us at acme dot com", "read more at evil dot com", "our sister store at bargain-shop dot
# net" name a site, not an address: a pronoun or a word that leads to a place before "at", or
# a noun with its determiner.
_NOT_LOCAL: Final = frozenset(
    [
        "us",
        "me",
        "you",
        "them",
        "him",
        "her",
        "it",
        "here",
        "there",
        "more",
        "online",
        "available",
        "details",
        "information",
        "look",
        "find",
        "visit",
        "shop",
        "store",
        "buy",
        "order",
        "website",
        "site",
        "page",
    ]
)
_PLACE: Final = re.compile(
    r"\b(?:our|the|a|an|my|your|their|this|that)\s+(?:[\w-]+\s+)?$", re.IGNORECASE
)


# An article before "point"/"punto"/"punkt" makes it the word ("au point info", "un punto com").
_ARTICLE_BEFORE: Final = re.compile(
    r"(?<![\w-])(?:a|an|the|au|le|la|les|un|une|du|des|ce|el|los|las|una|der|die|das|den|dem|"
    r"ein|eine|een|het|ett|en|et|det)$",
    re.IGNORECASE,
)


def _spelled_dot(match: re.Match[str]) -> str:
    article = _ARTICLE_BEFORE.search(match.string, 0, match.start())
    return match.group() if article else "."


def _at_en(match: re.Match[str]) -> str:
    """English "at" joins an address only when the rest is plainly one: a spelled-out domain
    ("x at evil dot shop"), or an address-like part before a real domain ("erik.svensson at
    gmail.com"); "Read more at acme.com" stays a sentence."""
    local = _LOCAL_PART.search(match.string, 0, match.start())
    name = local.group() if local else ""
    spelled = _SPELLED_NAME.match(match.string, match.end())
    if spelled:
        place = local is not None and _PLACE.search(match.string, 0, local.start()) is not None
        is_address = not (spelled.group("address") or place or name.lower() in _NOT_LOCAL)
        return "@" if is_address else match.group()
    return "@" if re.search(r"[._+\d]", name) else match.group()


# (the form, substrings without which it cannot occur, its replacement)
_SPELLINGS: Final[
    tuple[tuple[re.Pattern[str], tuple[str, ...], Callable[[re.Match[str]], str]], ...]
] = (
    (_AT, ("@",), lambda _: "@"),
    (
        _AT_WORD,
        (
            "snabel",
            "krøllalfa",
            "kröllalfa",
            "apenstaartje",
            "klammeraffe",
            "arobase",
            "arroba",
            " ät ",
            "miukumauku",
        ),
        lambda _: "@",
    ),
    (_AT_EN, (" at ",), _at_en),
    (_DOT, (" dot ", " punkt", " prik", " punt ", " piste ", " point ", " punto "), _spelled_dot),
    (_SPACED_DOT, (" .",), lambda _: "."),
    (_DOT_SPACE, (". ",), lambda _: "."),
)


def _spelled_out(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` (whitespace folded) spells out an address's "@" or ".", with the
    character each stands for; in order, none overlapping."""
    lowered = text.lower()
    edits = [
        (m.start(), m.end(), replacement)
        for pattern, hints, replace in _SPELLINGS
        if any(hint in lowered for hint in hints)
        for m in pattern.finditer(text)
        if (replacement := replace(m)) != m.group()
    ]
    edits.sort()
    kept: list[tuple[int, int, str]] = []
    for edit in edits:
        if not kept or edit[0] >= kept[-1][1]:
            kept.append(edit)
    return kept


@dataclass(frozen=True, slots=True)
class _Normalised:
    text: str
    origin: tuple[int, ...]  # origin[i]: where normalised character i came from (len + 1 long)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1 if end > start else self.origin[start]


_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")


def _fold(ch: str) -> str:
    if ch in _DOTS:
        return "."
    category = unicodedata.category(ch)
    if category == "Pd" or ch == "\u2212":  # every dash and the minus sign
        return "-"
    if category == "Cf":  # zero-width spaces and joiners, soft hyphen, bidi controls
        return ""
    if category in ("Zs", "Zl", "Zp") or ch == "\x85":  # no-break, thin spaces; line breaks
        return " "
    if ch.isascii():
        return ch
    folded = unicodedata.normalize("NFKC", ch)
    return "." if folded in _DOTS else folded


def _substitute(
    text: str, origin: list[int], edits: Iterable[tuple[int, int, str]]
) -> tuple[str, list[int]]:
    """``text`` with each ``(start, end, replacement)`` applied, and the map to the original
    kept: a replacement's characters come from where what it replaced started."""
    parts: list[str] = []
    new_origin: list[int] = []
    last = 0
    for start, end, replacement in edits:
        parts.append(text[last:start])
        new_origin.extend(origin[last:start])
        parts.append(replacement)
        new_origin.extend([origin[start]] * len(replacement))
        last = end
    parts.append(text[last:])
    new_origin.extend(origin[last:])
    return "".join(parts), new_origin


def _edits(
    pattern: re.Pattern[str], text: str, replace: Callable[[re.Match[str]], str]
) -> Iterator[tuple[int, int, str]]:
    return ((m.start(), m.end(), replace(m)) for m in pattern.finditer(text))


def _defanged(match: re.Match[str]) -> str:
    return "@" if "a" in match.group().lower() else "."


def normalise(text: str) -> _Normalised:
    """``text`` with lookalikes folded to ASCII where that is what a reader or a browser sees,
    whitespace runs read as one space, defanged and spelled-out addresses read as written
    ("evil[.]com", "x at evil dot shop"), and for each character of the result the offset it
    came from."""
    out: list[str] = []
    origin: list[int] = []
    if text.isascii():
        out.append(text)
        origin.extend(range(len(text)))
    else:
        # Only the non-ASCII characters can fold (``_fold`` keeps ASCII as it is); the runs of
        # ASCII between them are copied whole, which is most of a Swedish or German text.
        last = 0
        for match in _NON_ASCII.finditer(text):
            i = match.start()
            out.append(text[last:i])
            origin.extend(range(last, i))
            folded = _fold(text[i])
            out.append(folded)
            origin.extend([i] * len(folded))
            last = i + 1
        out.append(text[last:])
        origin.extend(range(last, len(text)))
    folded_text = "".join(out)
    for space in _CONTROL_SPACES:
        if space in folded_text:
            folded_text = folded_text.replace(space, " ")
    if "   " in folded_text:
        edits = _edits(_SPACE_RUN, folded_text, lambda _: " ")
        folded_text, origin = _substitute(folded_text, origin, edits)
    if "[" in folded_text or "(" in folded_text or "{" in folded_text:
        edits = _edits(_DEFANG, folded_text, _defanged)
        folded_text, origin = _substitute(folded_text, origin, edits)
    spelled = _spelled_out(folded_text)
    if spelled:
        folded_text, origin = _substitute(folded_text, origin, spelled)
    origin.append(len(text))
    return _Normalised(folded_text, tuple(origin))


# --------------------------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------------------------

_EMAIL: Final = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_LABEL: Final = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# Anything with a scheme (http, ftp, javascript…), protocol-relative ``//host``, ``www.``, or a
# bare ``label.label`` whose ending is then checked against the Public Suffix List.
_URL: Final = re.compile(
    rf"(?P<scheme>\b[a-z][a-z0-9+.-]{{1,15}}://[^\s<>\"']+)"
    rf"|(?P<relative>(?<![\w/:])//{_LABEL}(?:\.{_LABEL})+[^\s<>\"']*)"
    rf"|(?P<www>\bwww\.[^\s<>\"']+)"
    rf"|(?P<bare>(?<![\w@.-])(?P<host>(?:{_LABEL}\.)+(?P<tld>[^\W\d_]{{2,63}}|xn--[a-z0-9-]+))"
    rf"(?![\w-])(?:[/?#:][^\s<>\"']*)?)",
    re.IGNORECASE,
)
_TRAILING: Final = ".,;:!?)]}'\"»”’"
# Reserved for documentation and testing (RFC 2606/6761): not in the suffix list, but exactly
# what a test or an attacker's placeholder uses.
_RESERVED_TLDS: Final = frozenset({"example", "test", "invalid", "localhost", "local", "onion"})


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # ~0.1 s: the list inside the wheel, parsed once


def _is_tld(label: str) -> bool:
    lowered = label.lower()
    if lowered in _RESERVED_TLDS:
        return True
    return _suffixes().publicsuffix(f"x.{lowered}", accept_unknown=False) is not None


def _bare_is_link(host: str, tld: str, rest: str) -> bool:
    if not _is_tld(tld):
        return False  # "t.ex", "e.g", "bl.a", "rapport.pdf"
    # "Thanks.It was great": a missing space before a capitalised word, not a domain. A domain
    # in title case with a path ("Evil.Shop/x") or in capitals ("EVIL.SHOP") is still a link.
    return not (tld[0].isupper() and tld[1:].islower() and not rest and host.count(".") == 1)


def _host_of(url: str) -> str:
    candidate = url if "://" in url or url.startswith("//") else f"//{url}"
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:  # a malformed port or bracket: keep what precedes it
        host = re.split(r"[/:?#\[\]]", candidate.lstrip("/").split("://")[-1], maxsplit=1)[0]
    return host.lower().rstrip(".").removeprefix("www.")


def _links(norm: _Normalised, emails: list[tuple[int, int]]) -> Iterable[Contact]:
    for match in _URL.finditer(norm.text):
        start, end = match.span()
        if any(s <= start < e for s, e in emails):
            continue  # the domain of an e-mail address is the address's business
        url = match.group().rstrip(_TRAILING)
        end = start + len(url)
        if match.group("bare"):
            host, tld = match.group("host"), match.group("tld")
            rest = match.group()[match.end("tld") - start :].rstrip(_TRAILING)
            if not _bare_is_link(host, tld, rest):
                continue
        yield Contact("url", _host_of(url) or url.lower(), *norm.span(start, end))


def _emails(norm: _Normalised) -> list[Contact]:
    if "@" not in norm.text:  # the regex is the costly part
        return []
    return [
        Contact("email", m.group().lower().rstrip("."), *norm.span(m.start(), m.end()))
        for m in _EMAIL.finditer(norm.text)
    ]


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

# The country whose numbering plan a text in this language most likely uses.
_REGIONS: Final = {
    "sv": "SE",
    "da": "DK",
    "no": "NO",
    "nb": "NO",
    "nn": "NO",
    "fi": "FI",
    "de": "DE",
    "nl": "NL",
    "fr": "FR",
    "es": "ES",
    "en": "GB",
    "it": "IT",
    "pl": "PL",
    "pt": "PT",
}
_DIGITS: Final = re.compile(r"\d")
# A run of digits with separators, as phone numbers are written; phonenumbers then judges it.
_PHONE_SHAPED: Final = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ .\-/()]{0,2}\d){6,16}(?![\w])")
# Dates and opening hours, which have the digits and separators of a phone number.
_NOT_PHONE: Final = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}[.:]\d{2} ?- ?\d{1,2}[.:]\d{2}"
)
# A number right after one of these words is an order, invoice or reference number.
_REFERENCE: Final = re.compile(
    r"(?:#|\b(?:order|ordre|ordrenr|ordernr|ordernummer|bestelling|bestellung|bestellnummer|"
    r"kundenummer|kundnummer|kundennummer|klantnummer|medlemsnummer|commande|pedido|tilaus|tilausnumero|nr|no|nº|n°|number|nummer|numero|numéro|número|ref|"
    r"referens|reference|référence|invoice|faktura|factuur|rechnung|facture|factura|lasku|"
    r"tracking|sändning|kolli|case|ärende|sag|sak|zaak|fall|dossier|caso|tiketti)\b[.:]?)\s*$",
    re.IGNORECASE,
)


def region_for(language: str | None) -> str | None:
    return _REGIONS.get((language or "").lower().split("-")[0])


def _phone_key(number: phonenumbers.PhoneNumber) -> str:
    return f"+{number.country_code}{number.national_number}"


def _looks_like_phone(raw: str) -> bool:
    """A digit run is written like a phone number: international prefix, trunk zero, area code
    in brackets, or grouped (``123 45 67``); a plain ``123456789`` is an order number."""
    digits = "".join(_DIGITS.findall(raw))
    if not 7 <= len(digits) <= 15 or _NOT_PHONE.fullmatch(raw.strip()):
        return False
    if raw.startswith(("+", "00", "(")):
        return True
    groups = len(re.findall(r"\d+", raw))
    return (raw.startswith("0") and (groups >= 2 or len(digits) >= 9)) or groups >= 3


_MIN_INTERNATIONAL: Final = 10  # "46701234567": a country code and a national number
_MAX_DIGITS: Final = 15  # E.164


def _without_plus(raw: str, regions: tuple[str, ...]) -> str | None:
    """The key of an international number written without its ``+`` ("46701234567"), when the
    digits start with the country code of one of ``regions`` and make a valid number there."""
    if not raw.isdigit() or not _MIN_INTERNATIONAL <= len(raw) <= _MAX_DIGITS:
        return None
    for region in regions:
        if raw.startswith(str(phonenumbers.country_code_for_region(region))):
            try:
                parsed = phonenumbers.parse(f"+{raw}")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.region_code_for_number(parsed) == region and (
                phonenumbers.is_valid_number(parsed)
            ):
                return _phone_key(parsed)
    return None


def _phones(norm: _Normalised, regions: tuple[str, ...]) -> Iterable[Contact]:
    text = norm.text
    if len(_DIGITS.findall(text)) < 7:  # most drafts: no number worth parsing
        return
    seen: set[tuple[int, int]] = set()
    for match in _PHONE_SHAPED.finditer(text):
        raw = match.group().rstrip(".-/ ")
        start, end = match.start(), match.start() + len(raw)
        if _REFERENCE.search(text[max(0, start - 24) : start]):
            continue
        if not _looks_like_phone(raw):
            international = _without_plus(raw, regions)
            if international:
                seen.add((start, end))
                yield Contact("phone", international, *norm.span(start, end))
            continue
        key, valid = None, False
        for region in regions:
            try:
                parsed = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(parsed):
                key = _phone_key(parsed)
                valid = phonenumbers.is_valid_number(parsed)
                if valid:
                    break
        # Without a +, 00, trunk zero or bracket, grouped digits are as likely a quantity
        # ("4 500 000 customers") as a number: only a valid one in the region counts.
        if not valid and not raw.startswith(("+", "00", "(", "0")):
            continue
        seen.add((start, end))
        yield Contact("phone", key or "".join(_DIGITS.findall(raw)), *norm.span(start, end))
    # Valid numbers written in ways the shape above misses ("tel:+46701234567", "070/1234567").
    for region in regions:
        for found in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
            span = (found.start, found.end)
            if any(s < span[1] and span[0] < e for s, e in seen):
                continue
            if _REFERENCE.search(text[max(0, found.start - 24) : found.start]):
                continue
            raw = found.raw_string
            if (raw.isdigit() and not raw.startswith("0")) or _NOT_PHONE.fullmatch(raw):
                continue  # a bare digit run without a trunk zero is a reference; hours, dates
            seen.add(span)
            yield Contact("phone", _phone_key(found.number), *norm.span(*span))


# --------------------------------------------------------------------------------------------
# All of them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contacts:
    urls: tuple[Contact, ...]
    emails: tuple[Contact, ...]
    phones: tuple[Contact, ...]

    def all(self) -> tuple[Contact, ...]:
        return self.urls + self.emails + self.phones


def find_contacts(text: str, languages: Iterable[str | None] = ()) -> Contacts:
    """Every link, e-mail address and phone number in ``text``. ``languages`` choose the
    countries whose numbering plans read national phone numbers (``070…`` is Swedish);
    numbers written with a ``+`` are read in any case."""
    regions = tuple(dict.fromkeys(r for r in map(region_for, languages) if r)) or ("GB",)
    return _find_contacts(text, regions)


# One draft is asked about several times (its prose, its unconfigured contacts, the reviewer's
# data), and a review's text is masked once per call: answer the repeats from memory.
@functools.lru_cache(maxsize=256)
def _find_contacts(text: str, regions: tuple[str, ...]) -> Contacts:
    norm, links, emails = _links_and_emails(text)
    # A phone number inside a link or address is part of it, not a number to call.
    taken = [(c.start, c.end) for c in (*links, *emails)]
    phones = tuple(p for p in _phones(norm, regions) if not any(s <= p.start < e for s, e in taken))
    return Contacts(urls=links, emails=emails, phones=phones)


@functools.lru_cache(maxsize=256)
def normalised(text: str) -> _Normalised:
    """``normalise(text)``, remembered: a text is searched for links, addresses, numbers and
    identifiers, each on the same normalised text."""
    return normalise(text)


@functools.lru_cache(maxsize=256)
def _links_and_emails(
    text: str,
) -> tuple[_Normalised, tuple[Contact, ...], tuple[Contact, ...]]:
    norm = normalised(text)
    emails = _emails(norm)
    email_spans = [(m.start(), m.end()) for m in _EMAIL.finditer(norm.text)] if emails else []
    return norm, tuple(_links(norm, email_spans)), tuple(emails)


@functools.lru_cache(maxsize=512)
def _configured(
    settings_text: str, languages: tuple[str | None, ...]
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Hosts, addresses and phone keys in a company's settings; cached (they repeat per draft)."""
    found = find_contacts(settings_text, languages)
    hosts = {c.value for c in found.urls} | {c.value.rpartition("@")[2] for c in found.emails}
    return (
        frozenset(hosts),
        frozenset(c.value for c in found.emails),
        frozenset(c.value for c in found.phones),
    )


def _host_allowed(host: str, hosts: frozenset[str]) -> bool:
    return any(host == allowed or host.endswith(f".{allowed}") for allowed in hosts)


def unconfigured(
    text: str, *, settings_text: str, languages: Iterable[str | None] = ()
) -> set[ContactKind]:
    """The kinds of contact in ``text`` that ``settings_text`` (the company's name, signature
    and brand voice) does not name: a link to a host or subdomain of a configured domain, a
    configured address, a configured number in any format are the company's own."""
    langs = tuple(languages)
    found = find_contacts(text, langs)
    if not found.all():
        return set()
    hosts, emails, phones = _configured(settings_text, langs)
    kinds: set[ContactKind] = set()
    if any(not _host_allowed(c.value, hosts) for c in found.urls):
        kinds.add("url")
    if any(c.value not in emails for c in found.emails):
        kinds.add("email")
    if any(c.value not in phones for c in found.phones):
        kinds.add("phone")
    return kinds

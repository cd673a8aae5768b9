"""The texts of the built-in template drafter: data files a translator or a company can edit.

One TOML file per language, ``prompts/templates/<language>.toml`` (shipped in the wheel with the
prompts; with ``REPLY_ASSIST_PROMPTS_DIR``, its ``templates/`` if it has one). Each holds:

* ``team_signoff``: the sign-off when the company has no signature (``{company}``);
* ``address`` (optional): ``formal`` or ``informal``, the address the ``[templates]`` paragraphs
  use ("du" or "ni", "je" or "u", "du" or "Sie", "tu" or "vous", "tú" or "usted");
* ``[greeting]``: ``named`` (``{name}``: the reviewer's sanitised first name) and ``generic``,
  optionally ``[greeting.formal]`` and ``[greeting.informal]`` for a brand voice of that kind;
* ``[closings]``: ``neutral``, ``formal`` and ``informal`` lists of the line above the signature;
* ``[voice]``: ``formal`` and ``informal`` words that mark a brand voice as one or the other;
* ``[templates]``: ``negative`` (1-2 stars), ``mixed`` (3) and ``positive`` (4-5) lists of the
  reply's paragraph (``{company}``: the company's name); optionally ``[templates.formal]`` or
  ``[templates.informal]``, the same paragraphs in the other address, for a company whose
  replies use it (its style profile, else its brand voice).

Every file is checked when loaded, at start: a missing key, an unknown key, an empty list or an
unknown placeholder stops the start with one line naming the file and the key. English must
exist: it is the fallback for a language without a file.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

__all__ = [
    "BANDS",
    "FALLBACK_LANGUAGE",
    "Address",
    "Band",
    "Formality",
    "LanguageTexts",
    "TemplateError",
    "TemplateTexts",
    "templates_dir",
]

Band = Literal["negative", "mixed", "positive"]
Formality = Literal["neutral", "formal", "informal"]
Address = Literal["formal", "informal"]
BANDS: Final[tuple[Band, ...]] = ("negative", "mixed", "positive")
FALLBACK_LANGUAGE: Final = "en"
_FORMALITIES: Final[tuple[Formality, ...]] = ("neutral", "formal", "informal")
_ADDRESSES: Final[tuple[Address, ...]] = ("formal", "informal")
_TOP_KEYS: Final = frozenset(
    {"team_signoff", "address", "greeting", "closings", "voice", "templates"}
)


class TemplateError(ValueError):
    """A template file is broken; the message is one line naming the file and the key."""


@dataclass(frozen=True, slots=True)
class Greeting:
    named: str  # "{name}" is the sanitised first name
    generic: str


@dataclass(frozen=True, slots=True)
class LanguageTexts:
    team_signoff: str
    greetings: Mapping[Formality, Greeting]
    closings: Mapping[Formality, tuple[str, ...]]
    templates: Mapping[Band, tuple[str, ...]]
    address: Address | None = None  # the address ``templates`` use
    # The same paragraphs in the other address, where the file has them.
    address_templates: Mapping[Address, Mapping[Band, tuple[str, ...]]] = field(
        default_factory=dict
    )

    def paragraphs(self, band: Band, formality: Formality) -> tuple[str, ...]:
        """The band's paragraphs in ``formality``'s address when the file has them; else the
        file's own (a language without the distinction, or without that variant)."""
        if formality != "neutral" and formality != self.address:
            variant = self.address_templates.get(formality)
            if variant is not None:
                return variant[band]
        return self.templates[band]


class TemplateTexts:
    """Every language's texts, checked, and the brand-voice words of all of them."""

    __slots__ = ("_formal", "_informal", "languages")

    def __init__(
        self,
        languages: Mapping[str, LanguageTexts],
        formal_words: Sequence[str],
        informal_words: Sequence[str],
    ) -> None:
        self.languages = languages
        self._formal = _words_pattern(formal_words)
        self._informal = _words_pattern(informal_words)

    @classmethod
    def load(cls, directory: Path) -> TemplateTexts:
        if not directory.is_dir():
            raise TemplateError(f"template directory not found: {directory}")
        languages: dict[str, LanguageTexts] = {}
        formal: list[str] = []
        informal: list[str] = []
        for path in sorted(directory.glob("*.toml")):
            texts, voice = _load_file(path)
            languages[path.stem] = texts
            formal += voice.get("formal", [])
            informal += voice.get("informal", [])
        if FALLBACK_LANGUAGE not in languages:
            raise TemplateError(
                f"{directory / (FALLBACK_LANGUAGE + '.toml')}: missing; English is the fallback "
                "for a language without templates"
            )
        return cls(languages, formal, informal)

    def for_language(self, language: str) -> LanguageTexts:
        return self.languages.get(language) or self.languages[FALLBACK_LANGUAGE]

    def formality(self, brand_voice: str | None) -> Formality:
        """``formal`` or ``informal`` when the brand voice has more words of that kind than of
        the other ("warm, informal, first names" is informal), else ``neutral``."""
        if not brand_voice:
            return "neutral"
        formal = len(self._formal.findall(brand_voice)) if self._formal else 0
        informal = len(self._informal.findall(brand_voice)) if self._informal else 0
        if formal > informal:
            return "formal"
        if informal > formal:
            return "informal"
        return "neutral"


def templates_dir(prompts_dir: Path, packaged_prompts_dir: Path) -> Path:
    """``<prompts dir>/templates``; a custom prompts directory without one uses the packaged."""
    own = prompts_dir / "templates"
    return own if own.is_dir() else packaged_prompts_dir / "templates"


def _words_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    unique = sorted({word.strip().casefold() for word in words if word.strip()}, key=len)
    if not unique:
        return None
    # Whole words only: "informal" must not count as "formal". Longest first, so that
    # "first names" wins over a shorter word inside it.
    alternatives = "|".join(re.escape(word) for word in reversed(unique))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Reading and checking one file
# --------------------------------------------------------------------------------------------


class _File:
    """Reads one parsed file and names the file and the key in every error."""

    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, key: str, problem: str) -> TemplateError:
        return TemplateError(f"{self.path}: {key}: {problem}")

    def table(self, key: str, value: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(
                f"{key}.{unknown[0]}", f"unknown key (expected {', '.join(sorted(allowed))})"
            )
        return value

    def text(self, key: str, value: Any, placeholders: frozenset[str]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        if "\n" in value:
            raise self.fail(key, "expected one line (the layout adds the blank lines)")
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise self.fail(key, f"{exc} (write a literal brace as {{{{ or }}}})") from None
        unknown = sorted(used - placeholders)
        if unknown:
            allowed = ", ".join(f"{{{name}}}" for name in sorted(placeholders)) or "none"
            raise self.fail(key, f"unknown placeholder {{{unknown[0]}}} (allowed: {allowed})")
        return value

    def texts(self, key: str, value: Any, placeholders: frozenset[str]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "expected a non-empty list of strings")
        return tuple(
            self.text(f"{key}[{index}]", item, placeholders) for index, item in enumerate(value)
        )


def _load_file(path: Path) -> tuple[LanguageTexts, dict[str, list[str]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot be read: {exc}") from None
    file = _File(path, data)
    top = file.table("(top level)", data, _TOP_KEYS)
    for required in ("team_signoff", "greeting", "closings", "templates"):
        if required not in top:
            raise file.fail(required, "missing")
    company, name, none = frozenset({"company"}), frozenset({"name"}), frozenset[str]()

    greeting_table = file.table(
        "greeting", top["greeting"], frozenset({"named", "generic", "formal", "informal"})
    )
    greetings: dict[Formality, Greeting] = {}
    for formality in _FORMALITIES:
        key = "greeting" if formality == "neutral" else f"greeting.{formality}"
        table = greeting_table if formality == "neutral" else greeting_table.get(formality)
        if table is None:
            continue
        if formality != "neutral":
            table = file.table(key, table, frozenset({"named", "generic"}))
        for part in ("named", "generic"):
            if part not in table:
                raise file.fail(f"{key}.{part}", "missing")
        greetings[formality] = Greeting(
            named=file.text(f"{key}.named", table["named"], name),
            generic=file.text(f"{key}.generic", table["generic"], none),
        )

    closing_table = file.table("closings", top["closings"], frozenset(_FORMALITIES))
    if "neutral" not in closing_table:
        raise file.fail("closings.neutral", "missing")
    closings: dict[Formality, tuple[str, ...]] = {
        formality: file.texts(f"closings.{formality}", closing_table[formality], none)
        for formality in _FORMALITIES
        if formality in closing_table
    }

    template_table = file.table(
        "templates", top["templates"], frozenset(BANDS) | frozenset(_ADDRESSES)
    )
    templates = _band_texts(file, "templates", template_table, company)
    address_templates: dict[Address, Mapping[Band, tuple[str, ...]]] = {}
    for other in _ADDRESSES:
        if other in template_table:
            key = f"templates.{other}"
            table = file.table(key, template_table[other], frozenset(BANDS))
            address_templates[other] = _band_texts(file, key, table, company)
    address: Address | None = None
    if "address" in top:
        value = top["address"]
        if value == "formal":
            address = "formal"
        elif value == "informal":
            address = "informal"
        else:
            raise file.fail("address", 'expected "formal" or "informal"')
    if address is not None and address in address_templates:
        raise file.fail(f"templates.{address}", f"[templates] is {address} already")

    voice: dict[str, list[str]] = {}
    if "voice" in top:
        voice_table = file.table("voice", top["voice"], frozenset({"formal", "informal"}))
        for kind, words in voice_table.items():
            voice[kind] = list(file.texts(f"voice.{kind}", words, none))

    texts = LanguageTexts(
        team_signoff=file.text("team_signoff", top["team_signoff"], company),
        greetings=greetings,
        closings=closings,
        templates=templates,
        address=address,
        address_templates=address_templates,
    )
    return texts, voice


def _band_texts(
    file: _File, key: str, table: Mapping[str, Any], company: frozenset[str]
) -> dict[Band, tuple[str, ...]]:
    texts: dict[Band, tuple[str, ...]] = {}
    for band in BANDS:
        if band not in table:
            raise file.fail(f"{key}.{band}", "missing")
        texts[band] = file.texts(f"{key}.{band}", table[band], company)
    return texts

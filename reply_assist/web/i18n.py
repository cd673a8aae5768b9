"""The pages' words, in English, Swedish and Dutch, kept as data (``i18n/<lang>.json``).

A language is chosen by the visitor's switch (a cookie), else by ``Accept-Language``, else English.
Every language file has the same keys as ``en.json`` (a test checks), so a missing word is found
in review, not by a visitor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Translator",
    "choose_language",
    "country_name",
    "language_name",
    "translator",
]

LANGUAGES = {"en": "English", "sv": "Svenska", "nl": "Nederlands"}
DEFAULT_LANGUAGE = "en"


@cache
def _strings(language: str) -> Mapping[str, str]:
    text = (resources.files("reply_assist.web") / "i18n" / f"{language}.json").read_text("utf-8")
    strings: dict[str, str] = json.loads(text)
    return strings


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language  # the page's language (en, sv, nl)
        self._strings = _strings(language)
        self._fallback = _strings(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: object) -> str:
        text = self._strings.get(key) or self._fallback[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._fallback

    def language_name(self, code: str | None) -> str:
        """A review's language by name in the page's language ("Swedish", "svenska")."""
        return "–" if not code else language_name(code, self.language)

    def country_name(self, code: str) -> str:
        """A reviewer's country by name in the page's language ("Sweden", "Sverige")."""
        return country_name(code, self.language)

    def group(self, *prefixes: str) -> dict[str, str]:
        """Every string whose key starts with one of ``prefixes`` (for the pages' scripts)."""
        return {key: self(key) for key in self._fallback if key.startswith(prefixes)}


@cache
def language_name(code: str, in_language: str) -> str:
    """CLDR's name of language ``code`` in language ``in_language`` (Babel), capitalised as a
    label; the code itself for one CLDR does not name."""
    from babel import Locale  # loaded on first use: the API alone never needs it

    name = Locale.parse(in_language).languages.get(code)
    return name[:1].upper() + name[1:] if name else code


@cache
def country_name(code: str, in_language: str) -> str:
    """CLDR's name of country ``code`` (ISO 3166-1 alpha-2) in language ``in_language`` (Babel);
    the code itself for one CLDR does not name."""
    from babel import Locale

    return str(Locale.parse(in_language).territories.get(code, code))


def translator(language: str) -> Translator:
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def choose_language(chosen: str | None, accept_language: str) -> str:
    """The visitor's choice when it is one we have, else the best of ``Accept-Language``."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE

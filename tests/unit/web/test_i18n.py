"""The pages' words: every language has them all, and the pages ask only for ones that exist."""

from __future__ import annotations

import json
import re
import string
from importlib import resources

import pytest

from reply_assist.web.i18n import LANGUAGES, choose_language, translator

FOLDER = resources.files("reply_assist.web")


def strings(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FOLDER / "i18n" / f"{language}.json").read_text("utf-8"))
    return data


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_every_language_has_every_string_with_the_same_placeholders(language: str) -> None:
    english, other = strings("en"), strings(language)
    assert set(other) == set(english)
    for key, text in english.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        assert {f for _, f, _, _ in string.Formatter().parse(other[key]) if f} == fields, key


def test_the_templates_ask_only_for_strings_that_exist() -> None:
    english = strings("en")
    literal = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']\s*[,)]""")  # not "role." ~ role
    used = set()
    for template in (FOLDER / "templates").iterdir():
        used |= set(literal.findall(template.read_text("utf-8")))
    assert used, "no t(...) calls found: the pattern is out of date"
    assert used <= set(english), sorted(used - set(english))


def test_the_control_names_the_issue_fixes_are_the_english_ones() -> None:
    t = translator("en")
    names = [
        t(f"action.{a}")
        for a in (
            "sign_in",
            "sign_out",
            "generate_reply",
            "generate_again",
            "thumbs_up",
            "thumbs_down",
            "send_feedback",
            "publish_reply",
            "confirm_publish",
            "edit_reply",
            "publish_updated_reply",
        )
    ]
    assert names == [
        "Sign in",
        "Sign out",
        "Generate reply",
        "Generate again",
        "Thumbs up",
        "Thumbs down",
        "Send feedback",
        "Publish reply",
        "Confirm publish",
        "Edit reply",
        "Publish updated reply",
    ]
    assert t("draft.reply") == "Reply"


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        (None, "sv-SE,sv;q=0.9,en;q=0.8", "sv"),
        (None, "de-DE,nl;q=0.5,en;q=0.7", "en"),
        (None, "fr, nl-BE;q=0.4", "nl"),
        (None, "", "en"),
        (None, "sv;q=0, nl;q=0.2", "nl"),
        ("nl", "sv", "nl"),
        ("xx", "sv", "sv"),
    ],
)
def test_the_language_is_the_choice_else_the_browsers(
    chosen: str | None, header: str, expected: str
) -> None:
    assert choose_language(chosen, header) == expected

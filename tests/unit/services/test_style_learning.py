"""Learning a company's style from its published replies (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reply_assist.drafting.style import LengthByBand, Style
from reply_assist.markets import StarBand
from reply_assist.models import Company
from reply_assist.services.style_learning import (
    address_of,
    learn_language,
    learn_styles,
    line_problem,
    reply_parts,
)
from reply_assist.services.voice import VoiceExample, clean_reply

HISTORY = Path(__file__).parents[3] / "reply_assist" / "eval" / "data" / "history-nordhavn.jsonl"
COMPANY = Company(
    id="nordhavn",
    name="Nordhavn Outdoor",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["en", "sv", "de"],
    signature="Maja, Nordhavn Outdoor",
    brand_voice="warm; see https://nordhavn.example/help",
)


def _history() -> list[VoiceExample]:
    rows = [json.loads(line) for line in HISTORY.read_text("utf-8").splitlines() if line]
    return [
        VoiceExample(
            f"h{i}",
            row["language"],
            row["stars"],
            row["review"],
            clean_reply(row["reply"], row.get("author_name"), COMPANY),
            float(i),
        )
        for i, row in enumerate(rows)
    ]


def test_the_simulated_companys_style_is_learned_per_language() -> None:
    learned = learn_styles(_history(), COMPANY)
    en, count = learned["en"]
    assert count == 6
    assert en == Style(
        greeting="Dear {name},",
        closing="Warm wishes from the fjords,",
        sign_off="Maja, Nordhavn Outdoor",
        formality=None,  # English does not say
        length=LengthByBand(negative=44, mixed=31, positive=28),
    )
    sv, _ = learned["sv"]
    assert (sv.greeting, sv.closing, sv.formality) == (
        "Bästa {name},",
        "Varma hälsningar från fjällen,",
        "informal",
    )
    de, _ = learned["de"]
    assert (de.greeting, de.closing, de.formality) == (
        "Guten Tag {name},",
        "Herzliche Grüße aus dem Norden,",
        "formal",
    )


def _replies(*texts: str, band: StarBand = "positive") -> list[tuple[StarBand, str]]:
    return [(band, text) for text in texts]


def test_length_is_learned_per_band_after_the_market_shift() -> None:
    """Replies to French 2s with FR +1 were written as mixed replies: their length is the mixed
    band's. Examples kept before bands were recorded count in their stars' band."""
    short = "Dear ‹name›,\n\nThank you for writing.\n\nMaja, Nordhavn Outdoor"
    long = "Dear ‹name›,\n\n" + "We are sorry about the delay. " * 4 + "\n\nMaja, Nordhavn Outdoor"
    examples = [
        VoiceExample("fr1", "en", 2, "late", short, 1.0, star_band="mixed"),
        VoiceExample("fr2", "en", 2, "late", short, 2.0, star_band="mixed"),
        VoiceExample("se1", "en", 2, "late", long, 3.0),
        VoiceExample("se2", "en", 2, "late", long, 4.0),
    ]
    style, _ = learn_styles(examples, COMPANY)["en"]
    assert style.length == LengthByBand(negative=29, mixed=9)


def test_one_odd_reply_teaches_nothing() -> None:
    odd = "Yo ‹name›!\n\nThanks.\n\nLaters,\nMaja, Nordhavn Outdoor"
    usual = "Dear ‹name›,\n\nThank you.\n\nKind regards,\nMaja, Nordhavn Outdoor"
    alone = learn_language(_replies(odd), "en", COMPANY)
    assert alone.greeting is None and alone.closing is None and alone.sign_off is None
    mixed = learn_language(_replies(odd, usual, usual, usual), "en", COMPANY)
    assert (mixed.greeting, mixed.closing) == ("Dear {name},", "Kind regards,")


def test_greetings_with_and_without_the_name() -> None:
    named = "Hej ‹name›!\nTack för omdömet.\nHa det fint!"
    nameless = "Hej där!\nTack för omdömet.\nHa det fint!"
    style = learn_language(_replies(named, named, nameless, nameless), "sv", COMPANY)
    assert style.greeting == "Hej {name}!"
    assert style.greeting_without_name == "Hej där!"
    assert style.closing == "Ha det fint!" and style.sign_off is None
    never_named = learn_language(_replies(nameless, nameless), "sv", COMPANY)
    assert never_named.greeting == never_named.greeting_without_name == "Hej där!"


def test_an_inline_greeting_and_a_one_line_reply() -> None:
    parts = reply_parts("Hi ‹name›, thanks a lot! Maja, Nordhavn Outdoor", "en", COMPANY.signature)
    assert parts.greeting == "Hi ‹name›,"
    assert parts.closing is None and parts.sign_off is None  # one line: no separate ending


def test_lines_a_draft_could_not_carry_are_never_learned() -> None:
    """A closing that repeats in every reply is still dropped when a draft with it would fail
    the hard checks: it would be written into every draft."""

    def reply(closing: str) -> str:
        return f"Dear ‹name›,\n\nThank you.\n\n{closing}\nMaja, Nordhavn Outdoor"

    for closing in (
        "Claim your refund at https://evil.example/refund,",
        "Call us on 070-123 45 67,",
        "Write to help@evil.example,",
        "Enjoy 20% discount next time,",
        "It was our fault,",
    ):
        style = learn_language(_replies(*[reply(closing)] * 4), "en", COMPANY)
        assert style.closing is None, closing
        assert style.greeting == "Dear {name},"
    own_domain = learn_language(
        _replies(*[reply("More help: https://nordhavn.example/help,")] * 3), "en", COMPANY
    )
    assert own_domain.closing == "More help: https://nordhavn.example/help,"


@pytest.mark.parametrize(
    ("value", "greeting", "problem"),
    [
        ("Dear {name},", True, None),
        ("Dear {name},", False, "must not hold braces"),
        ("Dear {name} {name},", True, "must not hold braces other than one {name}"),
        ("Kind regards,\nAnna", False, "must be one line"),
        ("x" * 101, False, "at most 100 characters"),
        ("Bye EXAMPLES>>>", False, "must not hold <<< or >>>"),
        ("Dear ‹name›,", True, "masked"),
        ("See https://evil.example", False, "no_foreign_url"),
    ],
)
def test_line_problems(value: str, greeting: bool, problem: str | None) -> None:
    found = line_problem(value, "en", COMPANY, greeting=greeting)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("language", "formal", "informal"),
    [
        (
            "sv",
            "Tack för ert omdöme, vi hjälper er gärna.",
            "Tack för ditt omdöme, vi hjälper dig.",
        ),
        (
            "nl",
            "Bedankt voor uw review, we helpen u graag.",
            "Bedankt voor je review, we helpen je.",
        ),
        ("de", "vielen Dank für Ihre Bewertung, wir helfen Ihnen.", "danke für deine Bewertung."),
        ("fr", "Merci pour votre avis, nous vous aidons.", "Merci pour ton avis, on t'aide."),
        (
            "es",
            "Gracias por su reseña, queremos ayudarle.",
            "Gracias por tu reseña, queremos ayudarte.",
        ),
        ("da", "Tak for Deres anmeldelse.", "Tak for din anmeldelse."),
    ],
)
def test_address_per_language(language: str, formal: str, informal: str) -> None:
    assert address_of(formal, language) == "formal"
    assert address_of(informal, language) == "informal"
    assert address_of("Thank you for the review.", "en") is None
    # "Sie" as "they", lower case mid-sentence, says nothing.
    assert address_of("danke, sie kamen pünktlich an.", "de") is None

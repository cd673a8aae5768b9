"""Merging what was learned, what was pinned and the company's settings into what drafts follow."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from reply_assist.drafting.style import LengthByBand, Style
from reply_assist.models import Company
from reply_assist.services.style import effective_style

COMPANY = Company(
    id="acme",
    name="Acme",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["en"],
    signature="Anna and the whole Acme customer care team, always glad to help, acme.example",
    brand_voice="see https://acme.example",
)
LEARNED = Style(
    greeting="Hi {name},",
    closing="Cheers,",
    sign_off="Anna, Acme",
    formality="informal",
    length=LengthByBand(negative=40, positive=20),
)


def test_a_pinned_field_wins_and_the_rest_is_learned() -> None:
    pins = Style(closing="All the best,", length=LengthByBand(positive=35))
    merged = effective_style(LEARNED, pins, COMPANY, "en")
    assert merged.closing == "All the best,"
    assert merged.greeting == "Hi {name}," and merged.formality == "informal"
    assert merged.length == LengthByBand(negative=40, positive=35)


def test_the_sign_off_is_pinned_else_the_signature_else_learned() -> None:
    # The company's own signature is taken as it is, however long (its words are its own).
    assert effective_style(LEARNED, None, COMPANY, "en").sign_off == COMPANY.signature
    pinned = effective_style(LEARNED, Style(sign_off="Maja"), COMPANY, "en")
    assert pinned.sign_off == "Maja"
    unsigned = msgspec.structs.replace(COMPANY, signature=None)
    assert effective_style(LEARNED, None, unsigned, "en").sign_off == "Anna, Acme"


def test_lines_the_current_settings_no_longer_allow_are_left_out() -> None:
    learned = msgspec.structs.replace(LEARNED, closing="More at https://acme.example/help,")
    assert effective_style(learned, None, COMPANY, "en").closing == learned.closing
    moved = msgspec.structs.replace(COMPANY, brand_voice="friendly", signature="Anna")
    assert effective_style(learned, None, moved, "en").closing is None


def test_a_profile_from_examples_is_what_drafts_would_follow() -> None:
    from reply_assist.services.style import profile_from_examples
    from reply_assist.services.voice import VoiceExample

    reply = "Hi ‹name›,\n\nThanks a lot.\n\nCheers,\nAnna, Acme"
    examples = [VoiceExample(f"r{i}", "en", 5, "great", reply, float(i)) for i in range(3)]
    profile = profile_from_examples(
        [*examples, VoiceExample("x", "sv", 5, "bra", "Tack!", 9)], COMPANY
    )
    assert set(profile) == {"en"}  # one Swedish reply teaches nothing
    assert profile["en"].greeting == "Hi {name}," and profile["en"].closing == "Cheers,"
    assert profile["en"].sign_off == COMPANY.signature  # the setting, as drafts have it

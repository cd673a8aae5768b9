"""Choosing and cleaning the company's published replies shown as examples."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from reply_assist.drafting.tokens import TokenCounter
from reply_assist.models import Company
from reply_assist.services.voice import (
    VoiceExample,
    choose_examples,
    clean_reply,
    example_passes,
    is_example,
)

COMPANY = Company(
    id="acme",
    name="Acme",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["sv"],
    signature="Anna, Acme, 08-123 45 67",
)


def _counter() -> TokenCounter:
    cache = os.environ.get("REPLY_ASSIST_TIKTOKEN_CACHE_DIR")
    return TokenCounter.for_model(
        "gpt-4.1-mini",
        Path(cache) if cache else Path.home() / ".cache" / "reply-assist" / "tiktoken",
    )


def _ex(
    review_id: str, text: str, *, language: str = "sv", stars: int = 1, at: float = 0
) -> VoiceExample:
    return VoiceExample(review_id, language, stars, text, f"REPLY {review_id}", at)


def test_same_language_and_band_most_similar_first() -> None:
    candidates = [
        _ex("late", "paketet kom tre veckor för sent"),
        _ex("zip", "dragkedjan gick sönder direkt"),
        _ex("en", "the parcel was three weeks late", language="en"),
        _ex("happy", "paketet kom tre veckor för sent men bra", stars=5),
        _ex("self", "paketet kom tre veckor för sent"),
    ]
    chosen = choose_examples(
        candidates,
        language="sv",
        band="negative",
        review_text="Paketet kom tre veckor för sent!",
        counter=_counter(),
        exclude_review="self",
    )
    assert chosen == ["REPLY late", "REPLY zip"]


def test_one_example_per_review_its_newest() -> None:
    old = _ex("r", "sent paket", at=1)
    new = VoiceExample("r", "sv", 1, "sent paket", "NEWER", 2)
    assert choose_examples(
        [old, new], language="sv", band="negative", review_text="sent paket", counter=_counter()
    ) == ["NEWER"]


def test_an_example_counts_in_the_band_it_was_written_in() -> None:
    """A reply to a French 2 with FR +1 was written as a mixed reply: it shows the voice for
    mixed reviews, not for negative ones. An example kept before bands were recorded has its
    stars' band."""
    french = VoiceExample("fr", "sv", 2, "sent paket", "MIXED", 1, star_band="mixed")
    older = VoiceExample("old", "sv", 2, "sent paket", "NEGATIVE", 1)
    pick = {"language": "sv", "review_text": None, "counter": _counter()}
    assert choose_examples([french, older], band="mixed", **pick) == ["MIXED"]  # type: ignore[arg-type]
    assert choose_examples([french, older], band="negative", **pick) == ["NEGATIVE"]  # type: ignore[arg-type]


def test_cleaning_removes_the_reviewer_and_foreign_contacts_only() -> None:
    text = (
        "Hej Erik Svensson! Ring 08-123 45 67 eller mejla erik@gmail.com. /Anna, Acme, 08-123 45 67"
    )
    cleaned = clean_reply(text, "Erik Svensson", COMPANY)
    assert (
        cleaned == "Hej ‹name›! Ring 08-123 45 67 eller mejla ‹e-mail›. /Anna, Acme, 08-123 45 67"
    )


def test_what_counts_as_the_companys_voice() -> None:
    assert is_example(edited=False, from_draft=True, voted_up=False)
    assert is_example(edited=True, from_draft=True, voted_up=True)
    assert not is_example(edited=True, from_draft=True, voted_up=False)
    assert not is_example(edited=False, from_draft=False, voted_up=False)


def test_without_a_review_text_the_newest_come_first_and_accept_filters() -> None:
    candidates = [
        _ex("a", "paketet kom tre veckor för sent", at=1),
        _ex("b", "dragkedjan gick sönder direkt", at=3),
        _ex("c", "helt annat", at=2),
    ]
    chosen = choose_examples(
        candidates,
        language="sv",
        band="negative",
        review_text=None,
        counter=_counter(),
        accept=lambda e: e.review_id != "c",
    )
    assert chosen == ["REPLY b", "REPLY a"]


def test_inflected_names_are_masked_too() -> None:
    text = "Hej Erik! Lindqvists paket och Lindqvist's order, Eriks fråga. Bo och Bosse."
    cleaned = clean_reply(text, "Erik Lindqvist Bo", COMPANY)
    assert cleaned == "Hej ‹name›! ‹name› paket och ‹name› order, ‹name› fråga. ‹name› och Bosse."


def test_an_example_is_checked_with_todays_checks_and_current_settings() -> None:
    def example(reply: str, review: str = "paketet kom sent") -> VoiceExample:
        return VoiceExample("r", "sv", 1, review, reply, 1)

    assert example_passes(example("Förlåt, kontakta oss så löser vi det."), COMPANY)
    assert not example_passes(example("Förlåt! Besök https://evil.example/refund"), COMPANY)
    assert not example_passes(example("Förlåt, ni får full återbetalning."), COMPANY)
    assert not example_passes(example("Förlåt, mejla ‹e-mail›."), COMPANY)
    echo = "jag beställde en jacka i oktober och den kom aldrig fram trots att jag betalade"
    assert not example_passes(example(f"Förlåt: {echo}.", review=echo), COMPANY)
    # The company's own contacts are allowed; they stop being so when its settings change.
    own = example("Förlåt, ring oss på 08-123 45 67.")
    assert example_passes(own, COMPANY)
    assert not example_passes(own, msgspec.structs.replace(COMPANY, signature="Anna, Acme"))

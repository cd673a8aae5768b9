"""Choosing and cleaning the company's published replies shown as examples."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from reply_assist.drafting.tokens import TokenCounter
from reply_assist.models import Company
from reply_assist.services.voice import VoiceExample, choose_examples, clean_reply, is_example

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

"""Personal data is masked before the model, however it is written; names and references stay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reply_assist.checks.personal import find_identifiers
from reply_assist.models import Company
from reply_assist.services.safety import mask_personal_data
from reply_assist.services.voice import clean_reply, review_for_matching

LANGUAGES = ("sv", "en")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Line breaks (masking used to run before they were folded).
        ("Ring 070\n765\n43\n21", "Ring [phone]"),
        ("Erik Svensson 070\n111\n22\n33", "Erik Svensson [phone]"),
        ("Ring 070 \n 765 43 21 i kväll", "Ring [phone] i kväll"),
        # Spelled out and spaced out.
        ("Mail erik dot svensson at gmail dot com today", "Mail [e-mail] today"),
        ("Mail erik.svensson @ gmail . com today", "Mail [e-mail] today"),
        ("Mejla erik snabel-a gmail punkt com", "Mejla [e-mail]"),
        ("Mail erik (at) gmail [dot] com", "Mail [e-mail]"),
        # An international number without its +, middle dots.
        ("Call 46701234567 please", "Call [phone] please"),
        ("Ring 070·123·45·67", "Ring [phone]"),
        # Identifiers.
        ("Personnummer 811228-9874.", "Personnummer [id number]."),
        ("Personnummer 19811228-9874.", "Personnummer [id number]."),
        ("Född 1881: 811228+9874.", "Född 1881: [id number]."),
        ("Pnr 8112289874", "Pnr [id number]"),
        ("Samordningsnummer 701063-2391", "Samordningsnummer [id number]"),
        ("Card 4111 1111 1111 1111 was charged", "Card [card number] was charged"),
        ("Card 5555-5555-5555-4444", "Card [card number]"),
        ("Amex 3782 822463 10005", "Amex [card number]"),
        ("IBAN SE45 5000 0000 0583 9825 7466 Tack", "IBAN [bank account] Tack"),
        ("Konto GB82WEST12345698765432.", "Konto [bank account]."),
        ("Hej\u202e dolt\U000e0069\U000e0067", "Hej dolt"),  # and nothing hidden leaves
    ],
)
def test_contacts_and_identifiers_are_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text, LANGUAGES) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Erik Svensson, order 17, delivered 2026-01-05, open 10.00-17.00",
        "Order 1234567890 and order 8112289875",  # fails the check digit: an order number
        "Card 4111 1111 1111 1112",  # fails Luhn
        "Ref 7350012345678",  # an EAN: no card network starts with 7
        "Konto SE45 5000 0000 0583 9825 7467",  # fails mod 97
        "Pnr 811328-9874",  # month 13
        "We look at it and meet us at the store at nine on the dot.",
        "De notre point de vue, tout va bien.",
        "4 500 000 customers in 12 countries",
    ],
)
def test_what_is_no_personal_data_stays(text: str) -> None:
    assert mask_personal_data(text, LANGUAGES) == text


def test_identifiers_carry_their_compact_value() -> None:
    found = find_identifiers("pnr 19811228-9874, IBAN SE45 5000 0000 0583 9825 7466")
    assert [(i.kind, i.value) for i in found] == [
        ("id_number", "198112289874"),
        ("iban", "SE4550000000058398257466"),
    ]


COMPANY = Company(
    id="acme",
    name="Acme",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["sv", "en"],
    signature="Anna, Acme (support@acme.se, 08-123 456 78)",
)


def test_a_voice_example_is_masked_like_the_model_input() -> None:
    reply = (
        "Hej Erik Svensson! Vi har mejlat erik dot svensson at gmail dot com och ringt "
        "070\n765\n43\n21. Ditt kort 4111 1111 1111 1111 och personnummer 811228-9874 är "
        "raderade. Hör av dig till support@acme.se eller 08-123 456 78."
    )
    cleaned = clean_reply(reply, "Erik Svensson", COMPANY)
    assert cleaned == (
        "Hej ‹name›! Vi har mejlat ‹e-mail› och ringt ‹phone›. Ditt kort ‹card number› och "
        "personnummer ‹id number› är raderade. Hör av dig till support@acme.se eller "
        "08-123 456 78."
    )


def test_a_review_kept_for_matching_examples_is_masked() -> None:
    assert review_for_matching("Ring 070\n765\n43\n21, pnr 811228-9874", ["sv"]) == (
        "Ring [phone], pnr [id number]"
    )


def test_an_identifier_from_the_review_repeated_in_a_draft_is_reviewer_data() -> None:
    from reply_assist.checks.draft import DraftContext, run_checks

    review = "Ring mig, mitt personnummer är 8112289874 och kortet 4111 1111 1111 1111."
    for draft, leaks in [
        ("Hej Erik, vi har noterat personnumret 811228-9874.", True),
        ("Hej Erik, kortet 4111-1111-1111-1111 är spärrat.", True),
        ("Hej Erik, tack för att du hörde av dig.", False),
    ]:
        ctx = DraftContext(
            text=draft,
            language="sv",
            stars=1,
            company_name="Acme",
            author_name="Erik",
            review_text=review,
        )
        assert run_checks(ctx, ["no_reviewer_data"]) == {"no_reviewer_data": not leaks}, draft

"""Links, e-mail addresses and phone numbers in drafts: the labelled set and the named cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reply_assist.checks.contacts import find_contacts, unconfigured
from reply_assist.services.safety import mask_personal_data

CASES = [
    json.loads(line)
    for line in (Path(__file__).parents[2] / "data" / "contact_cases.jsonl")
    .read_text("utf-8")
    .splitlines()
]
KINDS = ("url", "email", "phone")


def _settings(case: dict[str, str]) -> str:
    return " ".join(case.get(k) or "" for k in ("signature", "brand_voice"))


def test_the_labelled_set_is_large_and_has_both_kinds() -> None:
    flagged = [c for c in CASES if c["expect"]]
    assert len(CASES) >= 80
    assert len(flagged) >= 30 and len(CASES) - len(flagged) >= 30


@pytest.mark.parametrize("kind", KINDS)
def test_precision_and_recall_on_the_labelled_set(kind: str) -> None:
    """bench/contacts.py prints the same numbers beside those of the checks before (url P 0.83
    R 0.54, e-mail R 0.79, phone P 0.53); all three reach 1.00 now, held here at 0.95."""
    tp = fp = fn = 0
    for case in CASES:
        got = kind in unconfigured(
            case["text"], settings_text=_settings(case), languages=[case["language"]]
        )
        expected = f"{kind}_not_allowed" in case["expect"]
        tp += got and expected
        fp += got and not expected
        fn += expected and not got
    assert tp / (tp + fp) >= 0.95, (tp, fp)
    assert tp / (tp + fn) >= 0.95, (tp, fn)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Read more at bit.ly/3xYz", "url"),
        ("Our partner evil.shop", "url"),
        ("Get it at ftp://evil.example", "url"),
        ("See //evil.example/x", "url"),
        ("Besök evil\u3002com", "url"),
        ("Write to promo\uff20evil.example", "email"),
        ("Ring 070\u2011123\u20114567", "phone"),
    ],
)
def test_disguised_contacts_of_issue_11_are_found(text: str, kind: str) -> None:
    assert unconfigured(text, settings_text="Acme", languages=["sv"]) == {kind}


def test_a_link_to_the_configured_domain_is_no_alarm() -> None:
    settings = "Acme; help pages at inj.example"
    assert unconfigured("See https://inj.example/help?x=1", settings_text=settings) == set()
    assert unconfigured("See https://inj.example.evil.com/", settings_text=settings) == {"url"}


def test_an_order_number_is_not_a_phone_number() -> None:
    assert (
        unconfigured("Order 123456789 is on its way", settings_text="Acme", languages=["en"])
        == set()
    )


def test_a_configured_number_is_allowed_in_any_format() -> None:
    settings = "Anna, Acme, 08-123 45 67"
    assert unconfigured("Ring +46 8 123 45 67", settings_text=settings, languages=["sv"]) == set()
    assert unconfigured("Ring 08-765 43 21", settings_text=settings, languages=["sv"]) == {"phone"}


def test_masking_uses_the_same_finders_and_keeps_offsets() -> None:
    text = "Erik here: promo\uff20evil.example, 070\u2011123\u20114567. Order 123456789 is late."
    assert mask_personal_data(text, ["sv"]) == (
        "Erik here: [e-mail], [phone]. Order 123456789 is late."
    )


def test_spans_point_into_the_original_text() -> None:
    text = "Go to evil\u200b.com\u3002 now"
    (url,) = find_contacts(text).urls
    assert text[url.start : url.end] == "evil\u200b.com"
    assert url.value == "evil.com"

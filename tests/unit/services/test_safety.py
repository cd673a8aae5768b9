"""The draft checks' fast language path must never wave through a draft in another language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reply_assist.models import Company
from reply_assist.services.safety import inspect_draft, mask_personal_data, surely_in

COMPANY = Company(
    id="acme",
    name="Acme AB",
    plan="enterprise",
    contract_start=datetime(2026, 1, 1, tzinfo=UTC),
    languages=["sv", "en", "da"],
)
SV = (
    "Hej Erik, tack för att du tog dig tid att skriva till oss. Vi är verkligen ledsna att "
    "paketet dröjde och att ingen svarade på dina mejl. Hör gärna av dig till oss så löser vi det."
)
DA = (
    "Hej Erik, tak fordi du tog dig tid til at skrive til os. Vi er virkelig kede af at pakken "
    "var forsinket, og at ingen svarede på dine mails. Kontakt os gerne, så løser vi det."
)
EN = (
    "Hi Erik, thank you for taking the time to write to us. We are truly sorry that the parcel "
    "was late and that nobody answered your emails. Please get in touch so we can put it right."
)


@pytest.mark.parametrize(("text", "language"), [(SV, "sv"), (DA, "da"), (EN, "en")])
def test_fast_path_accepts_a_plain_draft(text: str, language: str) -> None:
    assert surely_in(text, language)


@pytest.mark.parametrize(
    ("text", "language"), [(DA, "sv"), (EN, "sv"), (SV, "en"), (EN, "de"), (SV, "ja")]
)
def test_fast_path_never_accepts_another_language(text: str, language: str) -> None:
    assert not surely_in(text, language)


def test_wrong_language_is_still_flagged() -> None:
    assert "wrong_language" in inspect_draft(
        EN, language="sv", company=COMPANY, system_prompt="Answer in Swedish."
    )
    assert inspect_draft(SV, language="sv", company=COMPANY, system_prompt="x") == []


def test_personal_data_is_masked() -> None:
    masked = mask_personal_data("Mail erik.s@example.com or call +46 70 123 45 67 today")
    assert masked == "Mail [e-mail] or call [phone] today"

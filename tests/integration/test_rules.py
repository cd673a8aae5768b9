"""Every refusal rule at its boundary, in the contract's order, with its exact code."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.conftest import ADMIN, Api


async def refusal(api: Api, review_id: str = "r1") -> tuple[int, str | None]:
    r = await api.generate(review_id)
    return r.status_code, r.json().get("code")


async def eligibility(api: Api, review_id: str = "r1") -> dict[str, Any]:
    r = await api.client.get(f"/v1/companies/acme/reviews/{review_id}/eligibility", headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("Good service, fast delivery", False),  # 4 words
        ("Good service, very fast delivery", True),  # 5 words
        ("Great!!! 👍👍 service ... fast delivery", False),  # emoji and dots are not words
        ("Great service - fast - well-known!", False),  # a lone hyphen is not a word
        ("5 stars: great, well-known, fast shop", True),  # a number is a word
        ("  \n\t  ", False),
    ],
)
async def test_more_than_four_words(api: Api, llm: Any, text: str, allowed: bool) -> None:
    await api.company()
    await api.review(text=text)
    status, code = await refusal(api)
    if allowed:
        assert status == 201
    else:
        assert (status, code) == (422, "review_too_short")


@pytest.mark.parametrize(
    ("created_at", "allowed"),
    [
        ("2026-01-02T23:00:00Z", False),  # 47 h after contract start
        ("2026-01-03T00:00:00Z", True),  # exactly 48 h
        ("2026-01-03T01:00:00Z", True),  # 49 h
        ("2025-12-24T00:00:00Z", False),  # before the contract: included in the grace period
        ("2026-01-03T02:00:00+02:00", True),  # offsets are honoured (= 00:00Z)
    ],
)
async def test_48_hour_grace_period(api: Api, llm: Any, created_at: str, allowed: bool) -> None:
    await api.company(contract_start="2026-01-01T00:00:00Z")
    await api.review(created_at=created_at)
    status, code = await refusal(api)
    assert (status, code) == ((201, None) if allowed else (422, "review_in_grace_period"))


async def test_reported_review_is_refused(api: Api, llm: Any) -> None:
    await api.company()
    await api.review(reported=True)
    assert await refusal(api) == (422, "review_reported")
    # The platform pushes the un-reporting: the same review becomes eligible again.
    await api.review(reported=False)
    assert (await refusal(api))[0] == 201


async def test_refused_calls_hold_no_slot(api: Api, llm: Any) -> None:
    """Each call takes its slot while it reads the review; a refused one gives it back."""
    await api.company()
    await api.review(reported=True)
    results = await asyncio.gather(*(api.generate() for _ in range(50)))
    assert {(r.status_code, r.json()["code"]) for r in results} == {(422, "review_reported")}
    assert (await eligibility(api))["generations_used"] == 0
    await api.review(reported=False)
    statuses = Counter(
        r.status_code for r in await asyncio.gather(*(api.generate() for _ in range(20)))
    )
    assert statuses == {201: 10, 422: 10}  # all ten slots were free again


async def test_product_review_is_refused(api: Api, llm: Any) -> None:
    await api.company()
    await api.review(type="product")
    assert await refusal(api) == (422, "product_review_not_supported")


async def test_standard_plan_is_403(api: Api, llm: Any) -> None:
    await api.company(plan="standard")
    await api.review()
    assert await refusal(api) == (403, "plan_not_eligible")
    assert llm["chat"].call_count == 0


async def test_language_hint_wins_over_detection(api: Api, llm: Any) -> None:
    await api.company(languages=["sv"])
    # English text, but the platform says Swedish: the hint wins.
    await api.review(text="The parcel took three weeks and nobody answered.", language="sv-SE")
    assert (await refusal(api))[0] == 201
    assert (await eligibility(api))["language"] == "sv"


async def test_detected_language_must_be_one_of_the_companys(api: Api, llm: Any) -> None:
    await api.company(languages=["sv", "en"])
    await api.review(
        text="Das Paket kam drei Wochen zu spät und niemand hat auf meine E-Mails geantwortet.",
        language=None,
    )
    assert await refusal(api) == (422, "language_not_supported")
    result = await eligibility(api)
    assert result["language"] == "de"
    assert "de" in result["details"]["language_not_supported"]


async def test_detected_language_allows_a_chosen_language(api: Api, llm: Any) -> None:
    await api.company(languages=["sv"])
    await api.review(
        text="Paketet kom tre veckor för sent och ingen svarade på mina mejl.", language=None
    )
    assert (await refusal(api))[0] == 201
    assert (await eligibility(api))["language"] == "sv"


async def test_undetectable_language_is_refused_with_a_reason(api: Api, llm: Any) -> None:
    await api.company()
    await api.review(text="12345 678 91011 1213 1415 !!!", language=None)
    status, code = await refusal(api)
    assert (status, code) == (422, "language_not_supported")
    detail = (await api.generate()).json()["detail"]
    assert "could not be determined" in detail


async def test_rules_are_checked_in_the_contracts_order(api: Api, llm: Any) -> None:
    await api.company(plan="standard", contract_start="2026-11-19T00:00:00Z", languages=["fi"])
    await api.review(type="product", reported=True, text="bad", language="en")
    result = await eligibility(api)
    assert result["eligible"] is False
    assert result["reasons"] == [
        "plan_not_eligible",
        "product_review_not_supported",
        "review_reported",
        "review_too_short",
        "review_in_grace_period",
        "language_not_supported",
    ]
    assert await refusal(api) == (403, "plan_not_eligible")
    await api.company(plan="enterprise", contract_start="2026-11-19T00:00:00Z", languages=["fi"])
    assert await refusal(api) == (422, "product_review_not_supported")
    await api.review(type="company", reported=True, text="bad", language="en")
    assert await refusal(api) == (422, "review_reported")
    await api.review(type="company", reported=False, text="bad", language="en")
    assert await refusal(api) == (422, "review_too_short")
    await api.review(text="one two three four five", language="en")
    assert await refusal(api) == (422, "review_in_grace_period")
    await api.company(plan="enterprise", contract_start="2026-01-01T00:00:00Z", languages=["fi"])
    assert await refusal(api) == (422, "language_not_supported")
    assert llm["chat"].call_count == 0


async def test_limit_of_ten_then_refused(api: Api, llm: Any) -> None:
    await api.company()
    await api.review()
    for expected_generation in range(1, 11):
        r = await api.generate()
        assert r.status_code == 201, r.text
        assert r.json()["generation"] == expected_generation
        assert r.json()["generations_left"] == 10 - expected_generation
    assert await refusal(api) == (422, "generation_limit_reached")
    result = await eligibility(api)
    assert result["reasons"] == ["generation_limit_reached"]
    assert (result["generations_used"], result["generations_left"]) == (10, 0)
    assert llm["chat"].call_count == 10


async def test_replacing_a_review_keeps_its_count(api: Api, llm: Any) -> None:
    await api.company()
    await api.review()
    for _ in range(3):
        assert (await api.generate()).status_code == 201
    await api.review(title="Updated title", stars=1)
    result = await eligibility(api)
    assert result["generations_used"] == 3
    drafts = await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)
    assert len(drafts.json()["items"]) == 3


async def test_unknown_company_and_review_are_404(api: Api, llm: Any) -> None:
    r = await api.generate(company_id="nope")
    assert (r.status_code, r.json()["code"]) == (404, "company_not_found")
    await api.company()
    r = await api.generate(review_id="missing")
    assert (r.status_code, r.json()["code"]) == (404, "review_not_found")


async def test_a_review_shows_the_language_the_rules_use_and_where_it_came_from(
    api: Api, llm: Any
) -> None:
    await api.company(languages=["sv", "en"])
    path = "/v1/companies/acme/reviews"
    stored = await api.review(
        "detected", text="Paketet kom tre veckor för sent och ingen svarade.", language=None
    )
    assert (stored["language"], stored["language_source"]) == ("sv", "detected")
    await api.review("hinted", language="en-GB")
    await api.review("unknown", text="12345 678 91011 1213 1415 !!!", language=None)
    shown = {}
    for review_id in ("detected", "hinted", "unknown"):
        r = await api.client.get(f"{path}/{review_id}", headers=ADMIN)
        assert r.status_code == 200, r.text
        shown[review_id] = (r.json()["language"], r.json()["language_source"])
        assert r.json()["language"] == (await eligibility(api, review_id))["language"]
    assert shown == {
        "detected": ("sv", "detected"),
        "hinted": ("en", "platform"),
        "unknown": (None, None),
    }


@pytest.mark.parametrize(
    "text", ["Bra bra bra bra bra", "Super bra service, snabb leverans!", "ok ok ok ok ok ok"]
)
async def test_short_reviews_in_the_companys_language_are_read_as_it(
    api: Api, llm: Any, text: str
) -> None:
    await api.company(languages=["sv", "en"])
    await api.review(text=text, language=None)
    assert (await eligibility(api))["language"] == "sv"

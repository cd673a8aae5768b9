"""Markets (a merchant's playbook: "a 7 from a customer in France can be the same as an 8 in the
US"): a review's country, a company's star shift per country, and the band a draft is written in,
by the templates and by a model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import respx

from reply_assist.drafting.prompting import default_prompts_dir
from reply_assist.drafting.template_texts import TemplateTexts
from reply_assist.settings import Settings
from tests.conftest import ADMIN, COMPANY, REVIEW, Api, completion, serve

EN = TemplateTexts.load(default_prompts_dir() / "templates").for_language("en").templates
FORM = "ISO 3166-1 alpha-2 country code (two letters, e.g. FR, DE, US)"


def paragraphs(band: str) -> list[str]:
    return [p.format_map({"company": COMPANY["name"]}) for p in EN[band]]  # type: ignore[index]


def system_prompt(llm: respx.MockRouter) -> str:
    sent = json.loads(llm["chat"].calls.last.request.content)
    return str(sent["messages"][0]["content"])


# --------------------------------------------------------------------------------------------
# The review's country and the company's shifts: stored, shown, validated
# --------------------------------------------------------------------------------------------


async def test_a_review_carries_its_country(api: Api) -> None:
    await api.company()
    assert (await api.review("r1", country="fr"))["country"] == "FR"  # any case, shown upper
    got = await api.client.get("/v1/companies/acme/reviews/r1", headers=ADMIN)
    assert got.json()["country"] == "FR"
    listed = await api.client.get("/v1/companies/acme/reviews", headers=ADMIN)
    assert [item["country"] for item in listed.json()["items"]] == ["FR"]
    # Replaced without one: the review has no country (it is optional).
    assert (await api.review("r1"))["country"] is None
    got = await api.client.get("/v1/companies/acme/reviews/r1", headers=ADMIN)
    assert got.json()["country"] is None


@pytest.mark.parametrize("country", ["XX", "XK", "UK", "EU", "France", "F", ""])
async def test_a_country_that_is_not_an_assigned_code_is_400(api: Api, country: str) -> None:
    await api.company()
    r = await api.client.put(
        "/v1/companies/acme/reviews/r1", json={**REVIEW, "country": country}, headers=ADMIN
    )
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"][0]["field"] == "country"
    assert problem["detail"] == f"Invalid 'country': {country!r} is not an assigned {FORM}"
    missing = await api.client.get("/v1/companies/acme/reviews/r1", headers=ADMIN)
    assert missing.status_code == 404  # nothing was stored


async def test_a_country_of_another_type_is_400_naming_it(api: Api) -> None:
    await api.company()
    r = await api.client.put(
        "/v1/companies/acme/reviews/r1", json={**REVIEW, "country": 33}, headers=ADMIN
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "country"


async def test_a_company_sets_its_market_star_shift(api: Api) -> None:
    created = await api.company(market_star_shift={"fr": 1, "DE": 1, "us": -2})
    assert created["market_star_shift"] == {"FR": 1, "DE": 1, "US": -2}
    got = await api.client.get("/v1/companies/acme", headers=await api.key(role="analyst"))
    assert got.json()["market_star_shift"] == {"FR": 1, "DE": 1, "US": -2}
    # Default: none. A PUT replaces the company, shifts included.
    assert (await api.company())["market_star_shift"] == {}


@pytest.mark.parametrize(
    ("shifts", "field", "detail"),
    [
        ({"XX": 1}, "market_star_shift.XX", f"'XX' is not an assigned {FORM}"),
        ({"France": 1}, "market_star_shift.France", f"'France' is not an assigned {FORM}"),
        ({"FR": 3}, "market_star_shift[...]", "Expected `int` <= 2"),
        ({"FR": -3}, "market_star_shift[...]", "Expected `int` >= -2"),
        ({"FR": 1.5}, "market_star_shift[...]", "Expected `int`, got `float`"),
        ({"FR": "1"}, "market_star_shift[...]", "Expected `int`, got `str`"),
        ({"fr": 1, "FR": 2}, "market_star_shift.FR", "FR is given twice"),
        ([["FR", 1]], "market_star_shift", "Expected `object`, got `array`"),
    ],
)
async def test_a_wrong_market_star_shift_is_400_naming_it(
    api: Api, shifts: Any, field: str, detail: str
) -> None:
    r = await api.client.put(
        "/v1/companies/acme", json={**COMPANY, "market_star_shift": shifts}, headers=ADMIN
    )
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == field
    assert r.json()["detail"].startswith(f"Invalid '{field}': {detail}")


# --------------------------------------------------------------------------------------------
# The band: templates
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def templates(with_settings: Callable[..., Settings], redis_client: aioredis.Redis) -> Any:
    """The app with no model: drafts come from the built-in templates."""
    async with serve(with_settings(openai_api_key=None, openai_base_url=None)) as client:
        yield Api(client)


@pytest.mark.parametrize(
    ("stars", "country", "band"),
    [
        (2, "FR", "mixed"),  # FR +1: a 2 is answered as a 3
        (2, None, "negative"),  # no country: as rated
        (2, "SE", "negative"),  # a country without a shift: as rated
        (3, "US", "negative"),  # US -1: a 3 is answered as a 2
        (3, "DE", "positive"),
        (1, "US", "negative"),  # clamped at 1
    ],
)
async def test_the_templates_write_in_the_shifted_band(
    templates: Api, stars: int, country: str | None, band: str
) -> None:
    api = templates
    await api.company(languages=["en"], market_star_shift={"FR": 1, "DE": 2, "US": -1})
    await api.review("r1", stars=stars, country=country)
    r = await api.generate("r1")
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["model"] == "template"
    assert draft["star_band"] == band
    assert any(p in draft["text"] for p in paragraphs(band)), draft["text"]
    got = await api.client.get(f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN)
    assert got.json()["star_band"] == band  # stored with the draft


# --------------------------------------------------------------------------------------------
# The band: what the model is told
# --------------------------------------------------------------------------------------------

UNHAPPY = "Tone: the customer is unhappy."
MIXED = "Tone: a mixed experience"
PLEASED = "Tone: the customer is pleased."
DELIGHTED = "Tone: the customer is delighted."  # reply-v1 tells a 5 from a 4


def user_message(llm: respx.MockRouter) -> str:
    sent = json.loads(llm["chat"].calls.last.request.content)
    return str(sent["messages"][1]["content"])


async def test_the_model_is_told_the_shifted_band(api: Api, llm: respx.MockRouter) -> None:
    """reply-v2 (the default): the market sentence sits with the band's tone, after the part
    that is the same for every draft of the company; the exact rating only in the fence."""
    await api.company(languages=["en"], market_star_shift={"FR": 1})
    await api.review("none4", stars=4)
    assert (await api.generate("none4")).status_code == 201
    unshifted = system_prompt(llm)

    # A French 4 is answered like a 5, and the model is told why.
    await api.review("fr4", stars=4, country="FR")
    r = await api.generate("fr4")
    assert r.status_code == 201, r.text
    assert r.json()["star_band"] == "positive"
    system = system_prompt(llm)
    assert (
        "The market: the customer is in FR, where customers rate more strictly than elsewhere, "
        "so Acme AB answers this review as if it were rated 1 star higher (positive)." in system
    )
    assert PLEASED in system
    assert "4 out of 5" not in system and "5-star" not in system
    assert "Stars: 4/5" in user_message(llm)  # the fenced review keeps the customer's rating
    # The company's part comes first, unchanged: a model server's prefix cache still holds it.
    head = unshifted.split(PLEASED)[0]
    assert system.startswith(head)
    assert system.index("The market:") > system.index("Language:")

    # A French 2 crosses into the mixed band.
    await api.review("fr2", stars=2, country="FR")
    r = await api.generate("fr2")
    assert r.json()["star_band"] == "mixed"
    system = system_prompt(llm)
    assert "answers this review as if it were rated 1 star higher (mixed)." in system
    assert MIXED in system
    assert UNHAPPY not in system

    # A 4 from another country, and a French 5 (the shift cannot move it), get the prompt of
    # any review of their band: no market sentence, the same system message.
    for review_id, stars, country in (("se4", 4, "SE"), ("fr5", 5, "FR"), ("none5", 5, None)):
        await api.review(review_id, stars=stars, country=country)
        r = await api.generate(review_id)
        assert r.json()["star_band"] == "positive"
        assert system_prompt(llm) == unshifted


async def test_a_negative_shift_is_told_as_generous_rating(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["en"], market_star_shift={"US": -2})
    await api.review("us4", stars=4, country="US")
    r = await api.generate("us4")
    assert r.json()["star_band"] == "negative"
    system = system_prompt(llm)
    assert (
        "where customers rate more generously than elsewhere, so Acme AB answers this review "
        "as if it were rated 2 stars lower (negative)." in system
    )
    assert UNHAPPY in system


@pytest.fixture
async def reply_v1(with_settings: Callable[..., Settings], redis_client: aioredis.Redis) -> Any:
    """The app with the model and the older prompt version, which states the rating."""
    async with serve(with_settings(prompt_version="reply-v1")) as client:
        yield Api(client)


async def test_reply_v1_tells_the_shifted_rating(reply_v1: Api, llm: respx.MockRouter) -> None:
    api = reply_v1
    await api.company(languages=["en"], market_star_shift={"FR": 1, "US": -1})
    await api.review("fr4", stars=4, country="FR")
    r = await api.generate("fr4")
    assert r.status_code == 201, r.text
    assert r.json()["star_band"] == "positive"
    system = system_prompt(llm)
    assert "The rating: 4 out of 5 stars." in system
    assert (
        "The market: the customer is in FR, where customers rate more strictly than elsewhere, "
        "so Acme AB answers this review as a 5-star review (positive)." in system
    )
    assert DELIGHTED in system
    assert PLEASED not in system

    await api.review("us3", stars=3, country="US")
    assert (await api.generate("us3")).json()["star_band"] == "negative"
    system = system_prompt(llm)
    assert "rate more generously than elsewhere" in system
    assert "answers this review as a 2-star review (negative)." in system
    assert UNHAPPY in system

    await api.review("se4", stars=4, country="SE")
    await api.generate("se4")
    system = system_prompt(llm)
    assert "The market:" not in system
    assert PLEASED in system


async def test_example_replies_are_chosen_by_the_shifted_band(
    api: Api, llm: respx.MockRouter
) -> None:
    """A reply published for a French 2 (FR +1: mixed) shows the company's voice for mixed
    reviews, and not for a plain 2."""
    await api.company(languages=["en"], signature="Anna, Acme", market_star_shift={"FR": 1})
    text = "The parcel was three weeks late but the product itself is fine."
    await api.review("fr2", stars=2, country="FR", text=text)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion("FRENCH-MIXED reply")))
    draft = (await api.generate("fr2")).json()
    published = await api.client.put(
        "/v1/companies/acme/reviews/fr2/reply",
        json={"text": "FRENCH-MIXED reply", "agent_id": "a-1", "draft_id": draft["id"]},
        headers=ADMIN,
    )
    assert published.status_code == 201, published.text

    llm["chat"].mock(return_value=httpx.Response(200, json=completion("Thanks. Anna, Acme")))
    await api.review("plain3", stars=3, text=text)
    assert (await api.generate("plain3")).status_code == 201
    assert "FRENCH-MIXED reply" in user_message(llm)  # examples travel in the user message
    await api.review("plain2", stars=2, text=text)
    assert (await api.generate("plain2")).status_code == 201
    assert "FRENCH-MIXED reply" not in user_message(llm)

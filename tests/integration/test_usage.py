"""Monthly draft allowances, bought drafts (credits) and usage alerts, against a real Redis.

The month is named by ``services.months.clock``: tests that cross a month stand on a fixed day
by replacing it (the app runs in this process, see ``conftest.serve``).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from reply_assist.services import events, months
from reply_assist.settings import ModelPrice, Settings
from tests.conftest import ADMIN, COMPANY, Api, completion, serve
from tests.desk_client import DeskClient
from tests.integration.test_draft_rules import listed, recent, rules_on, until

USAGE = "/v1/companies/acme/usage"
CREDITS = "/v1/companies/acme/credits"


class Clock:
    """A fixed clock for the month's drafts; ``at`` moves it."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    monkeypatch.setattr(months, "clock", fixed)
    return fixed


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every event the usage service hands to ``events.emit``."""
    seen: list[tuple[str, str, dict[str, Any]]] = []

    async def spy(rt: object, company_id: str, event_type: str, data: Any) -> None:
        seen.append((company_id, event_type, dict(data)))

    monkeypatch.setattr(events, "emit", spy)
    return seen


async def buy(api: Api, drafts: int, reference: str) -> httpx.Response:
    return await api.client.post(
        CREDITS, json={"drafts": drafts, "reference": reference}, headers=ADMIN
    )


async def usage(api: Api, month: str | None = None) -> dict[str, Any]:
    r = await api.client.get(USAGE, params={"month": month} if month else None, headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def reviews(api: Api, count: int) -> list[str]:
    ids = [f"r{n}" for n in range(count)]
    for review_id in ids:
        await api.review(review_id)
    return ids


async def test_unlimited_by_default_and_the_month_is_still_counted(
    api: Api, llm: respx.MockRouter
) -> None:
    company = await api.company()
    assert company["monthly_draft_allowance"] is None
    assert company["usage_alert_at"] is None
    await api.review()
    for _ in range(3):
        assert (await api.generate()).status_code == 201
    report = await usage(api)
    assert report["allowance"] is None
    assert report["drafts_left"] is None and report["allowance_left"] is None
    assert report["drafts"] == 3
    assert report["drafts_by_origin"] == {"request": 3, "rule": 0}
    assert report["models"] == [
        {
            "model": "gpt-test",
            "prompt_tokens": 360,
            "cached_prompt_tokens": 0,
            "completion_tokens": 90,
            "cost": None,
        }
    ]
    assert report["cost"] is None  # no prices configured
    now = datetime.now(UTC)
    assert report["month"] == f"{now.year:04d}-{now.month:02d}"


async def test_100_concurrent_generates_with_10_drafts_left_give_exactly_10(
    api: Api, llm: respx.MockRouter
) -> None:
    # 5 of the allowance and 5 bought: both kinds are taken by the same atomic step. 20
    # reviews, so the limit of 10 drafts per review never decides.
    await api.company(monthly_draft_allowance=5)
    assert (await buy(api, 5, "order-1")).status_code == 201
    ids = await reviews(api, 20)
    results = await asyncio.gather(*(api.generate(ids[n % 20]) for n in range(100)))
    statuses = Counter(r.status_code for r in results)
    assert statuses == {201: 10, 402: 90}, statuses
    refused = [r for r in results if r.status_code == 402]
    assert {r.json()["code"] for r in refused} == {"quota_exhausted"}
    assert "retry-after" not in refused[0].headers
    now = datetime.now(UTC)
    first_of_next = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert refused[0].json()["renews_at"] == f"{first_of_next:%Y-%m}-01T00:00:00Z"
    report = await usage(api)
    assert (report["used_from_allowance"], report["credits_used"]) == (5, 5)
    assert (report["credits_left"], report["drafts_left"], report["drafts"]) == (0, 0, 10)
    # Nothing is left held by the refused calls: bought drafts are usable at once.
    assert (await buy(api, 1, "order-2")).status_code == 201
    assert (await api.generate("r0")).status_code == 201


async def test_allowance_first_then_credits_and_the_month_renews_on_the_1st(
    api: Api, llm: respx.MockRouter, clock: Clock
) -> None:
    await api.company(monthly_draft_allowance=2)
    await buy(api, 3, "inv-7")
    await api.review()
    for _ in range(3):
        assert (await api.generate()).status_code == 201
    march = await usage(api, "2026-03")
    assert (march["used_from_allowance"], march["credits_used"], march["credits_left"]) == (2, 1, 2)
    assert march["drafts_left"] == 2 and march["renews_at"] == "2026-04-01T00:00:00Z"
    assert await usage(api) == march  # the current month is the clock's

    clock.moment = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert (await api.generate()).status_code == 201
    april = await usage(api)
    assert april["month"] == "2026-04"
    # A new allowance: the draft came from it, and the bought ones are still there.
    assert (april["used_from_allowance"], april["credits_used"], april["credits_left"]) == (1, 0, 2)
    assert april["drafts_left"] == 3
    # March's unused allowance is gone; what it used stays on record.
    march = await usage(api, "2026-03")
    assert (march["allowance_left"], march["used_from_allowance"], march["drafts"]) == (0, 2, 3)


async def test_the_same_reference_adds_once(api: Api) -> None:
    await api.company(monthly_draft_allowance=0)
    first = await buy(api, 50, "po-123")
    assert first.status_code == 201, first.text
    assert first.json()["added"] is True and first.json()["credits_left"] == 50
    again = await buy(api, 50, "po-123")
    assert again.status_code == 200, again.text
    assert again.json()["added"] is False and again.json()["credits_left"] == 50
    # Another amount under a seen reference is still that purchase: nothing more is added.
    other = await buy(api, 999, "po-123")
    assert other.status_code == 200 and other.json()["drafts"] == 50
    assert other.json()["added_at"] == first.json()["added_at"]
    assert (await usage(api))["credits_left"] == 50
    assert (await buy(api, 1, "po-124")).json()["credits_left"] == 51


async def test_alerts_are_sent_once_a_month(
    api: Api, llm: respx.MockRouter, clock: Clock, emitted: list[Any]
) -> None:
    await api.company(monthly_draft_allowance=3, usage_alert_at=2)
    await api.review(author_name="Erik Svensson")
    assert (await api.generate()).status_code == 201  # 2 left: low
    assert [e[1] for e in emitted] == ["usage.low"]
    assert emitted[0] == (
        "acme",
        "usage.low",
        {
            "company_id": "acme",
            "month": "2026-03",
            "drafts_left": 2,
            "usage_alert_at": 2,
            "renews_at": "2026-04-01T00:00:00Z",
        },
    )
    assert (await api.generate()).status_code == 201  # 1 left: still low, not sent again
    assert [e[1] for e in emitted] == ["usage.low"]
    assert (await api.generate()).status_code == 201  # 0 left
    assert [e[1] for e in emitted] == ["usage.low", "usage.exhausted"]
    assert emitted[1][2]["drafts_left"] == 0
    assert (await api.generate()).json()["code"] == "quota_exhausted"
    assert len(emitted) == 2
    # Credits bought mid-month do not make the month's alerts come again.
    await buy(api, 1, "top-up")
    assert (await api.generate()).status_code == 201
    assert len(emitted) == 2
    # Nothing of a reviewer in any event.
    assert all("Erik" not in str(data) for _, _, data in emitted)

    clock.moment = datetime(2026, 4, 2, tzinfo=UTC)
    await api.review("r2")
    assert (await api.generate("r2")).status_code == 201  # April: 3, and 0 credits left
    assert [e[1] for e in emitted] == ["usage.low", "usage.exhausted", "usage.low"]
    assert emitted[2][2]["month"] == "2026-04"


async def test_eligibility_lists_quota_exhausted(api: Api, llm: respx.MockRouter) -> None:
    await api.company(monthly_draft_allowance=1)
    await api.review("r1")
    await api.review("r2")
    r = await api.client.get("/v1/companies/acme/reviews/r2/eligibility", headers=ADMIN)
    assert r.json()["reasons"] == []
    assert (await api.generate("r1")).status_code == 201
    r = await api.client.get("/v1/companies/acme/reviews/r2/eligibility", headers=ADMIN)
    assert r.json()["eligible"] is False and r.json()["reasons"] == ["quota_exhausted"]
    listed = await api.client.get("/v1/companies/acme/reviews", headers=ADMIN)
    items = listed.json()["items"]
    assert [(i["eligible"], i["reasons"]) for i in items] == [(False, ["quota_exhausted"])] * 2
    # Another rule that fails comes first, as a generate call is refused with it.
    await api.review("r3", reported=True)
    r = await api.client.get("/v1/companies/acme/reviews/r3/eligibility", headers=ADMIN)
    assert r.json()["reasons"] == ["review_reported", "quota_exhausted"]
    assert (await api.generate("r3")).json()["code"] == "review_reported"


async def test_a_failed_model_call_gives_its_draft_back(
    api: Api, llm: respx.MockRouter, redis_client: Any, prefix: str
) -> None:
    await api.company(monthly_draft_allowance=1)
    await api.review()
    llm["chat"].mock(return_value=httpx.Response(500, json={"error": {"message": "down"}}))
    assert (await api.generate()).status_code == 503
    assert (await usage(api))["drafts_left"] == 1
    assert await redis_client.zcard(f"{prefix}:{{c:acme}}/usage-held") == 0
    llm["chat"].mock(return_value=httpx.Response(200, json=completion("Thank you, Erik. " * 5)))
    assert (await api.generate()).status_code == 201
    assert (await usage(api))["drafts_left"] == 0


async def test_the_stream_is_refused_before_it_starts(api: Api, llm: respx.MockRouter) -> None:
    await api.company(monthly_draft_allowance=0)
    await api.review()
    r = await api.generate(headers={**ADMIN, "Accept": "text/event-stream"})
    assert r.status_code == 402, r.text
    assert r.json()["code"] == "quota_exhausted" and r.json()["renews_at"].endswith("T00:00:00Z")
    assert llm["chat"].call_count == 0


async def test_a_company_key_is_refused_in_its_one_round_trip(
    api: Api, llm: respx.MockRouter
) -> None:
    # A key that names its company reserves in the authentication's own script.
    await api.company(monthly_draft_allowance=1)
    agent = await api.key(role="agent")
    await api.review()
    assert (await api.generate(headers=agent)).status_code == 201
    r = await api.generate(headers=agent)
    assert r.status_code == 402 and r.json()["code"] == "quota_exhausted"
    assert llm["chat"].call_count == 1


async def test_roles(api: Api) -> None:
    await api.company()
    await api.company("other")
    analyst, agent = await api.key(role="analyst"), await api.key(role="agent")
    dashboard = await api.key(role="dashboard")
    other_analyst = await api.key("other", role="analyst")
    assert (await api.client.get(USAGE, headers=analyst)).status_code == 200
    assert (await api.client.get(USAGE, headers=ADMIN)).status_code == 200
    for headers in (agent, dashboard, other_analyst):
        assert (await api.client.get(USAGE, headers=headers)).status_code == 403
    body = {"drafts": 5, "reference": "x"}
    for headers in (analyst, agent, dashboard):
        assert (await api.client.post(CREDITS, json=body, headers=headers)).status_code == 403
    assert (await api.client.get(USAGE)).status_code == 401
    r = await api.client.post("/v1/companies/nobody/credits", json=body, headers=ADMIN)
    assert r.status_code == 404 and r.json()["code"] == "company_not_found"
    r = await api.client.get("/v1/companies/nobody/usage", headers=ADMIN)
    assert r.status_code == 404 and r.json()["code"] == "company_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"drafts": 0, "reference": "a"},
        {"drafts": -5, "reference": "a"},
        {"drafts": "5", "reference": "a"},
        {"drafts": 1.5, "reference": "a"},
        {"drafts": 5},
        {"reference": "a"},
        {"drafts": 5, "reference": ""},
        {"drafts": 5, "reference": "r" * 201},
        [],
    ],
)
async def test_bad_credit_bodies_are_400s_that_name_the_field(api: Api, body: Any) -> None:
    await api.company()
    r = await api.client.post(CREDITS, json=body, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "26-01", "2026-1", "march", "0000-01", ""])
async def test_a_bad_month_is_a_400(api: Api, month: str) -> None:
    await api.company()
    r = await api.client.get(USAGE, params={"month": month}, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_month"


@pytest.mark.parametrize(
    "settings_body",
    [
        {"monthly_draft_allowance": -1},
        {"monthly_draft_allowance": "10"},
        {"monthly_draft_allowance": 1.5},
        {"usage_alert_at": -1},
        {"usage_alert_at": True},
    ],
)
async def test_bad_company_settings_are_400s(api: Api, settings_body: dict[str, Any]) -> None:
    r = await api.client.put("/v1/companies/acme", json={**COMPANY, **settings_body}, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    assert next(iter(settings_body)) in r.json()["detail"]


async def test_setting_the_allowance_back_to_null_makes_the_company_unlimited(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company(monthly_draft_allowance=0)
    await api.review()
    assert (await api.generate()).status_code == 402
    await api.company(monthly_draft_allowance=None)
    assert (await api.generate()).status_code == 201


async def test_cost_and_cached_tokens_with_prices(
    base_settings: Settings, llm: respx.MockRouter, redis_client: Any
) -> None:
    priced = replace(
        base_settings,
        model_prices={"gpt-test": ModelPrice(input=1.0, cached_input=0.5, output=4.0)},
    )
    answer = completion("Thank you, Erik. We are sorry about the parcel.", 1000, 100)
    answer["usage"]["prompt_tokens_details"] = {"cached_tokens": 400}
    llm["chat"].mock(return_value=httpx.Response(200, json=answer))
    async with serve(priced) as http:
        api = Api(http)
        await api.company()
        await api.review()
        draft = (await api.generate()).json()
        assert draft["usage"]["cached_prompt_tokens"] == 400
        report = await usage(api)
    (model,) = report["models"]
    assert (model["prompt_tokens"], model["cached_prompt_tokens"]) == (1000, 400)
    # 600 × $1 + 400 × $0.5 + 100 × $4 per million tokens
    assert model["cost"] == pytest.approx(0.0012)
    assert report["cost"] == pytest.approx(0.0012)


async def test_a_rule_job_with_nothing_left_is_skipped_not_retried(
    api: Api, llm: respx.MockRouter, settings: Settings
) -> None:
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company(monthly_draft_allowance=1)
        await rules_on(http)
        await api.review("r1", created_at=recent())
        await until(lambda: _rule_state(http, "r1", "drafted"))
        await api.review("r2", created_at=recent())
        item = await until(lambda: _rule_state(http, "r2", "skipped"))
        assert item["rule_draft"] == {"state": "skipped", "reason": "quota_exhausted"}
        report = await usage(api)
    assert report["drafts_by_origin"] == {"request": 0, "rule": 1}
    assert llm["chat"].call_count == 1


async def _rule_state(http: httpx.AsyncClient, review_id: str, state: str) -> Any:
    item = await listed(http, review_id)
    rule = item["rule_draft"]
    return item if rule is not None and rule["state"] == state else None


async def test_the_embedded_store_keeps_the_allowance_too(base_settings: Settings) -> None:
    # The same Lua scripts on the in-process store (fakeredis), with the templates as drafter.
    settings = replace(base_settings, redis_url=None, openai_api_key=None, openai_base_url=None)
    async with serve(settings) as http:
        api = Api(http)
        await api.company(monthly_draft_allowance=1)
        await api.review()
        await buy(api, 1, "b-1")
        assert [(await api.generate()).status_code for _ in range(3)] == [201, 201, 402]
        report = await usage(api)
    assert (report["used_from_allowance"], report["credits_used"]) == (1, 1)
    assert report["models"][0]["model"] == "template"


async def test_insights_show_the_month_and_the_desk_refuses_in_words(
    base_settings: Settings, llm: respx.MockRouter, redis_client: Any
) -> None:
    priced = replace(
        base_settings,
        model_prices={"gpt-test": ModelPrice(input=1.0, cached_input=0.5, output=4.0)},
    )
    async with serve(priced) as http:
        api = Api(http)
        await api.company(monthly_draft_allowance=1)
        await api.review()
        assert (await api.generate()).status_code == 201
        analyst = DeskClient(httpx.AsyncClient(base_url=http.base_url))
        await analyst.sign_in((await api.key(role="analyst"))["Authorization"][7:])
        page = await analyst.client.get("/insights")
        assert page.status_code == 200, page.text
        shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
        now = datetime.now(UTC)
        assert f"Drafts this month ({now:%Y-%m}, UTC)" in shown
        assert "Monthly allowance 1 " in shown and "Drafts left 0 " in shown
        assert "gpt-test 120 0 30 0.0002" in shown  # 120 × $1 + 30 × $4 per million
        # The banner is for those who generate: an analyst's inbox has none, an agent's has it.
        banner = "No drafts left until"
        assert banner not in (await analyst.client.get("/desk")).text
        await analyst.client.aclose()

        # An agent's form post (no script) is refused on a page that says why.
        agent = DeskClient(httpx.AsyncClient(base_url=http.base_url))
        await agent.sign_in((await api.key(role="agent"))["Authorization"][7:])
        r = await agent.post("/desk/reviews/r1/drafts", {"guidance": ""})
        assert r.status_code == 402
        assert "No drafts left this month: the company has used its drafts." in r.text
        assert banner in (await agent.client.get("/desk")).text
        await agent.client.aclose()

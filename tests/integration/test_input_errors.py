"""Errors a client can cause say what is wrong and how to put it right; none is a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, COMPANY, REVIEW, Api


@pytest.mark.parametrize(
    ("contract_start", "created_at", "in_grace"),
    [
        ("9999-12-31T23:59:59Z", "2026-11-20T08:00:00Z", True),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T23:59:59Z", True),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", True),
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", False),
        ("2026-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", True),
    ],
)
async def test_timestamps_at_the_ends_of_the_calendar_are_no_500(
    api: Api, contract_start: str, created_at: str, in_grace: bool
) -> None:
    await api.company(contract_start=contract_start)
    await api.review(created_at=created_at)
    r = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert ("review_in_grace_period" in r.json()["reasons"]) is in_grace
    if in_grace:
        assert r.json()["details"]["review_in_grace_period"]
        generated = await api.generate()
        assert generated.status_code == 422, generated.text
        assert generated.json()["code"] == "review_in_grace_period"


@pytest.mark.parametrize(
    ("path", "body", "field", "allowed"),
    [
        ("/v1/companies/acme", {**COMPANY, "plan": "basic"}, "plan", ["enterprise", "standard"]),
        (
            "/v1/companies/acme/reviews/r1",
            {**REVIEW, "type": "store"},
            "type",
            ["company", "product"],
        ),
        ("/v1/companies/acme/api-keys", {"role": "admin"}, "role", ["dashboard", "agent"]),
    ],
)
async def test_an_invalid_enum_value_lists_the_allowed_ones(
    api: Api, path: str, body: dict[str, Any], field: str, allowed: list[str]
) -> None:
    await api.company()
    method = "POST" if path.endswith("api-keys") else "PUT"
    r = await api.client.request(method, path, json=body, headers=ADMIN)
    assert r.status_code == 400
    problem = r.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"][0]["field"] == field
    for value in allowed:
        assert f"'{value}'" in problem["detail"]
        assert f"'{value}'" in problem["errors"][0]["message"]


async def test_an_invalid_vote_or_reason_lists_the_allowed_ones(api: Api) -> None:
    await api.company()
    await api.review()
    feedback = "/v1/companies/acme/reviews/r1/drafts/d1/feedback"
    r = await api.client.post(feedback, json={"vote": "meh", "agent_id": "a"}, headers=ADMIN)
    assert "'up'" in r.json()["detail"] and "'down'" in r.json()["detail"]
    r = await api.client.post(
        feedback, json={"vote": "up", "agent_id": "a", "reason": "ugly"}, headers=ADMIN
    )
    assert "'wrong_tone'" in r.json()["detail"] and "'helpful'" in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/companies/acme", {k: v for k, v in COMPANY.items() if k != "plan"}, "plan"),
        (
            "/v1/companies/acme/reviews/r1",
            {k: v for k, v in REVIEW.items() if k != "stars"},
            "stars",
        ),
        ("/v1/companies/acme/reviews/r1/drafts/d1/feedback", {"vote": "up"}, "agent_id"),
    ],
)
async def test_a_missing_field_is_named(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    await api.company()
    await api.review()
    method = "POST" if path.endswith("feedback") else "PUT"
    r = await api.client.request(method, path, json=body, headers=ADMIN)
    assert r.status_code == 400
    problem = r.json()
    assert problem["errors"][0]["field"] == field
    assert f"'{field}'" in problem["detail"]
    assert "data" not in problem["detail"]


async def test_a_403_for_a_role_names_the_role_needed(api: Api) -> None:
    await api.company()
    await api.review()
    dashboard = await api.key(role="dashboard")
    analyst = await api.key(role="analyst")
    r = await api.client.put(
        "/v1/companies/acme/reviews/r1/reply",
        json={"text": "Thanks!", "agent_id": "a"},
        headers=dashboard,
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert "'agent'" in r.json()["detail"] and "'dashboard'" in r.json()["detail"]
    r = await api.client.get("/v1/companies/acme/feedback/stats", headers=dashboard)
    assert r.status_code == 403 and "'analyst'" in r.json()["detail"]
    r = await api.generate(headers=analyst)
    assert r.status_code == 403
    assert "'agent'" in r.json()["detail"] and "'dashboard'" in r.json()["detail"]
    r = await api.client.put("/v1/companies/acme", json=COMPANY, headers=dashboard)
    assert r.status_code == 403 and "platform admin" in r.json()["detail"]


async def test_a_403_for_another_company_says_so_and_reveals_nothing(api: Api) -> None:
    await api.company()
    await api.company("globex")
    await api.review(company_id="globex")
    agent = await api.key(role="agent")
    existing = await api.client.get("/v1/companies/globex/reviews/r1", headers=agent)
    missing = await api.client.get("/v1/companies/initech/reviews/r9", headers=agent)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()  # the same answer whether it exists or not
    assert "another company" in existing.json()["detail"]
    assert "role" not in existing.json()["detail"]  # not a role problem: no role would help

"""Errors a client can cause say what is wrong and how to put it right; none is a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import ADMIN, COMPANY, REPLY, REVIEW, Api, completion, sse_body


@pytest.mark.parametrize(
    ("contract_start", "created_at", "in_grace"),
    [
        ("9999-12-31T23:59:59Z", "2026-11-20T08:00:00Z", True),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T23:59:59Z", True),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", True),
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", False),
        # The first instant UTC can write, with an offset (one before it is a 400:
        # test_instants.py).
        ("2026-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", True),
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
    "params",
    [
        {"since": "0001-01-01T00:00:00+01:00"},
        {"since": "9999-12-31T23:59:59-23:59"},
        {"until": "0001-01-01T00:00:00+23:59"},
        {"until": "9999-12-31T23:59:59-01:00"},
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
    ],
)
async def test_stats_ranges_at_the_ends_of_the_calendar_are_no_500(
    api: Api, params: dict[str, str]
) -> None:
    """Checked with the grace-period fix: the stats' own arithmetic is on epoch seconds."""
    await api.company()
    for path in ("/v1/feedback/stats", "/v1/companies/acme/feedback/stats"):
        r = await api.client.get(path, params=params, headers=ADMIN)
        assert r.status_code in (200, 400), r.text


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


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        ("text/event-stream", True),
        ("TEXT/EVENT-STREAM", True),  # media types are case-insensitive
        ("text/event-stream; charset=utf-8", True),
        ("text/event-stream, application/json;q=0.5", True),
        ("text/event-stream;q=0, application/json", False),  # q=0: not acceptable
        ("text/event-stream;q=0", False),
        ("text/event-stream;q=0, */*", False),
        ("application/json", False),
        ("application/json;q=0.5, text/event-stream", True),
        ("*/*", False),
    ],
)
async def test_accept_is_negotiated(
    api: Api, llm: respx.MockRouter, accept: str, streams: bool
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            body = sse_body(
                "Hi Erik, ", "thank you.", usage={"prompt_tokens": 9, "completion_tokens": 4}
            )
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=answer)
    await api.company()
    await api.review()
    r = await api.generate(headers={**ADMIN, "Accept": accept})
    if streams:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "event: draft" in r.text
    else:
        assert r.status_code == 201, r.text
        assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"],
)
async def test_a_json_body_without_a_json_content_type_is_415(
    api: Api, content_type: str | None
) -> None:
    await api.company()
    headers = {**ADMIN} if content_type is None else {**ADMIN, "Content-Type": content_type}
    for method, path, body in [
        ("PUT", "/v1/companies/acme", COMPANY),
        ("PUT", "/v1/companies/acme/reviews/r1", REVIEW),
        ("POST", "/v1/companies/acme/reviews/r1/drafts", {"guidance": "be brief"}),
    ]:
        r = await api.client.request(method, path, content=json.dumps(body), headers=headers)
        assert r.status_code == 415, (path, r.text)
        assert r.json()["code"] == "unsupported_media_type"
        assert "application/json" in r.json()["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
)
async def test_json_content_types_are_accepted(api: Api, content_type: str) -> None:
    r = await api.client.put(
        "/v1/companies/acme",
        content=json.dumps(COMPANY),
        headers={**ADMIN, "Content-Type": content_type},
    )
    assert r.status_code == 201, r.text


async def test_a_call_without_a_body_needs_no_content_type(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    assert (await api.generate()).status_code == 201  # POST …/drafts: the body is optional


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/companies/acme", {**COMPANY, "languages": ["sv", "xx"]}, "languages[1]"),
        ("/v1/companies/acme", {**COMPANY, "languages": ["qq"]}, "languages[0]"),
        ("/v1/companies/acme/reviews/r1", {**REVIEW, "language": "xx"}, "language"),
        ("/v1/companies/acme/reviews/r1", {**REVIEW, "language": "xx-GB"}, "language"),
        ("/v1/companies/acme/reviews/r1", {**REVIEW, "language": "swe"}, "language"),
    ],
)
async def test_a_language_that_is_not_iso_639_1_is_refused(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    await api.company()
    r = await api.client.put(path, json=body, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    assert r.json()["errors"][0]["field"] == field
    assert f"'{field}'" in r.json()["detail"] and "ISO 639-1" in r.json()["detail"]


@pytest.mark.parametrize("hint", ["en", "EN", "en-GB", "pt_BR", "zh-cn", "nb", "nn", "no"])
async def test_the_documented_language_forms_are_accepted(api: Api, hint: str) -> None:
    await api.company(languages=["sv", "nb", "en", "pt", "zh"])
    await api.review(language=hint)


async def test_options_lists_every_method_of_the_path(api: Api) -> None:
    for path, methods in [
        ("/v1/companies/acme", "GET, OPTIONS, PUT"),
        ("/v1/companies/acme/reviews/r1", "GET, OPTIONS, PUT"),
        ("/v1/companies/acme/reviews/r1/reply", "GET, OPTIONS, PUT"),
        ("/v1/companies/acme/reviews/r1/drafts", "GET, OPTIONS, POST"),
        ("/v1/companies/acme/reviews/r1/drafts/d1", "GET, OPTIONS, PATCH"),
    ]:
        r = await api.client.options(path, headers=ADMIN)
        assert r.status_code == 204
        assert r.headers["allow"] == methods, path

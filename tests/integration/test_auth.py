"""Tokens, roles and tenant isolation, in the contract's order: 401 → 400 → 403 → 404."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, REVIEW, Api

DRAFTS = "/v1/companies/acme/reviews/r1/drafts"


async def test_missing_or_unknown_token_is_401(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = await api.client.get("/v1/companies/acme", headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == "unauthorized"
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_401_comes_before_400(api: Api) -> None:
    r = await api.client.put("/v1/companies/bad%20id", json={"x": 1})
    assert r.status_code == 401


async def test_400_comes_before_403(api: Api) -> None:
    await api.company("acme")
    await api.company("other")
    analyst = await api.key("acme", "analyst")
    # Malformed body for another company with a key that may not write: 400 first.
    r = await api.client.put(
        "/v1/companies/other/reviews/r1", json={"type": "company"}, headers=analyst
    )
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")
    r = await api.client.get("/v1/companies/other/reviews/bad%20id", headers=analyst)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")


async def test_another_companys_resources_are_403_before_any_lookup(api: Api) -> None:
    await api.company("acme")
    await api.company("other")
    await api.review("r1", company_id="other")
    key = await api.key("acme", "agent")
    existing = await api.client.get("/v1/companies/other/reviews/r1", headers=key)
    missing = await api.client.get("/v1/companies/other/reviews/nope", headers=key)
    unknown_company = await api.client.get("/v1/companies/ghost/reviews/r1", headers=key)
    # The same answer whether or not the resource exists: nothing is revealed.
    for r in (existing, missing, unknown_company):
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert existing.json() == missing.json()


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "allowed"),
    [
        ("dashboard", "PUT", "/v1/companies/acme/reviews/r2", REVIEW, True),
        ("analyst", "PUT", "/v1/companies/acme/reviews/r2", REVIEW, False),
        ("dashboard", "POST", DRAFTS, None, True),
        ("analyst", "POST", DRAFTS, None, False),
        ("agent", "POST", DRAFTS, None, True),
        ("analyst", "GET", "/v1/companies/acme/reviews/r1", None, True),
        ("analyst", "GET", "/v1/companies/acme/reviews/r1/eligibility", None, True),
        ("analyst", "GET", DRAFTS, None, True),
        ("dashboard", "GET", "/v1/companies/acme/feedback/stats", None, False),
        ("agent", "GET", "/v1/companies/acme/feedback/stats", None, False),
        ("analyst", "GET", "/v1/companies/acme/feedback/stats", None, True),
        ("analyst", "GET", "/v1/feedback/stats", None, False),
        (
            "dashboard",
            "PUT",
            "/v1/companies/acme/reviews/r1/reply",
            {"text": "Thanks!", "agent_id": "a-1"},
            False,
        ),
        (
            "agent",
            "PUT",
            "/v1/companies/acme/reviews/r1/reply",
            {"text": "Thanks!", "agent_id": "a-1"},
            True,
        ),
        ("agent", "PUT", "/v1/companies/acme", {"name": "x"}, False),
        ("agent", "POST", "/v1/companies/acme/api-keys", {"role": "agent"}, False),
    ],
)
async def test_roles(
    api: Api, llm: Any, role: str, method: str, path: str, body: Any, allowed: bool
) -> None:
    await api.company()
    await api.review()
    key = await api.key(role=role)
    r = await api.client.request(method, path, json=body, headers=key)
    if allowed:
        assert r.status_code < 400, r.text
    else:
        assert (r.status_code, r.json()["code"]) in {(403, "forbidden"), (400, "invalid_request")}
        if body is None or (method == "PUT" and "reply" in path):
            assert r.status_code == 403


async def test_keys_are_shown_once_stored_hashed_and_revocable(
    api: Api, redis_client: Any, prefix: str
) -> None:
    await api.company()
    created = await api.client.post(
        "/v1/companies/acme/api-keys", json={"role": "dashboard", "label": "zendesk"}, headers=ADMIN
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) >= {"id", "key", "role", "label", "created_at"}
    assert len(body["key"]) >= 40  # ≥ 128 random bits
    secret = body["key"]
    # Nothing in Redis holds the secret itself.
    async for name in redis_client.scan_iter(match=f"{prefix}*"):
        kind = await redis_client.type(name)
        dump = await redis_client.hgetall(name) if kind == "hash" else {}
        raw = await redis_client.get(name) if kind == "string" else ""
        assert secret not in name
        assert secret not in str(dump)
        assert secret not in str(raw)
    listed = await api.client.get("/v1/companies/acme/api-keys", headers=ADMIN)
    assert [k["id"] for k in listed.json()["items"]] == [body["id"]]
    assert "key" not in listed.json()["items"][0]
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await api.client.get("/v1/companies/acme", headers=headers)).status_code == 200
    r = await api.client.delete(f"/v1/companies/acme/api-keys/{body['id']}", headers=ADMIN)
    assert r.status_code == 204
    r = await api.client.get("/v1/companies/acme", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    r = await api.client.delete(f"/v1/companies/acme/api-keys/{body['id']}", headers=ADMIN)
    assert (r.status_code, r.json()["code"]) == (404, "api_key_not_found")


async def test_company_put_is_201_then_200_and_validates(api: Api) -> None:
    first = await api.client.put(
        "/v1/companies/acme", json={**_company(), "languages": ["SV", "nb"]}, headers=ADMIN
    )
    assert first.status_code == 201
    assert first.json()["languages"] == ["sv", "no"]
    again = await api.client.put("/v1/companies/acme", json=_company(), headers=ADMIN)
    assert again.status_code == 200
    for bad in (
        {**_company(), "plan": "gold"},
        {**_company(), "languages": []},
        {**_company(), "languages": ["xx"] * 21},
        {**_company(), "languages": ["english"]},
        {**_company(), "brand_voice": "x" * 1001},
        {**_company(), "signature": "x" * 201},
        {**_company(), "contract_start": "2026-11-01T00:00:00"},  # no offset
    ):
        r = await api.client.put("/v1/companies/acme", json=bad, headers=ADMIN)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_request"), bad


def _company() -> dict[str, Any]:
    return {
        "name": "Acme AB",
        "plan": "enterprise",
        "contract_start": "2026-11-01T00:00:00Z",
        "languages": ["sv", "en"],
    }


async def test_every_response_has_a_request_id(api: Api) -> None:
    r = await api.client.get("/v1/companies/acme", headers={"X-Request-ID": "trace-123"})
    assert r.status_code == 401
    assert r.headers["x-request-id"] == "trace-123"
    r = await api.client.get("/healthz")
    assert len(r.headers["x-request-id"]) >= 16
    r = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"

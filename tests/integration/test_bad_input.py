"""Bad input at the HTTP edge: every error is a problem body with a ``code``, and never a 5xx.

Oversized, mistyped, mis-encoded, deeply nested or huge bodies; path ids outside the allowed
alphabet; extreme ``since``/``until`` on the statistics endpoints; unknown fields (ignored) and
wrong types (400 ``invalid_request`` naming the field).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import ADMIN, COMPANY, REVIEW, Api

PROBLEM = "application/problem+json"
JSON = {**ADMIN, "Content-Type": "application/json"}
MAX_BODY = 64 * 1024
REVIEW_PATH = "/v1/companies/acme/reviews/r1"


@pytest.fixture
async def seeded(api: Api, llm: respx.MockRouter) -> dict[str, str]:
    """A company, an eligible review and one draft of it: ids for the paths below."""
    await api.company(languages=["en"])
    await api.review()
    r = await api.generate()
    assert r.status_code == 201, r.text
    return {"draft_id": r.json()["id"]}


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), (r.headers, r.text)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["code"], str)
    assert body["code"]
    assert all(body[k] for k in ("type", "title", "detail")), body
    if code is not None:
        assert body["code"] == code, body
    return body


def problem_failure(
    what: str, r: httpx.Response, status: int, code: str, field: str | None = None
) -> str | None:
    """Why ``r`` is not the expected problem response (for loops that report every case)."""
    if r.status_code != status or not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"{what}: {r.status_code} {r.headers.get('content-type')} {r.text[:200]}"
    body = r.json()
    if body.get("code") != code or not all(body.get(k) for k in ("type", "title", "detail")):
        return f"{what}: {body}"
    if field is not None and field not in body["detail"]:
        return f"{what}: the detail does not name {field!r}: {body['detail']}"
    return None


def assert_client_error(r: httpx.Response) -> dict[str, Any]:
    """A 4xx problem with a code: never a 5xx, never a bare error."""
    assert 400 <= r.status_code < 500, r.text
    return assert_problem(r, r.status_code)


# --------------------------------------------------------------------------------------------
# Size
# --------------------------------------------------------------------------------------------


def _review_body_of(size: int) -> bytes:
    """A valid review JSON body of exactly ``size`` bytes (padded in an unknown field)."""
    base = json.dumps({**REVIEW, "padding": ""}).encode()
    body = base.replace(b'"padding": ""', b'"padding": "' + b"x" * (size - len(base)) + b'"')
    assert len(body) == size
    return body


async def test_body_of_exactly_64_kib_is_accepted(api: Api, seeded: dict[str, str]) -> None:
    r = await api.client.put(REVIEW_PATH, content=_review_body_of(MAX_BODY), headers=JSON)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("size", [MAX_BODY + 1, 65 * 1024 + 1, 1024 * 1024])
async def test_oversized_body_is_413(
    api: Api, seeded: dict[str, str], llm: respx.MockRouter, size: int
) -> None:
    calls = llm["chat"].call_count
    failures = []
    for method, path in [
        ("PUT", "/v1/companies/acme"),
        ("PUT", REVIEW_PATH),
        ("POST", f"{REVIEW_PATH}/drafts"),
        ("PUT", f"{REVIEW_PATH}/reply"),
    ]:
        r = await api.client.request(method, path, content=_review_body_of(size), headers=JSON)
        failures.append(problem_failure(f"{method} {path}", r, 413, "payload_too_large"))
    assert not list(filter(None, failures)), failures
    assert llm["chat"].call_count == calls


@pytest.mark.parametrize("path", [REVIEW_PATH, f"{REVIEW_PATH}/drafts"])
async def test_oversized_chunked_body_without_a_length_is_413(
    api: Api, seeded: dict[str, str], llm: respx.MockRouter, path: str
) -> None:
    """Transfer-Encoding: chunked, so the size is only known while reading."""

    async def body() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b" " * 1024

    calls = llm["chat"].call_count
    method = "POST" if path.endswith("/drafts") else "PUT"
    r = await api.client.request(method, path, content=body(), headers=JSON)
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "payload_too_large")
    assert llm["chat"].call_count == calls


# --------------------------------------------------------------------------------------------
# Content type and encoding
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"type=company&stars=2&text=hello"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n"),
        ("application/xml", b"<review><stars>2</stars></review>"),
        ("text/plain", b"five stars, would buy again"),
        ("application/octet-stream", b"\x00\x01\x02\x03"),
    ],
)
async def test_body_that_is_not_json_is_a_clear_4xx(
    api: Api, seeded: dict[str, str], content_type: str, content: bytes
) -> None:
    headers = {**ADMIN, "Content-Type": content_type}
    for method, path in [("PUT", REVIEW_PATH), ("POST", f"{REVIEW_PATH}/drafts")]:
        r = await api.client.request(method, path, content=content, headers=headers)
        body = assert_client_error(r)
        assert r.status_code in (400, 415), (path, body)
        assert body["code"] in ("invalid_request", "unsupported_media_type"), (path, body)


# Byte sequences that are not UTF-8: stray bytes, a truncated sequence, an encoded surrogate
# (CESU-8), an overlong encoding.
INVALID_UTF8 = [b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf"]
# Each endpoint with a body whose known string field gets the bad bytes (an unknown field may
# rightly be skipped without being decoded).
UTF8_TARGETS = [
    ("PUT", "/v1/companies/acme", {**COMPANY, "name": "Acme @@"}),
    ("PUT", REVIEW_PATH, {**REVIEW, "text": "The parcel was late @@ and broken."}),
    ("POST", f"{REVIEW_PATH}/drafts", {"guidance": "mention the courier @@"}),
    ("POST", "/v1/companies/acme/api-keys", {"role": "agent", "label": "zendesk @@"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), UTF8_TARGETS, ids=[f"{m} {p}" for m, p, _ in UTF8_TARGETS]
)
async def test_invalid_utf8_is_400(
    api: Api, seeded: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> None:
    failures = []
    for bad in INVALID_UTF8:
        content = json.dumps(body, ensure_ascii=False).encode().replace(b"@@", bad)
        r = await api.client.request(method, path, content=content, headers=JSON)
        failures.append(problem_failure(repr(bad), r, 400, "invalid_request"))
    assert not list(filter(None, failures)), failures


MALFORMED_JSON = [
    b"{",
    b'{"type": "company",}',
    b"null",
    b"[]",
    b'"a string"',
    b"12",
    b'{"stars": NaN}',
    b'{"text": "\\ud800 lone surrogate"}',
    b"\x00\x00\x00{",
]


async def test_malformed_json_is_400(api: Api, seeded: dict[str, str]) -> None:
    failures = []
    for content in MALFORMED_JSON:
        r = await api.client.put(REVIEW_PATH, content=content, headers=JSON)
        failures.append(problem_failure(repr(content), r, 400, "invalid_request"))
    assert not list(filter(None, failures)), failures


# --------------------------------------------------------------------------------------------
# Deep and huge JSON
# --------------------------------------------------------------------------------------------


def _deep(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


@pytest.mark.parametrize("depth", [64, 500])
async def test_moderately_deep_json_in_an_unknown_field_is_ignored(
    api: Api, seeded: dict[str, str], depth: int
) -> None:
    body = json.dumps(REVIEW)[:-1] + ', "nested": ' + _deep(depth) + "}"
    r = await api.client.put(REVIEW_PATH, content=body, headers=JSON)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("depth", [64, 500])
async def test_deep_json_where_a_string_belongs_is_400(
    api: Api, seeded: dict[str, str], depth: int
) -> None:
    content = json.dumps(REVIEW)[:-1] + ', "text": ' + _deep(depth) + "}"
    r = await api.client.put(REVIEW_PATH, content=content, headers=JSON)
    body = assert_problem(r, 400, "invalid_request")
    assert "text" in body["detail"]


DEEP_BODIES = {
    "arrays": _deep(20_000),
    "objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "in_a_field": json.dumps(REVIEW)[:-1] + ', "nested": ' + _deep(20_000) + "}",
}


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/v1/companies/acme"), ("PUT", REVIEW_PATH), ("POST", f"{REVIEW_PATH}/drafts")],
)
async def test_very_deep_json_is_400(
    api: Api, seeded: dict[str, str], method: str, path: str, shape: str
) -> None:
    content = DEEP_BODIES[shape].encode()
    assert len(content) < MAX_BODY
    r = await api.client.request(method, path, content=content, headers=JSON)
    assert_problem(r, 400, "invalid_request")


async def test_huge_array_in_an_unknown_field_is_ignored(api: Api, seeded: dict[str, str]) -> None:
    r = await api.client.put(REVIEW_PATH, json={**REVIEW, "extra": [0] * 20_000}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert "extra" not in r.json()


async def test_huge_languages_array_is_400_naming_the_field(api: Api) -> None:
    r = await api.client.put(
        "/v1/companies/acme", json={**COMPANY, "languages": ["en"] * 10_000}, headers=ADMIN
    )
    body = assert_problem(r, 400, "invalid_request")
    assert "languages" in body["detail"]


@pytest.mark.parametrize(
    "content",
    [
        json.dumps([0] * 20_000),
        json.dumps([{"text": "x"}] * 4_000),
        json.dumps({f"k{i}": i for i in range(4_000)}),
    ],
    ids=["ints", "objects", "wide_object"],
)
async def test_huge_json_of_the_wrong_shape_is_a_clear_answer(
    api: Api, seeded: dict[str, str], content: str
) -> None:
    for method, path in [("PUT", REVIEW_PATH), ("POST", f"{REVIEW_PATH}/drafts")]:
        r = await api.client.request(method, path, content=content, headers=JSON)
        if content.startswith("{") and path.endswith("/drafts"):
            assert r.status_code == 201, r.text  # unknown fields only: an empty body, ignored
        else:
            assert_problem(r, 400, "invalid_request")


# --------------------------------------------------------------------------------------------
# Path ids
# --------------------------------------------------------------------------------------------

BAD_IDS = [
    "a b",
    "a@b",
    "å",
    "a;b",
    "a,b",
    "a+b",
    "a*b",
    "a'b",
    'a"b',
    "<script>",
    "a%00b",
    "a%0Ab",
    "~user",
    "x" * 129,
    "é" * 64,
]


def _paths(company: str, review: str, draft: str) -> list[tuple[str, str]]:
    base = f"/v1/companies/{company}/reviews/{review}"
    return [
        ("GET", f"/v1/companies/{company}"),
        ("PUT", f"/v1/companies/{company}"),
        ("GET", base),
        ("PUT", base),
        ("GET", f"{base}/eligibility"),
        ("POST", f"{base}/drafts"),
        ("GET", f"{base}/drafts"),
        ("GET", f"{base}/drafts/{draft}"),
        ("PATCH", f"{base}/drafts/{draft}"),
        ("POST", f"{base}/drafts/{draft}/feedback"),
        ("PUT", f"{base}/reply"),
        ("GET", f"/v1/companies/{company}/feedback/stats"),
    ]


def _body_for(method: str, path: str) -> Any:
    if method == "PUT" and path.count("/") == 3:
        return COMPANY
    if method == "PUT" and path.endswith("/reply"):
        return {"text": "Thanks!", "agent_id": "a-1"}
    if method == "PUT":
        return REVIEW
    if method == "PATCH":
        return {"text": "edited", "agent_id": "a-1"}
    if path.endswith("/feedback"):
        return {"vote": "up", "agent_id": "a-1"}
    return None


@pytest.mark.parametrize("where", ["company_id", "review_id", "draft_id"])
async def test_id_outside_the_alphabet_is_400(
    api: Api, seeded: dict[str, str], llm: respx.MockRouter, where: str
) -> None:
    calls = llm["chat"].call_count
    failures = []
    for bad in BAD_IDS:
        ids = {"company_id": "acme", "review_id": "r1", "draft_id": seeded["draft_id"]}
        ids[where] = bad
        for method, path in _paths(ids["company_id"], ids["review_id"], ids["draft_id"]):
            if bad in path:
                r = await api.client.request(
                    method, path, json=_body_for(method, path), headers=ADMIN
                )
                what = f"{method} {path}"
                failures.append(problem_failure(what, r, 400, "invalid_request", where))
    assert failures
    assert not list(filter(None, failures)), failures
    assert llm["chat"].call_count == calls


async def test_id_of_128_characters_is_allowed_and_129_is_not(api: Api, llm: Any) -> None:
    longest = "A1._:-" + "z" * 122
    assert len(longest) == 128
    r = await api.client.put(f"/v1/companies/{longest}", json=COMPANY, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == longest
    review = f"/v1/companies/{longest}/reviews/{longest}"
    r = await api.client.put(review, json=REVIEW, headers=ADMIN)
    assert r.status_code == 201, r.text
    r = await api.client.put(f"/v1/companies/{longest}z", json=COMPANY, headers=ADMIN)
    body = assert_problem(r, 400, "invalid_request")
    assert "company_id" in body["detail"]


async def test_bad_id_without_a_token_is_401_first(api: Api) -> None:
    r = await api.client.get("/v1/companies/a@b/reviews/r1")
    assert_problem(r, 401, "unauthorized")


async def test_encoded_slash_in_an_id_is_a_clear_4xx(api: Api, seeded: dict[str, str]) -> None:
    # The router decodes %2F before matching, so this is "no such route" (404), not a 400.
    r = await api.client.get("/v1/companies/a%2Fb/reviews/r1", headers=ADMIN)
    assert_client_error(r)


# --------------------------------------------------------------------------------------------
# since / until on the statistics endpoints
# --------------------------------------------------------------------------------------------

STATS = ["/v1/feedback/stats", "/v1/companies/acme/feedback/stats"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01T00:00:00Z"},
        {"since": "0001-01-01T14:00:00+14:00"},
        {"until": "0001-01-01T00:00:00Z"},
        {"since": "9999-12-31T23:59:59Z"},
        {"until": "9999-12-31T23:59:59Z"},
        {"until": "9999-12-31T09:59:59-14:00"},
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"since": "1969-12-31T23:59:59Z", "until": "1970-01-01T00:00:01Z"},
        {"since": "2026-11-20T00:00:00.123456+05:30"},
    ],
)
async def test_extreme_range_is_answered(
    api: Api, seeded: dict[str, str], query: dict[str, str]
) -> None:
    for path in STATS:
        r = await api.client.get(path, params=query, headers=ADMIN)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert body["drafts"] >= 0
        assert body["since"].endswith("Z")
        assert body["until"].endswith("Z")
        assert body["since"] <= body["until"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2026-11-20T00:00:00Z", "until": "2026-11-19T00:00:00Z"},
        {"since": "2026-11-20T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
        {"since": "9999-12-31T23:59:59Z", "until": "0001-01-01T00:00:00Z"},
    ],
)
async def test_until_not_after_since_is_400(
    api: Api, seeded: dict[str, str], query: dict[str, str]
) -> None:
    for path in STATS:
        r = await api.client.get(path, params=query, headers=ADMIN)
        body = assert_problem(r, 400, "invalid_request")
        assert "until" in body["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("since", "yesterday"),
        ("since", "2026-11-20"),
        ("until", "2026-13-01T00:00:00Z"),
        ("until", "2026-11-20T25:00:00Z"),
        ("since", "10000-01-01T00:00:00Z"),
        # Instants UTC cannot write (before year 1 or after 9999 in UTC): test_instants.py
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59:59-14:00"),
        ("since", "1e20"),
        ("until", ""),
        ("since", "2026-11-20T00:00:00+25:00"),
    ],
)
async def test_unparseable_range_is_400_naming_the_field(
    api: Api, seeded: dict[str, str], field: str, value: str
) -> None:
    for path in STATS:
        r = await api.client.get(path, params={field: value}, headers=ADMIN)
        body = assert_problem(r, 400, "invalid_request")
        assert field in body["detail"]


@pytest.mark.parametrize("field", ["since", "until"])
async def test_range_without_an_offset_is_400(api: Api, seeded: dict[str, str], field: str) -> None:
    failures = []
    for path in STATS:
        r = await api.client.get(path, params={field: "2026-11-20T00:00:00"}, headers=ADMIN)
        failures.append(problem_failure(path, r, 400, "invalid_request", field))
    assert not list(filter(None, failures)), failures


# --------------------------------------------------------------------------------------------
# Unknown fields are ignored; wrong types name the field
# --------------------------------------------------------------------------------------------


async def test_unknown_fields_are_ignored(api: Api, seeded: dict[str, str]) -> None:
    extra = {"zzz_unknown": {"nested": [1, 2, 3]}, "id": "forged", "company_id": "other"}
    draft = f"{REVIEW_PATH}/drafts/{seeded['draft_id']}"
    r = await api.client.put("/v1/companies/acme", json={**COMPANY, **extra}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "acme"
    r = await api.client.put(REVIEW_PATH, json={**REVIEW, **extra}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["company_id"]) == ("r1", "acme")
    assert "zzz_unknown" not in r.json()
    r = await api.client.post(
        "/v1/companies/acme/api-keys", json={"role": "agent", **extra}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    r = await api.client.post(
        f"{REVIEW_PATH}/drafts", json={"guidance": "be kind", **extra}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    r = await api.client.patch(
        draft, json={"text": "Edited.", "agent_id": "a-1", **extra}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(
        f"{draft}/feedback", json={"vote": "up", "agent_id": "a-1", **extra}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    r = await api.client.put(
        f"{REVIEW_PATH}/reply", json={"text": "Thanks!", "agent_id": "a-1", **extra}, headers=ADMIN
    )
    assert r.status_code == 201, r.text


WRONG_TYPES: list[tuple[str, str, dict[str, Any], str]] = [
    ("PUT", "/v1/companies/acme", {**COMPANY, "name": 12}, "name"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "plan": "gold"}, "plan"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "languages": "sv"}, "languages"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "languages": ["sv", 3]}, "languages"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "languages": []}, "languages"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "contract_start": "soon"}, "contract_start"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "brand_voice": "x" * 1001}, "brand_voice"),
    ("PUT", "/v1/companies/acme", {**COMPANY, "signature": ["Anna"]}, "signature"),
    ("PUT", REVIEW_PATH, {**REVIEW, "stars": "two"}, "stars"),
    ("PUT", REVIEW_PATH, {**REVIEW, "stars": 2.5}, "stars"),
    ("PUT", REVIEW_PATH, {**REVIEW, "stars": 6}, "stars"),
    ("PUT", REVIEW_PATH, {**REVIEW, "stars": True}, "stars"),
    ("PUT", REVIEW_PATH, {**REVIEW, "stars": 10**40}, "stars"),
    ("PUT", REVIEW_PATH, {**REVIEW, "type": "store"}, "type"),
    ("PUT", REVIEW_PATH, {**REVIEW, "text": None}, "text"),
    ("PUT", REVIEW_PATH, {**REVIEW, "text": "x" * 10_001}, "text"),
    ("PUT", REVIEW_PATH, {**REVIEW, "reported": "no"}, "reported"),
    ("PUT", REVIEW_PATH, {**REVIEW, "created_at": "2026-11-20T08:00:00"}, "created_at"),
    ("PUT", REVIEW_PATH, {**REVIEW, "language": "english"}, "language"),
    ("PUT", REVIEW_PATH, {k: v for k, v in REVIEW.items() if k != "text"}, "text"),
    ("PUT", REVIEW_PATH, {k: v for k, v in REVIEW.items() if k != "stars"}, "stars"),
    ("POST", f"{REVIEW_PATH}/drafts", {"guidance": 5}, "guidance"),
    ("POST", f"{REVIEW_PATH}/drafts", {"guidance": "x" * 501}, "guidance"),
    ("POST", "/v1/companies/acme/api-keys", {"role": "root"}, "role"),
    ("POST", "/v1/companies/acme/api-keys", {"role": "agent", "label": 7}, "label"),
    ("PATCH", "DRAFT", {"text": "", "agent_id": "a-1"}, "text"),
    ("PATCH", "DRAFT", {"text": "ok", "agent_id": 17}, "agent_id"),
    ("POST", "DRAFT/feedback", {"vote": "sideways", "agent_id": "a-1"}, "vote"),
    ("POST", "DRAFT/feedback", {"vote": "up", "agent_id": "a-1", "reason": "meh"}, "reason"),
    ("POST", "DRAFT/feedback", {"vote": "up"}, "agent_id"),
    ("POST", "DRAFT/feedback", {"vote": "up", "agent_id": "a", "comment": "x" * 2001}, "comment"),
    ("PUT", f"{REVIEW_PATH}/reply", {"text": "Thanks!"}, "agent_id"),
    ("PUT", f"{REVIEW_PATH}/reply", {"text": 3, "agent_id": "a-1"}, "text"),
]


WRONG_TYPE_CASES = [
    *(
        pytest.param(*case, id=f"{case[0]} {case[1].rsplit('/', 1)[-1]} {case[3]}")
        for case in WRONG_TYPES
    ),
    *(
        # Lax conversion would accept these (a string for a number, a number for a date).
        pytest.param("PUT", path, body, field, id=f"coerced {field}={value!r}")
        for path, base, field, value in [
            (REVIEW_PATH, REVIEW, "stars", "2"),
            (REVIEW_PATH, REVIEW, "reported", "true"),
            (REVIEW_PATH, REVIEW, "reported", 1),
            (REVIEW_PATH, REVIEW, "created_at", 1_700_000_000),
            (REVIEW_PATH, REVIEW, "created_at", "1700000000"),
            ("/v1/companies/acme", COMPANY, "contract_start", 0),
        ]
        for body in [{**base, field: value}]
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), WRONG_TYPE_CASES)
async def test_wrong_type_is_400_naming_the_field(
    api: Api,
    seeded: dict[str, str],
    llm: respx.MockRouter,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    path = path.replace("DRAFT", f"{REVIEW_PATH}/drafts/{seeded['draft_id']}")
    calls = llm["chat"].call_count
    r = await api.client.request(method, path, json=body, headers=ADMIN)
    problem = assert_problem(r, 400, "invalid_request")
    assert field in problem["detail"], problem
    assert llm["chat"].call_count == calls


# --------------------------------------------------------------------------------------------
# Headers and routes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "x" * 256], ids=["empty", "too_long"])
async def test_bad_idempotency_key_is_400(
    api: Api, seeded: dict[str, str], llm: respx.MockRouter, key: str
) -> None:
    calls = llm["chat"].call_count
    r = await api.generate(headers={**ADMIN, "Idempotency-Key": key})
    assert_client_error(r)
    assert llm["chat"].call_count == calls


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer",
        b"Token abc",
        b"Basic dXNlcjpwYXNz",
        b"bearer rak_" + b"x" * 500,
        "Bearer \u00e9t\u00e9".encode(),
        "Bearer \u00e9t\u00e9".encode("latin-1"),
        b"Bearer rak_" + "\u00e9".encode() * 20,
    ],
)
async def test_malformed_authorization_is_401(
    api: Api, seeded: dict[str, str], authorization: bytes
) -> None:
    r = await api.client.get(REVIEW_PATH, headers={"Authorization": authorization})
    assert_problem(r, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing-here"),
        ("DELETE", "/v1/companies/acme"),
        ("POST", REVIEW_PATH),
        ("TRACE", "/v1/companies/acme"),
    ],
)
async def test_unknown_route_or_method_is_a_problem(
    api: Api, seeded: dict[str, str], method: str, path: str
) -> None:
    r = await api.client.request(method, path, headers=ADMIN)
    assert_client_error(r)


async def test_a_whole_number_written_with_a_fraction_is_an_integer(
    api: Api, seeded: dict[str, str]
) -> None:
    # JSON Schema's integer (and so the OpenAPI schema's): 4.0 is one, 4.5 is not.
    r = await api.client.put(REVIEW_PATH, json={**REVIEW, "stars": 4.0}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["stars"] == 4
    r = await api.client.put(REVIEW_PATH, json={**REVIEW, "stars": 4.5}, headers=ADMIN)
    assert "stars" in assert_problem(r, 400, "invalid_request")["detail"]

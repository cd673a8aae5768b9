"""Instants at the edges of the calendar: refused when UTC cannot write them, answered (never a
500) when they only bound a range; the review list's own cursor is always taken back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, COMPANY, REVIEW, Api

# Python holds these, but in UTC they fall before year 1 or after year 9999.
OUTSIDE_UTC = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+00:01",
    "0001-01-01T13:59:59.999999+14:00",
    "9999-12-31T23:59:59-00:01",
    "9999-12-31T23:00:00-14:00",
]
# The first and last instants UTC can write, however they are written.
EDGES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T14:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T09:59:59+14:00",
]
STATS = ["/v1/companies/acme/feedback/stats", "/v1/feedback/stats"]


def _names_field(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_request"
    assert f"'{field}'" in body["detail"], body


@pytest.mark.parametrize("instant", OUTSIDE_UTC)
async def test_an_instant_utc_cannot_write_is_refused_naming_the_field(
    api: Api, instant: str
) -> None:
    await api.company()
    r = await api.client.put(
        "/v1/companies/acme/reviews/r1", json={**REVIEW, "created_at": instant}, headers=ADMIN
    )
    _names_field(r, "created_at")
    r = await api.client.put(
        "/v1/companies/other", json={**COMPANY, "contract_start": instant}, headers=ADMIN
    )
    _names_field(r, "contract_start")
    for path in STATS:
        for field in ("since", "until"):
            _names_field(await api.client.get(path, params={field: instant}, headers=ADMIN), field)


async def test_the_list_pages_through_every_edge_with_its_own_cursor(api: Api) -> None:
    await api.company()
    ids = {}
    for n, instant in enumerate([*EDGES, *OUTSIDE_UTC, "2026-11-20T08:00:00Z"]):
        r = await api.client.put(
            f"/v1/companies/acme/reviews/r{n}",
            json={**REVIEW, "created_at": instant},
            headers=ADMIN,
        )
        if r.status_code in (200, 201):
            ids[f"r{n}"] = instant
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await api.client.get("/v1/companies/acme/reviews", params=params, headers=ADMIN)
        assert r.status_code == 200, (seen, r.text)  # the service takes its own cursor back
        page = r.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(EDGES) + 1
    # Newest first: the two of 9999 (23:59:59.999999Z, then 19:59:59Z), 2026, then year 1
    # (14:00Z, then 00:00Z twice: equal instants by review id, descending).
    newest_2026 = f"r{len(EDGES) + len(OUTSIDE_UTC)}"
    assert seen == ["r3", "r4", newest_2026, "r2", "r1", "r0"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": EDGES[0], "until": EDGES[3]},
        {"since": EDGES[2], "until": EDGES[4]},
        {"since": EDGES[3]},
        {"since": EDGES[3], "interval": "day"},
        {"until": EDGES[0]},
        {"until": EDGES[1], "interval": "day"},
        {"since": "9999-12-30T00:00:00Z", "until": EDGES[3], "interval": "day"},
    ],
)
async def test_stats_over_the_widest_ranges_are_answered(api: Api, query: dict[str, str]) -> None:
    await api.company()
    for path in STATS:
        r = await api.client.get(path, params=query, headers=ADMIN)
        assert r.status_code == 200, (path, query, r.text)
        body = r.json()
        assert body["drafts"] == 0
        assert body["since"] <= body["until"]
        assert body.get("series", []) == []  # nothing can have happened in these ranges


async def _analyst_session(api: Api) -> httpx.AsyncClient:
    """The client signed in to the desk with an analyst key of acme (the cookie it keeps)."""
    await api.company()
    key = (await api.key("acme", "analyst"))["Authorization"].removeprefix("Bearer ")
    r = await api.client.post("/desk/sign-in", data={"key": key})
    assert r.status_code == 303, r.text
    return api.client


@pytest.mark.parametrize(
    "query",
    [
        {"until": "9999-12-31"},
        {"since": "9999-12-31", "until": "9999-12-31"},
        {"since": "9999-12-01", "until": "9999-12-31", "interval": "week"},
        {"until": "0001-01-01"},
        {"until": "0001-01-05"},
        {"since": "0001-01-01", "until": "0001-01-31", "interval": "week"},
        {"since": "0001-01-01", "until": "9999-12-31"},
        {"since": "0001-01-01", "until": "9999-12-31", "interval": "week"},
    ],
)
async def test_insights_and_their_csv_answer_the_widest_dates(
    api: Api, query: dict[str, str]
) -> None:
    desk = await _analyst_session(api)
    for path in ("/insights", "/insights/export.csv"):
        r = await desk.get(path, params=query)
        # A correct answer, or a 400 (from 2000 on, too many days for a chart): never a 500.
        assert r.status_code in (200, 400), (path, query, r.status_code, r.text[:300])
    page = await desk.get("/insights", params=query)
    if page.status_code == 200:
        assert f'value="{query["until"]}"' in page.text

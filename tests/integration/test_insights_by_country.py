"""The insights page and its CSV filtered and split by the reviewer's country (issue 19, item 3):
reviews from France, from Sweden and without a country, read by an analyst on the page, in the
table and in the CSV, against the API's numbers for the same filter."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, Api
from tests.desk_client import DeskClient
from tests.integration.test_stats_by_country import breakdown, draft, vote

pytestmark = pytest.mark.usefixtures("llm")

SV_TEXT = "Paketet kom tre veckor för sent och ingen svarade på mina mejl."


async def activity(api: Api) -> None:
    """France: 2 drafts, both thumbs up. Sweden: 1 draft, thumbs down. No country: 2 drafts,
    one up and one down."""
    await api.company(languages=["sv", "en"])
    await api.review("fr", language="en", country="FR")
    await api.review("se", language="sv", country="SE", text=SV_TEXT)
    await api.review("nowhere", language="en")
    for made in [await draft(api, "fr") for _ in range(2)]:
        await vote(api, made, "a-1", "up", None)
    await vote(api, await draft(api, "se"), "a-1", "down", "wrong_tone")
    await vote(api, await draft(api, "nowhere"), "a-1", "up", None)
    await vote(api, await draft(api, "nowhere"), "a-1", "down", "too_long")


@pytest.fixture
async def analyst(api: Api) -> AsyncIterator[DeskClient]:
    await activity(api)
    r = await api.client.post(
        "/v1/companies/acme/api-keys", json={"role": "analyst"}, headers=ADMIN
    )
    desk = DeskClient(httpx.AsyncClient(base_url=api.client.base_url, timeout=30))
    await desk.sign_in(r.json()["key"])
    try:
        yield desk
    finally:
        await desk.client.aclose()


async def page(desk: DeskClient, speak: str = "en", **query: str) -> str:
    """The insights page for ``query``, in the language ``speak``."""
    r = await desk.client.get("/insights", params=query, headers={"Accept-Language": speak})
    assert r.status_code == 200, r.text
    return r.text


def country_options(source: str) -> list[tuple[str, str, bool]]:
    """The Country filter's options: (value, text, selected)."""
    select = re.search(r'<select id="country" name="country">(.*?)</select>', source, re.S)
    assert select, "no Country filter"
    return [
        (value, html.unescape(text), bool(selected))
        for value, selected, text in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1)
        )
    ]


def split_card(source: str) -> list[tuple[str, ...]]:
    """The split by country's rows as shown: country, drafts, up, down, thumbs-up rate."""
    return [
        tuple(html.unescape(cell) for cell in row)
        for row in re.findall(
            r'<tr data-country="[^"]*"><th scope="row">([^<]*)</th><td>([^<]*)</td>'
            r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
            source,
        )
    ]


def table(source: str) -> dict[str, tuple[str, str, str, str]]:
    """The numbers table (section, name, metric, value in words) by its CSV key."""
    found = re.findall(
        r'<tr data-row="([^"]*)"><td>([^<]*)</td><td>([^<]*)</td>'
        r"<td>([^<]*)</td><td>([^<]*)</td></tr>",
        source,
    )
    return {key: tuple(html.unescape(c) for c in cells) for key, *cells in found}  # type: ignore[misc]


async def exported(desk: DeskClient, **query: str) -> dict[str, str]:
    r = await desk.client.get("/insights/export.csv", params=query)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["section", "name", "metric", "value"]
    return {f"{s}/{n}/{m}": v for s, n, m, v in rows[1:]}


async def api_stats(api: Api, **query: str) -> Any:
    """The API's numbers for the page's default range (the last 30 days, today included)."""
    today = datetime.now(UTC).date()
    params = {
        "since": f"{today - timedelta(days=29)}T00:00:00Z",
        "until": f"{today + timedelta(days=1)}T00:00:00Z",
        **query,
    }
    r = await api.client.get("/v1/companies/acme/feedback/stats", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def countries_in(rows: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in rows.items() if k.startswith("country/")}


async def test_the_page_and_csv_split_by_country_with_no_country_as_the_rest(
    api: Api, analyst: DeskClient
) -> None:
    source = await page(analyst)
    assert country_options(source) == [
        ("", "Any country", False),
        ("FR", "France", False),
        ("SE", "Sweden", False),
    ]
    assert split_card(source) == [
        ("France", "2", "2", "0", "100 %"),
        ("Sweden", "1", "0", "1", "0 %"),
        ("No country", "2", "1", "1", "50 %"),
    ]
    assert "Drafts by country" in source and "Thumbs-up rate over time, by country" in source

    # The countries are the API's; no country is what the totals hold beyond them.
    stats = await api_stats(api)
    assert stats["by_country"] == {"FR": breakdown(2, 2, 0), "SE": breakdown(1, 0, 1)}
    assert (stats["drafts"], stats["votes"]) == (5, {"up": 3, "down": 2})

    # The chart's split holds no country too, in the whole range and day by day.
    chart = re.search(
        r'<script type="application/json" id="insights-countries">([^<]*)</script>', source
    )
    assert chart, "no data for the chart by country"
    drawn = json.loads(html.unescape(chart.group(1)))
    split = {"FR": breakdown(2, 2, 0), "SE": breakdown(1, 0, 1), "none": breakdown(2, 1, 1)}
    assert drawn["by_country"] == split
    for name, counts in split.items():  # each day's split adds up to the range's
        for kind, total in counts.items():
            assert sum(b["by_country"].get(name, {}).get(kind, 0) for b in drawn["series"]) == total

    # The table in the page's words, the CSV under its keys: the same numbers.
    shown = table(source)
    assert shown["country/FR/up_rate"] == ("Drafts by country", "France", "Thumbs-up rate", "1")
    assert shown["country/none/drafts"] == ("Drafts by country", "No country", "Drafts", "2")
    csv_rows = await exported(analyst)
    assert countries_in(csv_rows) == {
        "country/FR/drafts": "2",
        "country/FR/up": "2",
        "country/FR/down": "0",
        "country/FR/up_rate": "1",
        "country/SE/drafts": "1",
        "country/SE/up": "0",
        "country/SE/down": "1",
        "country/SE/up_rate": "0",
        "country/none/drafts": "2",
        "country/none/up": "1",
        "country/none/down": "1",
        "country/none/up_rate": "0.5",
    }
    assert {key: cells[3] for key, cells in shown.items()} == csv_rows

    # In Swedish: the countries by their Swedish names.
    swedish = await page(analyst, "sv")
    assert [(v, text) for v, text, _ in country_options(swedish)] == [
        ("", "Alla länder"),
        ("FR", "Frankrike"),
        ("SE", "Sverige"),
    ]
    assert [row[0] for row in split_card(swedish)] == ["Frankrike", "Sverige", "Inget land"]


async def test_the_country_filter_is_the_apis(api: Api, analyst: DeskClient) -> None:
    # Any case, as the API takes it: France only, in the cards, the split, the table and the CSV.
    source = await page(analyst, country="fr")
    france = await api_stats(api, country="FR")
    cards = dict(re.findall(r'<dd data-metric="([a-z_]+)">([^<]*)</dd>', source))
    assert cards["drafts"] == str(france["drafts"]) == "2"
    assert cards["up"] == str(france["votes"]["up"]) == "2"
    assert cards["down"] == "0"
    # France is chosen; Sweden is still offered to switch to.
    assert country_options(source) == [
        ("", "Any country", False),
        ("FR", "France", True),
        ("SE", "Sweden", False),
    ]
    assert split_card(source) == [("France", "2", "2", "0", "100 %")]  # no "no country" here
    assert 'href="/insights/export.csv?' in source and "country=FR" in source
    csv_rows = await exported(analyst, country="FR")
    assert csv_rows["totals//drafts"] == "2" and csv_rows["totals//down"] == "0"
    assert countries_in(csv_rows) == {
        "country/FR/drafts": "2",
        "country/FR/up": "2",
        "country/FR/down": "0",
        "country/FR/up_rate": "1",
    }
    assert {key: cells[3] for key, cells in table(source).items()} == csv_rows

    # A language filter: Swedish drafts are Sweden's only; both countries are still offered.
    swedish = await page(analyst, language="sv")
    assert [v for v, _, _ in country_options(swedish)] == ["", "FR", "SE"]
    assert split_card(swedish) == [("Sweden", "1", "0", "1", "0 %")]
    # A country with nothing in the range is shown as chosen, with nothing to split.
    japan = await page(analyst, country="JP")
    assert ("JP", "Japan", True) in country_options(japan)
    assert split_card(japan) == [] and "No data in this range." in japan


async def test_a_country_the_api_refuses_is_refused_on_the_page(
    api: Api, analyst: DeskClient
) -> None:
    r = await api.client.get(
        "/v1/companies/acme/feedback/stats", params={"country": "XX"}, headers=ADMIN
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    for path in ("/insights", "/insights/export.csv"):
        r = await analyst.client.get(path, params={"country": "XX"})
        assert r.status_code == 400, path
        alert = re.search(r'<p class="alert" role="alert">([^<]*)</p>', r.text)
        assert alert, r.text
        assert html.unescape(alert.group(1)) == (
            "There is no country with the code “XX”: a country is two letters, such as FR. "
            "Choose one from the Country list."
        )
    r = await analyst.client.get(
        "/insights", params={"country": "France"}, headers={"Accept-Language": "sv"}
    )
    assert r.status_code == 400
    assert "Det finns inget land med koden ”France”" in html.unescape(r.text)
    # Said to the signed-in analyst, on the desk's own page (its navigation, Sign out)...
    assert ">Sign out<" in (await analyst.client.get("/insights?country=XX")).text
    # ...while a visitor who is not signed in is sent to sign in, as for any insights.
    r = await api.client.get("/insights", params={"country": "XX"})
    assert r.status_code == 303 and r.headers["location"] == "/desk/sign-in"

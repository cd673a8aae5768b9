"""Insights in a real browser: the analyst's charts, table and CSV show the API's numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import World, shoot, sign_in

pytestmark = pytest.mark.browser


def activity(world: World) -> None:
    """Drafts, votes and publishes on three reviews: something for every chart."""
    agent, _ = world.key("agent")
    headers = {"Authorization": f"Bearer {agent}"}
    base = f"/v1/companies/{world.company_id}/reviews"
    for review_id, language in (("a", "en"), ("b", "en"), ("c", "sv")):
        world.review(review_id, language=language)
    votes = [("a", "up", "helpful"), ("b", "down", "too_long"), ("c", "down", "wrong_tone")]
    for review_id, vote, reason in votes:
        draft = world.generate(review_id)
        r = world.http.post(
            f"{base}/{review_id}/drafts/{draft['id']}/feedback",
            json={"vote": vote, "reason": reason, "agent_id": "anna"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        text = draft["text"] if vote == "up" else "A reply written anew by the agent."
        r = world.http.put(
            f"{base}/{review_id}/reply",
            json={"text": text, "agent_id": "anna", "draft_id": draft["id"]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
    world.generate("a")  # a second draft for one review


def test_insights_show_the_apis_numbers(page: Any, world: World) -> None:
    activity(world)
    key, _ = world.key("analyst")
    sign_in(page, key)
    expect(page).to_have_url(re.compile("/insights$"))
    expect(page.get_by_role("heading", name="Insights · Acme AB")).to_be_visible()
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")
    shoot(page, "insights.png", full_page=False, readme=True)

    api = api_stats(world, key, interval="day")
    assert metric(page, "drafts") == str(api["drafts"]) == "4"
    assert metric(page, "reviews_with_drafts") == str(api["reviews_with_drafts"]) == "3"
    assert metric(page, "up") == str(api["votes"]["up"]) == "1"
    assert metric(page, "down") == str(api["votes"]["down"]) == "2"
    assert metric(page, "published") == str(api["published"]["total"]) == "3"
    assert metric(page, "unedited_share") == "33 %"  # 1 of 3 publishes from a draft unedited
    assert api["published"]["unedited"] == 1 and api["published"]["from_draft"] == 3
    # The table says what the cards say, in words, not the CSV's keys.
    labels = page.locator("tr[data-row='totals//up'] td")
    expect(labels.nth(0)).to_have_text("Totals")
    expect(labels.nth(2)).to_have_text("Thumbs up")
    reason = page.locator("tr[data-row='down_reasons/too_long/votes'] td")
    expect(reason.nth(1)).to_have_text("Too long")
    expect(page.locator("tr[data-row='language/sv/down'] td").nth(1)).to_have_text("Swedish")
    # The thumbs-down chart has the thumbs-down reasons only; the languages are named.
    reasons = page.evaluate("() => Chart.getChart('chart-reasons').data.labels")
    assert reasons == [
        "Wrong tone",
        "Inaccurate",
        "Too long",
        "Too generic",
        "Wrong language",
        "Other",
    ]
    languages = page.evaluate(
        "() => Chart.getChart('chart-language').data.datasets.map((d) => d.label)"
    )
    assert sorted(languages) == ["English", "Swedish"]

    table = table_of(page)
    assert table["down_reasons/too_long/votes"] == str(api["down_reasons"]["too_long"]) == "1"
    assert table["down_reasons/helpful/votes"] == "0"  # the up vote's reason is not a down reason
    assert table["language/sv/down"] == str(api["by_language"]["sv"]["down"]) == "1"
    assert table["language/en/drafts"] == str(api["by_language"]["en"]["drafts"]) == "3"
    assert table["edit_ratio/0/publishes"] == str(api["edit_ratio_histogram"]["0"]) == "1"
    assert table["generations/2/reviews"] == str(api["generations_histogram"]["2"]) == "1"
    assert table["generations/1/reviews"] == str(api["generations_histogram"]["1"]) == "2"
    today = api["series"][-1]
    assert table[f"series/{today['start'][:10]}/drafts"] == str(today["drafts"]) == "4"
    assert len([k for k in table if k.endswith("/drafts") and k.startswith("series/")]) == len(
        api["series"]
    )

    # The CSV holds exactly what the table shows.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = download.value.path()
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    assert rows[0] == ["section", "name", "metric", "value"]
    assert {f"{s}/{n}/{m}": v for s, n, m, v in rows[1:]} == table

    # The language and interval filters: still the API's numbers for the same filter.
    page.get_by_role("combobox", name="Language").select_option("sv")
    page.get_by_label("Interval").select_option("week")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile("language=sv"))
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")
    api = api_stats(world, key, interval="week", language="sv")
    assert metric(page, "drafts") == str(api["drafts"]) == "1"
    assert metric(page, "down") == str(api["votes"]["down"]) == "1"
    weeks = [k for k in table_of(page) if k.startswith("series/") and k.endswith("/drafts")]
    assert len(weeks) == len(api["series"]) >= 5


def test_insights_filtered_and_split_by_country(page: Any, world: World) -> None:
    """Reviews from France and Sweden and one without a country: the split shows each, with
    no country as the rest; choosing France shows the API's numbers for country=FR."""
    agent, _ = world.key("agent")
    headers = {"Authorization": f"Bearer {agent}"}
    base = f"/v1/companies/{world.company_id}/reviews"
    world.review("fr", country="FR")
    world.review("se", country="SE", language="sv")
    world.review("nowhere")
    for review_id, vote in (("fr", "up"), ("fr", "up"), ("se", "down"), ("nowhere", "up")):
        draft = world.generate(review_id)
        r = world.http.post(
            f"{base}/{review_id}/drafts/{draft['id']}/feedback",
            json={"vote": vote, "agent_id": "anna"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
    key, _ = world.key("analyst")
    sign_in(page, key)
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")

    split = page.get_by_role("table", name="Drafts by country")
    expect(split.get_by_role("rowheader")).to_have_text(["France", "Sweden", "No country"])
    rows = split.locator("tbody tr")
    expect(rows.nth(0).get_by_role("cell")).to_have_text(["2", "2", "0", "100 %"])
    expect(rows.nth(1).get_by_role("cell")).to_have_text(["1", "0", "1", "0 %"])
    expect(rows.nth(2).get_by_role("cell")).to_have_text(["1", "1", "0", "100 %"])
    countries = page.evaluate(
        "() => Chart.getChart('chart-country').data.datasets.map((d) => d.label)"
    )
    assert sorted(countries) == ["France", "No country", "Sweden"]
    split.scroll_into_view_if_needed()
    shoot(page, "insights-by-country.png")

    country = page.get_by_role("combobox", name="Country")
    expect(country.locator("option")).to_have_text(["Any country", "France", "Sweden"])
    country.select_option(label="France")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile("country=FR"))
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")
    expect(page.get_by_role("combobox", name="Country")).to_have_value("FR")
    api = api_stats(world, key, interval="day", country="FR")
    assert metric(page, "drafts") == str(api["drafts"]) == "2"
    assert metric(page, "up") == str(api["votes"]["up"]) == "2"
    assert metric(page, "down") == str(api["votes"]["down"]) == "0"
    expect(split.get_by_role("rowheader")).to_have_text(["France"])
    shoot(page, "insights-country-france.png")

    # The CSV is France's too, as the table shows it.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), encoding="utf-8") as f:
        exported = {f"{s}/{n}/{m}": v for s, n, m, v in list(csv.reader(f))[1:]}
    assert exported == table_of(page)
    assert exported["totals//drafts"] == "2"
    assert sorted(k for k in exported if k.startswith("country/")) == [
        "country/FR/down",
        "country/FR/drafts",
        "country/FR/up",
        "country/FR/up_rate",
    ]

    # In Swedish, the same filter with the countries' Swedish names.
    page.get_by_role("link", name="Svenska").click()
    country = page.get_by_role("combobox", name="Land")
    expect(country.locator("option")).to_have_text(["Alla länder", "Frankrike", "Sverige"])
    expect(country).to_have_value("FR")
    shoot(page, "insights-country-sv.png", full_page=False)

    # A code the API refuses (a link made by hand) is refused on the page, in words.
    page.goto("/insights?country=XX")
    expect(page.get_by_role("alert")).to_have_text(
        "Det finns inget land med koden ”XX”: ett land anges med två bokstäver, till exempel FR. "
        "Välj ett i listan Land."
    )
    shoot(page, "insights-country-refused.png", full_page=False)


def metric(page: Any, name: str) -> str:
    return str(page.locator(f"[data-metric={name}]").inner_text())


def table_of(page: Any) -> dict[str, str]:
    return {
        row.get_attribute("data-row"): str(row.locator("td").nth(3).text_content())
        for row in page.locator("tr[data-row]").all()
    }


def api_stats(world: World, key: str, **filters: str) -> dict[str, Any]:
    """The API's stats for the page's default range: the last 30 days, today included."""
    today = datetime.now(UTC).date()
    since, until = today - timedelta(days=29), today + timedelta(days=1)
    r = world.http.get(
        f"/v1/companies/{world.company_id}/feedback/stats",
        params={"since": f"{since}T00:00:00Z", "until": f"{until}T00:00:00Z", **filters},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_insights_are_for_analysts_and_the_admin(page: Any, world: World) -> None:
    key, _ = world.key("agent")
    sign_in(page, key)
    expect(page.get_by_role("link", name="Insights")).to_have_count(0)
    page.goto("/insights")
    expect(page.get_by_role("alert")).to_have_text(
        "Insights are for analysts and the platform admin; your key's role is Agent."
    )

"""Drafts waiting in the inbox (issue 20), on the desk's pages and in the insights: a review the
company's rules drafted in the background shows "Draft ready" in the inbox, under its own filter,
and opens with that draft in the Reply box; insights split drafts by origin with the thumbs-up
rate of each. Driven by form posts and page reads, with the job loop in the serving process
(``run_jobs``); the same flows run in Chromium in tests/browser/test_draft_ready.py."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import respx

from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve
from tests.desk_client import DeskClient
from tests.integration.test_desk_truth import Page
from tests.integration.test_draft_rules import drafts_of, rules_on, until

RULE_WORDS = "drafted by the company's rules"


def recent(hours: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return dataclasses.replace(base_settings, worker_concurrency=10)


@pytest.fixture
async def http(
    settings: Settings, redis_client: aioredis.Redis, llm: respx.MockRouter
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings, run_jobs=True) as client:
        yield client


async def inbox_of(
    http: httpx.AsyncClient,
) -> tuple[Api, DeskClient, dict[str, str], dict[str, Any]]:
    """acme's inbox: r-rule drafted by the rules (2 stars), r-asked drafted on request (5
    stars, outside the rules), r-none with no draft, r-done drafted and replied."""
    api = Api(http)
    await api.company()
    await rules_on(http, stars=[1, 2])
    await api.review("r-rule", title="Drafted overnight", stars=2, created_at=recent(3))
    await api.review("r-asked", title="Asked for", stars=5, created_at=recent(2))
    await api.review("r-none", title="Nothing yet", stars=4, created_at=recent(1))
    await api.review("r-done", title="Replied to", stars=5, created_at=recent(4))
    rule_drafts = await until(lambda: drafts_of(http, "r-rule"))
    for review in ("r-asked", "r-done"):
        assert (await api.generate(review)).status_code == 201
    r = await http.put(
        "/v1/companies/acme/reviews/r-done/reply",
        json={"text": "Thank you, Erik!", "agent_id": "a-1"},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    desk = DeskClient(httpx.AsyncClient(base_url=http.base_url, timeout=30))
    key = await http.post("/v1/companies/acme/api-keys", json={"role": "agent"}, headers=ADMIN)
    await desk.sign_in(key.json()["key"])
    return api, desk, {"r-rule": rule_drafts[0]["id"]}, rule_drafts[0]


def rows(page: Page) -> dict[str, str]:
    """Each inbox row's text, by the review's title."""
    found: dict[str, str] = {}
    for text in page.roles.get("row", []):
        title = next(
            t for t in ("Drafted overnight", "Asked for", "Nothing yet", "Replied to") if t in text
        )
        found[title] = text
    return found


async def test_the_inbox_shows_draft_ready_and_filters_by_it(http: httpx.AsyncClient) -> None:
    _, desk, _, _ = await inbox_of(http)
    try:
        page = Page((await desk.client.get("/desk")).text)
        shown = rows(page)
        assert "Draft ready" in shown["Drafted overnight"]
        assert RULE_WORDS in shown["Drafted overnight"]
        assert "Draft ready" in shown["Asked for"] and RULE_WORDS not in shown["Asked for"]
        assert "Draft ready" not in shown["Nothing yet"]
        assert "Draft ready" not in shown["Replied to"]  # its draft was answered
        assert "draft_ready" in [value for _, value in page.options]
        filtered = Page((await desk.client.get("/desk?status=draft_ready")).text)
        assert list(rows(filtered)) == ["Asked for", "Drafted overnight"]  # newest first
        assert re.search(
            r'<option value="draft_ready" selected>Draft ready</option>', filtered.source
        )
        # The filter keeps the others: only the rules' 2-star review among the ready ones.
        narrowed = Page((await desk.client.get("/desk?status=draft_ready&stars=1,2")).text)
        assert list(rows(narrowed)) == ["Drafted overnight"]
    finally:
        await desk.client.aclose()


async def test_the_inbox_speaks_swedish_and_dutch_about_a_ready_draft(
    http: httpx.AsyncClient,
) -> None:
    _, desk, _, _ = await inbox_of(http)
    try:
        for language, ready, by_rules in (
            ("sv", "Utkast klart", "skrivet enligt företagets regler"),
            ("nl", "Concept klaar", "opgesteld volgens de regels van het bedrijf"),
        ):
            r = await desk.client.get("/desk", headers={"Accept-Language": language})
            rule_row = rows(Page(r.text))["Drafted overnight"]
            assert ready in rule_row and by_rules in rule_row, rule_row
    finally:
        await desk.client.aclose()


async def test_opening_a_review_shows_the_rules_draft_in_the_reply_box(
    http: httpx.AsyncClient,
) -> None:
    _, desk, _, draft = await inbox_of(http)
    try:
        page = Page((await desk.client.get("/desk/reviews/r-rule")).text)
        assert page.textarea("text") == draft["text"]  # at once, in the Reply box
        assert f'name="draft_id" id="draft-id" value="{draft["id"]}"' in page.source
        meta = re.search(r'<p id="draft-meta" class="help">(.*?)</p>', page.source, re.S)
        assert meta and RULE_WORDS in html.unescape(" ".join(meta.group(1).split()))
        assert "Generate again" in page.buttons and "Publish reply" in page.buttons
        # A draft asked for says nothing of the rules.
        asked = Page((await desk.client.get("/desk/reviews/r-asked")).text)
        assert RULE_WORDS not in asked.source
    finally:
        await desk.client.aclose()


async def test_insights_split_drafts_by_origin_with_each_thumbs_up_rate(
    http: httpx.AsyncClient,
) -> None:
    _, desk, _, rule_draft = await inbox_of(http)
    try:
        asked = (await drafts_of(http, "r-asked"))[0]
        for draft, agent, vote in (
            (rule_draft, "a-1", "up"),
            (rule_draft, "a-2", "up"),
            (rule_draft, "a-3", "down"),
        ):
            url = f"/v1/companies/acme/reviews/{draft['review_id']}/drafts/{draft['id']}/feedback"
            r = await http.post(url, json={"vote": vote, "agent_id": agent}, headers=ADMIN)
            assert r.status_code == 201, r.text
        assert asked["origin"] == "request"
        today = datetime.now(UTC).date()
        params = {
            "since": f"{today - timedelta(days=29)}T00:00:00Z",
            "until": f"{today + timedelta(days=1)}T00:00:00Z",
            "interval": "day",
        }
        stats = (
            await http.get("/v1/companies/acme/feedback/stats", params=params, headers=ADMIN)
        ).json()
        assert stats["by_origin"] == {
            "request": {"drafts": 2, "up": 0, "down": 0},
            "rule": {"drafts": 1, "up": 2, "down": 1},
        }
        # Each day's bucket splits them too, adding up to the totals.
        for origin in ("request", "rule"):
            for kind in ("drafts", "up", "down"):
                total = sum(b["by_origin"][origin][kind] for b in stats["series"])
                assert total == stats["by_origin"][origin][kind], (origin, kind)

        analyst = (
            await http.post("/v1/companies/acme/api-keys", json={"role": "analyst"}, headers=ADMIN)
        ).json()["key"]
        await desk.client.aclose()
        desk = DeskClient(httpx.AsyncClient(base_url=http.base_url, timeout=30))
        await desk.sign_in(analyst)
        page = (await desk.client.get("/insights")).text
        cards = dict(re.findall(r'<dd data-metric="([a-z_]+)">([^<]*)</dd>', page))
        assert cards["request_drafts"] == "2" and cards["request_up_rate"] == "–"  # no votes
        assert cards["rule_drafts"] == "1" and cards["rule_up_rate"] == "67 %"
        for words in (
            "Drafts on request",
            "Thumbs-up rate on request",
            "Drafts by the company&#39;s rules",
            "Thumbs-up rate by the rules",
        ):
            assert f"<dt>{words}</dt>" in page, words
        # The table, in the cards' words; the CSV, with the same numbers under its keys.
        table = re.findall(
            r'<tr data-row="(origin/[a-z]+/[a-z_]+)"><td>([^<]*)</td><td>([^<]*)</td>'
            r"<td>([^<]*)</td><td>([^<]*)</td></tr>",
            page,
        )
        shown = {key: (section, name, metric, value) for key, section, name, metric, value in table}
        assert shown["origin/rule/up_rate"] == (
            "Drafts by origin",
            "By the company&#39;s rules",
            "Thumbs-up rate",
            "0.6667",
        )
        assert shown["origin/request/drafts"] == ("Drafts by origin", "On request", "Drafts", "2")
        csv_text = (await desk.client.get("/insights/export.csv")).text
        exported = {f"{s}/{n}/{m}": v for s, n, m, v in list(csv.reader(io.StringIO(csv_text)))[1:]}
        assert {k: v for k, v in exported.items() if k.startswith("origin/")} == {
            "origin/request/drafts": "2",
            "origin/request/up": "0",
            "origin/request/down": "0",
            "origin/request/up_rate": "",
            "origin/rule/drafts": "1",
            "origin/rule/up": "2",
            "origin/rule/down": "1",
            "origin/rule/up_rate": "0.6667",
        }
        assert {k: v[3] for k, v in shown.items()} == {
            k: v for k, v in exported.items() if k.startswith("origin/")
        }
    finally:
        await desk.client.aclose()

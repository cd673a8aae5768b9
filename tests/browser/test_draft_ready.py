"""Drafts waiting in the inbox, in a real browser: the company's rules draft a stored review in
the background (``reply-assist worker``, a process of its own beside the service, on the same
Redis and stub model), the inbox says "Draft ready", its filter shows only those, the review
opens with the rules' draft, and the insights split drafts by origin."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from reply_assist.settings import Settings
from tests.browser.conftest import ADMIN, ADMIN_TOKEN, REDIS_URL, Service, World, shoot, sign_in

pytestmark = pytest.mark.browser

RULE_WORDS = "drafted by the company's rules"


@pytest.fixture(scope="module")
def worker(
    service: Service, stub_model: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """``reply-assist worker`` on the service's Redis prefix, with the same stub model."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    logs = tmp_path_factory.mktemp("worker")
    env = {
        **os.environ,
        "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
        "REPLY_ASSIST_REDIS_URL": REDIS_URL,
        "REPLY_ASSIST_REDIS_PREFIX": service.prefix,
        "REPLY_ASSIST_EVENTS_STREAM": f"{service.prefix}:events",
        "OPENAI_BASE_URL": stub_model,
        "OPENAI_API_KEY": "stub-key",
        "REPLY_ASSIST_MODEL": Settings().model,  # the service's, the default
        "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
        "REPLY_ASSIST_LOG_LEVEL": "WARNING",
        "REPLY_ASSIST_TIKTOKEN_CACHE_DIR": os.environ.get(
            "REPLY_ASSIST_TIKTOKEN_CACHE_DIR", str(logs / "tiktoken")
        ),
    }
    with open(logs / "worker.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reply_assist.cli", "worker", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 45
        while not ready(f"http://127.0.0.1:{port}/readyz"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start: {(logs / 'worker.log').read_text()}")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def rules_on(world: World, **rules: Any) -> None:
    r = world.http.put(
        f"/v1/companies/{world.company_id}/draft-rules",
        json={"enabled": True, **rules},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text


def rule_draft_of(world: World, review_id: str, limit_s: float = 30.0) -> dict[str, Any]:
    """The review's draft once the worker has made it (a running worker reads a company whose
    rules were just turned on within 5 s)."""
    deadline = time.monotonic() + limit_s
    while True:
        drafts = world.get(f"/reviews/{review_id}/drafts")["items"]
        if drafts:
            assert [d["origin"] for d in drafts] == ["rule"]
            return dict(drafts[0])
        if time.monotonic() > deadline:
            pytest.fail(f"no rule draft for {review_id} within {limit_s} s")
        time.sleep(0.2)


@pytest.mark.usefixtures("worker")
def test_a_review_drafted_by_the_rules_waits_in_the_inbox(page: Any, world: World) -> None:
    rules_on(world, stars=[1, 2])
    world.review("lost", title="Lost parcel", stars=1, created_at=ago(hours=2))
    world.review(
        "happy",
        title="Great service",
        stars=5,
        language="sv",
        text="Snabb leverans och trevlig personal, tack så mycket!",
        created_at=ago(hours=1),
    )
    world.review("chair", title="Broken chair", stars=4, created_at=ago(hours=3))
    draft = rule_draft_of(world, "lost")
    world.generate("chair")  # asked for: ready too, not by the rules
    key, _ = world.key("agent")
    sign_in(page, key, "Anna")

    table = page.get_by_role("table")
    lost = table.get_by_role("row", name=re.compile("Lost parcel"))
    expect(lost).to_contain_text("Needs a reply")
    expect(lost).to_contain_text("Draft ready")
    expect(lost).to_contain_text(RULE_WORDS)
    chair = table.get_by_role("row", name=re.compile("Broken chair"))
    expect(chair).to_contain_text("Draft ready")
    expect(chair).not_to_contain_text(RULE_WORDS)
    expect(table.get_by_role("row", name=re.compile("Great service"))).not_to_contain_text(
        "Draft ready"
    )
    shoot(page, "inbox-draft-ready.png", full_page=False)

    page.get_by_label("Show").select_option(label="Draft ready")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile("status=draft_ready"))
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # the header, then the two ready reviews, newest first
    expect(rows.nth(1)).to_contain_text("Lost parcel")
    expect(rows.nth(2)).to_contain_text("Broken chair")
    expect(page.get_by_label("Show")).to_have_value("draft_ready")

    # Opened: the rules' draft is in the Reply box at once, saying who made it.
    rows.nth(1).get_by_role("link", name="Lost parcel").click()
    reply = page.get_by_role("textbox", name="Reply", exact=True)
    expect(reply).to_have_value(draft["text"])
    expect(page.locator("#draft-meta")).to_contain_text(f"Draft 1 of 10 · {RULE_WORDS}")
    expect(page.get_by_text("9 of 10 left")).to_be_visible()
    expect(page.get_by_role("button", name="Publish reply")).to_be_enabled()
    shoot(page, "review-rule-draft.png")

    # Generate again, as usual: a second draft, asked for; the rules' one stays in the list.
    page.get_by_role("button", name="Generate again").click()
    expect(page.get_by_text("8 of 10 left")).to_be_visible()
    expect(page.locator("#draft-meta")).not_to_contain_text(RULE_WORDS)
    drafts = page.get_by_role("navigation", name="Drafts of this review")
    expect(drafts.get_by_role("listitem")).to_have_count(2)
    expect(drafts.get_by_role("listitem").nth(1)).to_contain_text(RULE_WORDS)
    expect(drafts.get_by_role("listitem").nth(0)).not_to_contain_text(RULE_WORDS)

    # Published: no longer waiting, so the filter no longer shows it.
    page.get_by_role("button", name="Publish reply").click()
    page.get_by_role("button", name="Confirm publish").click()
    expect(page.get_by_role("status")).to_have_text("The reply was published.")
    page.goto("/desk?status=draft_ready")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Broken chair")


@pytest.mark.usefixtures("worker")
def test_insights_split_drafts_by_origin(page: Any, world: World) -> None:
    rules_on(world, stars=[1])
    world.review("lost", title="Lost parcel", stars=1, created_at=ago(hours=2))
    world.review("late", title="Late", stars=3, created_at=ago(hours=1))
    by_rules = rule_draft_of(world, "lost")
    asked = world.generate("late")
    agent, _ = world.key("agent")
    for draft, agent_id, vote in (
        (by_rules, "anna", "up"),
        (by_rules, "kim", "up"),
        (asked, "anna", "down"),
    ):
        r = world.http.post(
            f"/v1/companies/{world.company_id}/reviews/{draft['review_id']}"
            f"/drafts/{draft['id']}/feedback",
            json={"vote": vote, "agent_id": agent_id},
            headers={"Authorization": f"Bearer {agent}"},
        )
        assert r.status_code == 201, r.text
    key, _ = world.key("analyst")
    sign_in(page, key)
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")
    origin = page.get_by_role("region", name="Drafts by origin")
    expect(origin).to_contain_text("Drafts on request")
    assert card(page, "request_drafts") == "1"
    assert card(page, "request_up_rate") == "0 %"
    assert card(page, "rule_drafts") == "1"
    assert card(page, "rule_up_rate") == "100 %"
    origin.scroll_into_view_if_needed()
    shoot(page, "insights-origin.png", full_page=False)
    # The chart names both, in the cards' words; the table has each one's numbers.
    names = page.evaluate("() => Chart.getChart('chart-origin').data.datasets.map((d) => d.label)")
    assert names == ["On request", "By the company's rules"]
    page.get_by_text("The numbers (as in the CSV)").click()
    rule_rate = page.locator("tr[data-row='origin/rule/up_rate'] td")
    expect(rule_rate.nth(1)).to_have_text("By the company's rules")
    expect(rule_rate.nth(2)).to_have_text("Thumbs-up rate")
    expect(rule_rate.nth(3)).to_have_text("1")
    expect(page.locator("tr[data-row='origin/request/down'] td").nth(3)).to_have_text("1")


def card(page: Any, metric: str) -> str:
    return str(page.locator(f"[data-metric={metric}]").inner_text())

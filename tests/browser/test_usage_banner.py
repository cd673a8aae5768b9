"""The reply desk tells agents when the company's drafts this month run low or out, and says
why a draft is refused when they have, in words (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, World, shoot, sign_in

pytestmark = pytest.mark.browser


def allowance(world: World, drafts: int, alert_at: int) -> None:
    body = {
        "name": "Acme AB",
        "plan": "enterprise",
        "contract_start": "2026-01-01T00:00:00Z",
        "languages": ["en", "sv"],
        "signature": "Anna, Acme",
        "monthly_draft_allowance": drafts,
        "usage_alert_at": alert_at,
    }
    r = world.http.put(f"/v1/companies/{world.company_id}", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text


def renewal_day() -> str:
    now = datetime.now(UTC)
    return (now.replace(day=28) + timedelta(days=4)).replace(day=1).date().isoformat()


def test_the_banner_warns_then_says_none_are_left(page: Any, world: World) -> None:
    allowance(world, drafts=4, alert_at=2)
    world.review("r1")
    world.review("r2")
    world.generate("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    # 3 left: above the alert level, no banner.
    expect(page.get_by_role("heading", name="Inbox · Acme AB")).to_be_visible()
    expect(page.get_by_text("left this month")).to_have_count(0)

    world.generate("r1")  # 2 left: at the alert level
    page.reload()
    expect(page.get_by_role("status")).to_have_text(
        f"2 drafts left this month; they renew on {renewal_day()}."
    )
    shoot(page, "usage-low.png", full_page=False)

    # The page is open with one draft left; meanwhile another agent uses it. Generate is then
    # refused, and the page says why in words.
    world.generate("r1")
    page.goto("/desk/reviews/r2")
    expect(page.get_by_role("status").first).to_have_text(
        f"1 draft left this month; drafts renew on {renewal_day()}."
    )
    world.generate("r1")
    page.get_by_role("button", name="Generate reply").click()
    expect(page.locator("#generate-error")).to_have_text(
        "No drafts left this month: the company has used its drafts. Ask your admin for credits."
    )

    page.reload()
    expect(
        page.get_by_text(f"No drafts left until {renewal_day()}; ask your admin for credits.")
    ).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "The company has no drafts left this month; ask your admin for credits."
    )
    expect(page.get_by_role("button", name="Generate reply")).to_be_disabled()
    shoot(page, "usage-exhausted.png", full_page=False)

    # In Swedish too.
    page.get_by_role("link", name="Svenska").click()
    expect(
        page.get_by_text(f"Inga utkast kvar förrän {renewal_day()}; be din administratör om fler.")
    ).to_be_visible()

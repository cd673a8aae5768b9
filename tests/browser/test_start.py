"""A new user's first minutes: `reply-assist demo`, then the admin's and an agent's sign-in."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from reply_assist.cli import main
from tests.browser.conftest import ADMIN_TOKEN, Service, sign_in

pytestmark = pytest.mark.browser


def test_the_demo_command_gives_keys_that_open_the_desk(
    page: Any, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    company = f"demo-{uuid.uuid4().hex[:6]}"
    code = main(["demo", "--url", service.url, "--admin-token", ADMIN_TOKEN, "--company", company])
    assert code == 0
    printed = capsys.readouterr().out
    keys = dict(re.findall(r"^\s+(agent|dashboard|analyst)\s+(rak_\S+)$", printed, re.M))
    assert set(keys) == {"agent", "dashboard", "analyst"}, printed

    sign_in(page, keys["agent"])
    table = page.get_by_role("table")
    for title in ("Slow delivery", "Snabbt och smidigt", "Stoel kapot aangekomen"):
        expect(table.get_by_role("row", name=re.compile(title))).to_contain_text("Can generate")
    expect(table.get_by_role("row", name=re.compile("Meh"))).to_contain_text("too short")
    expect(page.get_by_text("Signed in as demo agent")).to_be_visible()


def test_the_admin_signs_in_and_chooses_a_company(page: Any, service: Service) -> None:
    company = f"demo-{uuid.uuid4().hex[:6]}"
    assert (
        main(["demo", "--url", service.url, "--admin-token", ADMIN_TOKEN, "--company", company])
        == 0
    )
    sign_in(page, ADMIN_TOKEN, "Platform Pat")
    expect(page.get_by_role("heading", name="Choose a company")).to_be_visible()
    # The companies by name, not only by id.
    expect(page.get_by_role("option", name=f"Demo AB ({company})")).to_have_count(1)
    page.get_by_label("Company").select_option(label=f"Demo AB ({company})")
    page.get_by_role("button", name="Open the desk").click()
    expect(page.get_by_role("heading", name="Inbox · Demo AB")).to_be_visible()
    expect(page.get_by_role("link", name="Insights")).to_be_visible()
    page.get_by_role("link", name="Snabbt och smidigt").click()
    expect(page.get_by_role("button", name="Generate reply")).to_be_enabled()
    expect(page.get_by_role("button", name="Publish reply")).to_be_visible()

"""The OpenAPI UI at /schema in Chromium: it runs, offline, under its own strict policy."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from reply_assist.api.schema_ui import SCHEMA_CONTENT_SECURITY_POLICY
from tests.browser.conftest import Service

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_schema_ui_runs_under_its_content_security_policy(
    page: Any, service: Service, path: str
) -> None:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))

    response = page.goto(path)
    assert response.headers["content-security-policy"] == SCHEMA_CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    # The UI rendered the schema: its title, and the operations, one of them opened.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("reply-assist")
    operation = page.locator(".opblock-summary", has_text=re.compile("/healthz"))
    operation.first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    expect(page.locator(".models, section.models").first).to_be_visible()

    assert console == [], console  # nothing blocked, nothing broke
    assert failed == [], failed
    own = urlsplit(service.url).netloc
    assert {urlsplit(url).netloc for url in requested if url.startswith("http")} == {own}


def test_another_site_cannot_frame_the_schema_ui(browser: Any, service: Service) -> None:
    # A page of another origin (about:blank here) that puts /schema in a frame: the browser
    # refuses to show it (and says so on the console, which is what the test wants to see).
    context = browser.new_context()
    try:
        page = context.new_page()
        blocked: list[str] = []
        page.on(
            "console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None
        )
        page.set_content(f'<iframe id="f" src="{service.url}/schema"></iframe>')
        page.wait_for_timeout(1000)
        expect(page.frame_locator("#f").locator(".swagger-ui")).to_have_count(0)
        assert blocked, "the frame was not refused"
    finally:
        context.close()

"""The reply desk in a real browser, as an agent uses it: controls found by role and name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from reply_assist.auth import hash_token as key_hash
from tests.browser.conftest import ADMIN_TOKEN, REDIS_URL, Service, World, shoot, sign_in

pytestmark = pytest.mark.browser

STUB_START = "Hi Erik, thank you for taking the time"


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def open_review(page: Any, review_id: str) -> None:
    page.goto(f"/desk/reviews/{review_id}")


def test_sign_in_shows_who_and_the_role(page: Any, world: World, service: Service) -> None:
    key, _ = world.key("agent")
    sign_in(page, key, "Anna")
    expect(page.get_by_text("Signed in as Anna")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Agent · " + world.company_id))).to_be_visible()
    # The key is nowhere but in the server: not in the URL, not in the page, not in storage.
    assert key not in page.url
    assert key not in page.content()
    assert page.evaluate("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") in (
        "{}{}",
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "ra_desk")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert key not in cookie["value"]
    # The server keeps the session under its id's hash, without the key, for the idle timeout
    # (each request renews it; 8 hours after sign-in it ends however busy).
    store = redis.Redis.from_url(REDIS_URL)
    try:
        [stored] = [
            k
            for k in store.scan_iter(match=f"{service.prefix}:desk-session/*")
            if key_hash(key).encode() in (store.get(k) or b"")
        ]
        assert cookie["value"].encode() not in stored
        assert 1800 - 60 < store.ttl(stored) <= 1800
        assert key.encode() not in (store.get(stored) or b"")
    finally:
        store.close()


def test_a_wrong_key_is_refused_in_words(page: Any, world: World) -> None:
    sign_in(page, "rak_not-a-real-key")
    expect(page.get_by_role("alert")).to_have_text(re.compile("That key is not valid"))
    page.goto("/desk/reviews/anything")
    expect(page).to_have_url(re.compile("/desk/sign-in$"))


def test_the_whole_agent_flow_from_draft_to_updated_reply(page: Any, world: World) -> None:
    world.review("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Anna")
    expect(page.get_by_role("heading", name="Inbox · Acme AB")).to_be_visible()
    page.get_by_role("link", name="Slow delivery").click()
    expect(page.get_by_text("10 of 10 left")).to_be_visible()

    # Generate reply: the draft streams into the Reply box, word by word.
    reply = page.get_by_role("textbox", name="Reply", exact=True)
    page.get_by_role("button", name="Generate reply").click()
    page.wait_for_function(
        "() => { const r = document.getElementById('reply');"
        " return r.getAttribute('aria-busy') === 'true' && r.value.length > 0; }"
    )
    partial = reply.input_value()
    expect(page.get_by_role("status")).to_have_text(re.compile("The draft is ready"))
    full = reply.input_value()
    assert full.startswith(STUB_START)
    assert len(partial) < len(full), "the draft arrived in one piece, not streamed"
    expect(page.get_by_text("9 of 10 left")).to_be_visible()
    shoot(page, "review-streamed-draft.png", readme=True)

    # Generate again: a second draft; both are listed and the first can be brought back.
    page.get_by_role("button", name="Generate again").click()
    expect(page.get_by_text("8 of 10 left")).to_be_visible()
    drafts = page.get_by_role("navigation", name="Drafts of this review")
    expect(drafts.get_by_role("link")).to_have_count(2)
    drafts.get_by_role("link", name="Draft 1").click()
    expect(page.get_by_text(re.compile("Draft 1 of 10"))).to_be_visible()
    first_draft_id = world.get("/reviews/r1/drafts")["items"][1]["id"]
    assert first_draft_id in page.url

    # Feedback: thumbs down, a reason, a comment; the agent's vote is shown afterwards.
    page.get_by_role("button", name="Thumbs down").click()
    page.get_by_label("Reason").select_option(label="Too long")
    page.get_by_label("More information (optional)").fill("Shorter, please.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Your vote: Thumbs down (Too long)")).to_be_visible()
    expect(page.get_by_role("button", name="Thumbs down")).to_have_attribute("aria-pressed", "true")
    stats = world.get("/feedback/stats")
    assert stats["votes"] == {"up": 0, "down": 1} and stats["reasons"]["too_long"] == 1

    # Edit in place, then Publish reply: the exact text is shown, and asked for once more.
    # The box is typed into as a person types, line breaks and all (the browser sends CRLF).
    edited = "Hi Erik,\nwe are sorry about the slow parcel. We have changed courier.\nAnna"
    reply.fill("")
    reply.type(edited)
    page.get_by_role("button", name="Publish reply").click()
    expect(page.get_by_role("heading", name="Publish this reply?")).to_be_visible()
    expect(page.locator("#publish-text")).to_have_text(edited)
    assert (
        world.http.get(
            f"/v1/companies/{world.company_id}/reviews/r1/reply",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).status_code
        == 404
    ), "published before the confirmation"
    draft = world.get(f"/reviews/r1/drafts/{first_draft_id}")
    assert draft["edited"] is False  # nothing is saved before Confirm
    shoot(page, "publish-confirmation.png", readme=True)
    page.get_by_role("button", name="Confirm publish").click()
    expect(page.get_by_role("status")).to_have_text("The reply was published.")

    published = page.get_by_role("region", name="Published reply")
    expect(published.get_by_text(edited)).to_be_visible()
    expect(published.get_by_text(re.compile("Version 1 .* approved by Anna"))).to_be_visible()
    reply_api = world.get("/reviews/r1/reply")
    assert reply_api["text"] == edited and "\r" not in reply_api["text"]  # LF, as the API's
    assert reply_api["approved_by"] == "Anna"
    assert reply_api["draft_id"] == first_draft_id and reply_api["edited"] is True
    draft = world.get(f"/reviews/r1/drafts/{first_draft_id}")
    assert draft["text"] == edited and draft["status"] == "published"  # frozen as it went out

    # Edit reply → Publish updated reply → Confirm publish: a second version, both kept.
    published.get_by_role("link", name="Edit reply").click()
    expect(page).to_have_url(re.compile(r"/desk/reviews/r1/reply/edit$"))  # no stray "?"
    box = page.get_by_role("textbox", name="Reply", exact=True)
    expect(box).to_have_value(edited)
    page.get_by_role("button", name="Publish updated reply").click()  # nothing changed
    expect(page.get_by_role("status")).to_have_text(
        "No change: the published reply already has this text."
    )
    updated = edited + " (We have refunded the shipping.)"
    box.fill(updated)
    page.get_by_role("button", name="Publish updated reply").click()
    expect(page.locator("#publish-text")).to_have_text(updated)
    expect(
        page.get_by_text(re.compile(r"replace the published reply \(version 1\), as version 2"))
    ).to_be_visible()
    page.get_by_role("button", name="Confirm publish").click()
    expect(page.get_by_role("status")).to_have_text("The updated reply was published as version 2.")
    published = page.get_by_role("region", name="Published reply")
    expect(published.get_by_text(re.compile("Version 2 .* approved by Anna")).first).to_be_visible()
    published.get_by_text("Version history (2 versions)").click()
    expect(published.get_by_text(edited, exact=True)).to_be_visible()
    # The version-1 draft is shown as published, with nothing that would publish it again.
    expect(page.get_by_role("button", name="Publish reply")).to_have_count(0)
    reply_api = world.get("/reviews/r1/reply")
    assert reply_api["version"] == 2 and reply_api["text"] == updated
    assert [v["text"] for v in reply_api["versions"]] == [edited, updated]
    assert [v["draft_id"] for v in reply_api["versions"]] == [first_draft_id, None]
    shoot(page, "review-updated-reply.png", readme=True)


def test_the_inbox_lists_filters_and_pages(page: Any, world: World) -> None:
    world.review(
        "happy",
        title="Great service",
        stars=5,
        language="sv",
        text="Snabb leverans och trevlig personal, tack så mycket!",
        created_at=ago(hours=5),
    )
    world.review("short", title="Meh", stars=3, text="Bad. Very bad.", created_at=ago(hours=1))
    world.review("done", title="Broken chair", stars=1, created_at=ago(hours=3))
    world.generate("done")
    draft = world.generate("done")
    r = world.http.put(
        f"/v1/companies/{world.company_id}/reviews/done/reply",
        json={"text": "Sorry about the chair, Anna", "agent_id": "anna", "draft_id": draft["id"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 201, r.text
    for i in range(26):
        world.review(
            f"old-{i:02}",
            title=f"Older review {i:02}",
            stars=4,
            created_at=f"2026-06-{1 + i:02}T10:00:00Z",
        )
    key, _ = world.key("agent")
    sign_in(page, key, "Anna")
    table = page.get_by_role("table")
    first = table.get_by_role("row").nth(1)
    expect(first).to_contain_text("Meh")  # newest first
    expect(first).to_contain_text("The review is too short: it needs more than four words.")
    expect(first).to_contain_text("Needs a reply")
    expect(table.get_by_role("row", name=re.compile("Broken chair"))).to_contain_text("Replied")
    expect(table.get_by_role("row", name=re.compile("Great service"))).to_contain_text("Swedish")
    expect(table.get_by_role("columnheader", name="Reply")).to_be_visible()
    expect(table.get_by_role("row", name=re.compile("Great service"))).to_contain_text(
        "Can generate (10 left)"
    )
    shoot(page, "inbox.png", full_page=False, readme=True)
    expect(table.get_by_role("row")).to_have_count(26)  # the header and a page of 25
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(5)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    page.get_by_label("Show").select_option(label="Replied")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Broken chair")
    page.get_by_label("Show").select_option(label="Needs a reply")
    page.get_by_role("combobox", name="Language").select_option("sv")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Great service")
    page.get_by_role("combobox", name="Language").select_option("")
    page.get_by_label("Stars").select_option("3")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Meh")


def test_a_refusal_is_shown_in_words(page: Any, world: World) -> None:
    world.review("short", text="Bad. Very bad.")
    world.review("r2")
    key, _ = world.key("agent")
    sign_in(page, key)
    open_review(page, "short")
    expect(page.get_by_role("alert")).to_contain_text(
        "The review is too short: it needs more than four words."
    )
    expect(page.get_by_role("button", name="Generate reply")).to_be_disabled()

    # A rule that starts failing after the page was shown: the server refuses, the page says why.
    open_review(page, "r2")
    world.review("r2", reported=True)
    page.get_by_role("button", name="Generate reply").click()
    expect(page.locator("#generate-error")).to_have_text(
        "The review has been reported, so no draft can be generated."
    )
    expect(page.get_by_role("button", name="Generate reply")).to_be_enabled()


def test_the_limit_reached(page: Any, world: World) -> None:
    world.review("r3")
    for _ in range(9):
        world.generate("r3")
    key, _ = world.key("agent")
    sign_in(page, key)
    open_review(page, "r3")
    expect(page.get_by_text("1 of 10 left")).to_be_visible()
    page.get_by_role("button", name="Generate again").click()
    expect(page.get_by_text("0 of 10 left")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "All 10 drafts for this review have been generated."
    )
    expect(page.get_by_role("button", name="Generate again")).to_be_disabled()
    expect(
        page.get_by_role("navigation", name="Drafts of this review").get_by_role("link")
    ).to_have_count(10)


def test_review_text_is_shown_as_text_never_run(page: Any, world: World) -> None:
    hostile = (
        '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
        '<a href="javascript:window.__pwned = 3">click me</a> please reply to this review'
    )
    world.review("xss", text=hostile, title="<b>bold</b> title", author_name="<i>Eve</i>")
    key, _ = world.key("agent")
    sign_in(page, key)
    open_review(page, "xss")
    expect(page.get_by_text(hostile)).to_be_visible()
    expect(page.get_by_role("heading", name="<b>bold</b> title")).to_be_visible()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("main script, main img, main b, main i").count() == 0


def test_keyboard_only_publishing(page: Any, world: World) -> None:
    world.review("kb")
    world.generate("kb")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    open_review(page, "kb")
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        if focused == "Publish reply":
            break
    else:
        pytest.fail("Publish reply cannot be reached with the Tab key")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Confirm publish")).to_be_focused()
    page.keyboard.press("Enter")
    published = page.get_by_role("region", name="Published reply")
    expect(published).to_contain_text("approved by Kim")
    # The keyboard lands on the published reply, ringed in the focus blue, not a warning orange.
    expect(published).to_be_focused()
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineColor")
    assert ring == "rgb(31, 111, 235)", ring
    assert world.get("/reviews/kb/reply")["approved_by"] == "Kim"


def test_sign_out_ends_the_session_on_the_server(page: Any, world: World, service: Service) -> None:
    world.review("r4")
    key, _ = world.key("agent")
    sign_in(page, key)
    cookie = next(c for c in page.context.cookies() if c["name"] == "ra_desk")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    # The old cookie, replayed, opens nothing.
    page.context.add_cookies([cookie])
    open_review(page, "r4")
    expect(page).to_have_url(re.compile("/desk/sign-in$"))


def test_a_revoked_key_ends_its_session_at_once(page: Any, world: World) -> None:
    world.review("r5")
    key, key_id = world.key("agent")
    sign_in(page, key)
    open_review(page, "r5")
    expect(page.get_by_role("button", name="Generate reply")).to_be_visible()
    world.revoke(key_id)
    page.reload()
    expect(page).to_have_url(re.compile("/desk/sign-in$"))


def test_another_companys_key_cannot_see_the_review(
    page: Any, world: World, service: Service
) -> None:
    world.review("secret", text="This is company one's private review text, do not show it.")
    other = World(service)
    key, _ = other.key("agent")
    other.http.close()
    sign_in(page, key)
    open_review(page, "secret")
    expect(page.get_by_role("alert")).to_have_text("There is no such review.")
    assert "private review text" not in page.content()


def test_a_dashboard_key_sees_the_desk_read_only(page: Any, world: World) -> None:
    world.review("r6")
    world.generate("r6")
    key, _ = world.key("dashboard")
    sign_in(page, key)
    open_review(page, "r6")
    expect(page.get_by_role("button", name="Generate again")).to_be_enabled()
    expect(page.get_by_role("button", name="Thumbs up")).to_be_visible()
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_have_count(0)
    expect(page.get_by_text(re.compile("^Hi Erik"))).to_be_visible()  # the draft, to read
    expect(page.get_by_role("button", name="Publish reply")).to_have_count(0)
    # The server refuses anyway: a hand-made publish with the page's own CSRF token.
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    response = page.request.post(
        "/desk/reviews/r6/publish/confirm",
        form={"csrf": token, "text": "Published behind the page's back"},
        headers={"Origin": world.service.url},
    )
    assert response.status == 403
    assert (
        world.http.get(
            f"/v1/companies/{world.company_id}/reviews/r6/reply",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).status_code
        == 404
    )


def test_the_pages_send_strict_security_headers(page: Any, world: World) -> None:
    response = page.goto("/desk/sign-in")
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "http" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    static = page.request.get("/assets/desk.js")
    assert static.headers["x-content-type-options"] == "nosniff"
    # Redirects and error pages too, not only the pages that rendered.
    for path in ("/desk/reviews/x", "/desk/no-such-page", "/desk/reviews/bad%20id"):
        response = page.request.get(path, max_redirects=0)
        assert response.status in (303, 400, 404), path
        assert response.headers["content-security-policy"] == csp, path
        assert response.headers["cache-control"] == "no-store", path


def test_a_form_without_the_csrf_token_is_refused(page: Any, world: World) -> None:
    world.review("r7")
    world.generate("r7")
    key, _ = world.key("agent")
    sign_in(page, key)
    response = page.request.post(
        "/desk/reviews/r7/publish/confirm",
        form={"text": "Forged"},
        headers={"Origin": world.service.url},
    )
    assert response.status == 403
    response = page.request.post(
        "/desk/reviews/r7/publish/confirm",
        form={"text": "Forged", "csrf": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403


def test_the_interface_speaks_swedish_and_dutch(browser: Any, service: Service) -> None:
    context = browser.new_context(base_url=service.url, locale="sv-SE")
    page = context.new_page()
    page.goto("/desk/sign-in")
    expect(page.get_by_role("button", name="Logga in")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "sv"
    page.get_by_role("link", name="Nederlands").click()
    expect(page.get_by_role("button", name="Inloggen")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "nl"
    context.close()


def test_a_phone_screen_needs_no_sideways_scrolling(browser: Any, world: World) -> None:
    world.review("r8", text="A long review " * 40)
    world.generate("r8")
    key, _ = world.key("agent")
    context = browser.new_context(
        base_url=world.service.url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    sign_in(page, key)
    open_review(page, "r8")
    expect(page.get_by_role("button", name="Publish reply")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    context.close()


def test_without_javascript_generate_reply_still_makes_a_draft(browser: Any, world: World) -> None:
    world.review("nojs")
    key, _ = world.key("agent")
    context = browser.new_context(base_url=world.service.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, key)
    open_review(page, "nojs")
    page.get_by_role("button", name="Generate reply").click()
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_have_value(
        re.compile("^" + STUB_START)
    )
    expect(page.get_by_text("9 of 10 left")).to_be_visible()
    context.close()

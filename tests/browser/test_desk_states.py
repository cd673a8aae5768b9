"""The review page in Chromium for each role and each state of the review (unreplied, replied,
updated), and the desk's truthfulness where a browser is what makes it hard (issues 17, 18)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from reply_assist.services.safety import visible
from reply_assist.store.keys import Keys
from tests.browser.conftest import ADMIN_TOKEN, REDIS_URL, Service, World, shoot, sign_in

pytestmark = pytest.mark.browser

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROLE_SENTENCE = {
    "agent": "As an agent you can generate drafts, give feedback, edit drafts and publish replies.",
    "dashboard": "Your key's role (Dashboard) can generate drafts and give feedback; editing "
    "and publishing need an agent key.",
    "analyst": "Your key's role (Analyst) can read reviews, drafts and replies here, and see "
    "insights; generating drafts, feedback and publishing need a dashboard or agent key.",
    "admin": "As the platform admin you can do everything here: generate drafts, give "
    "feedback, edit and publish replies.",
}


def publish(world: World, text: str, draft_id: str | None) -> None:
    body = {"text": text, "agent_id": "anna"} | ({"draft_id": draft_id} if draft_id else {})
    r = world.http.put(
        f"/v1/companies/{world.company_id}/reviews/r1/reply", json=body, headers=ADMIN
    )
    assert r.status_code in (200, 201), r.text


def sign_in_as(page: Any, world: World, role: str) -> None:
    if role == "admin":
        sign_in(page, ADMIN_TOKEN, "Pat")
        page.get_by_label("Company").select_option(world.company_id)
        page.get_by_role("button", name="Open the desk").click()
    else:
        key, _ = world.key(role)
        sign_in(page, key, "Kim")


@pytest.mark.parametrize("role", ["agent", "dashboard", "analyst", "admin"])
def test_the_review_page_follows_the_state_and_the_role(page: Any, world: World, role: str) -> None:
    world.review("r1")
    draft = world.generate("r1")
    sign_in_as(page, world, role)
    writes = role in ("agent", "admin")
    generates = role != "analyst"
    for state in ("unreplied", "replied", "updated"):
        if state == "replied":
            publish(world, "Thanks for telling us, Erik. Anna", draft["id"])
        if state == "updated":
            publish(world, "Thanks for telling us, Erik. We changed courier. Anna", None)
        page.goto("/desk/reviews/r1")
        expect(page.get_by_text(ROLE_SENTENCE[role], exact=True)).to_be_visible()
        for other, sentence in ROLE_SENTENCE.items():
            if other != role:
                expect(page.get_by_text(sentence, exact=True)).to_have_count(0)
        published = page.get_by_role("region", name="Published reply")
        if state == "unreplied":
            expect(published).to_contain_text("Nothing has been published for this review.")
            expect(page.get_by_role("button", name="Generate again")).to_have_count(
                1 if generates else 0
            )
            expect(page.get_by_role("button", name="Publish reply")).to_have_count(
                1 if writes else 0
            )
            expect(page.get_by_role("textbox", name="Reply", exact=True)).to_have_count(
                1 if writes else 0
            )
        else:
            version = 1 if state == "replied" else 2
            expect(published.get_by_text(re.compile(f"Version {version} ")).first).to_be_visible()
            expect(published.get_by_role("link", name="Edit reply")).to_have_count(
                1 if writes else 0
            )
            # The draft tools are folded away until opened.
            tools = page.locator("details#draft-tools")
            expect(tools).not_to_have_attribute("open", "")
            expect(page.get_by_role("button", name="Generate again")).to_be_hidden()
            shoot(page, f"review-{role}-{state}.png", readme=(role, state) == ("agent", "replied"))
            page.get_by_text("Draft a new reply").click()
            expect(page.get_by_role("button", name="Generate again")).to_have_count(
                1 if generates else 0
            )
            # The published draft is frozen: nothing would publish it again.
            expect(page.get_by_role("button", name="Publish reply")).to_have_count(0)
            expect(page.get_by_text("published as version 1").first).to_be_visible()
        expect(page.get_by_role("button", name="Thumbs up")).to_have_count(1 if generates else 0)
        if role == "analyst":
            expect(page.locator("main form")).to_have_count(0)  # read-only
        shoot(page, f"review-{role}-{state}-open.png")


def test_a_blank_reply_is_refused_next_to_the_box(page: Any, world: World) -> None:
    """Issue 17 items 1 and 7, issue 18 item 16: invisible text, or none, stays on the page."""
    world.review("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    box = page.get_by_role("textbox", name="Reply", exact=True)
    for typed in ("", "   \u200b ", "\u2800\u3164\u115f"):
        box.fill(typed)
        page.get_by_role("button", name="Publish reply").click()
        alert = page.get_by_role("alert")
        expect(alert).to_have_text("Write the reply first: this text has nothing visible in it.")
        expect(box).to_have_value(visible(typed))  # as shown: hidden characters dropped
        expect(page.get_by_role("heading", name="Slow delivery")).to_be_visible()
    shoot(page, "review-refused-blank.png")
    r = world.http.get(f"/v1/companies/{world.company_id}/reviews/r1/reply", headers=ADMIN)
    assert r.status_code == 404
    # A reply written by hand, without generating anything, is published as typed.
    box.fill("Thank you, Erik.\nWe are on it.\nAnna")
    page.get_by_role("button", name="Publish reply").click()
    page.get_by_role("button", name="Confirm publish").click()
    expect(page.get_by_role("status")).to_have_text("The reply was published.")
    reply = world.get("/reviews/r1/reply")
    assert reply["text"] == "Thank you, Erik.\nWe are on it.\nAnna" and reply["draft_id"] is None


def test_save_edit_on_a_draft_published_meanwhile_says_so(page: Any, world: World) -> None:
    """Issue 18 item 6 in Chromium: the agent's page was open while someone published."""
    world.review("r1")
    draft = world.generate("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    publish(world, draft["text"], draft["id"])  # someone else, meanwhile
    box = page.get_by_role("textbox", name="Reply", exact=True)
    box.fill("Hi Erik,\nmy better text.")
    page.get_by_role("button", name="Save edit").click()
    expect(page.get_by_role("alert")).to_have_text(
        "This draft has been published, so its text can't change any more. To change the "
        "reply, use Edit reply."
    )
    expect(page.get_by_text("Your edit was saved.")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_have_value(
        "Hi Erik,\nmy better text."
    )
    stored = world.get(f"/reviews/r1/drafts/{draft['id']}")
    assert stored["text"] == draft["text"]


def test_line_breaks_from_the_box_are_the_apis_line_breaks(page: Any, world: World) -> None:
    """Issue 18 item 7: a textarea posts CRLF; an unchanged draft is not an edit, and an
    unchanged update is no new version."""
    world.review("r1")
    draft = world.generate("r1")
    lines = "Hi Erik,\n\nwe are sorry about the parcel.\nAnna"
    r = world.http.patch(
        f"/v1/companies/{world.company_id}/reviews/r1/drafts/{draft['id']}",
        json={"text": lines, "agent_id": "anna"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    page.get_by_role("button", name="Save edit").click()  # the box as it came: CRLF on the wire
    expect(page.get_by_role("status")).to_have_text("No change: the draft already has this text.")
    assert world.get(f"/reviews/r1/drafts/{draft['id']}")["edited_by"] == "anna"  # not Kim
    page.get_by_role("button", name="Publish reply").click()
    page.get_by_role("button", name="Confirm publish").click()
    assert world.get("/reviews/r1/reply")["text"] == lines
    page.get_by_role("link", name="Edit reply").click()
    page.get_by_role("button", name="Publish updated reply").click()
    expect(page.get_by_role("status")).to_have_text(
        "No change: the published reply already has this text."
    )
    assert [v["text"] for v in world.get("/reviews/r1/reply")["versions"]] == [lines]


def test_a_thumbs_up_after_publishing_keeps_the_voice_example(
    page: Any, world: World, service: Service
) -> None:
    """Issue 18 item 8: an edited published reply whose draft gets a thumbs up on the desk
    becomes an example of the company's voice, as with the API."""
    world.review("r1")
    draft = world.generate("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    box = page.get_by_role("textbox", name="Reply", exact=True)
    box.fill(draft["text"] + "\nWe have changed courier.")
    page.get_by_role("button", name="Publish reply").click()
    page.get_by_role("button", name="Confirm publish").click()
    store = redis.Redis.from_url(REDIS_URL)
    key_name = Keys(service.prefix).voice(world.company_id)
    try:
        assert store.llen(key_name) == 0
        page.get_by_text("Draft a new reply").click()
        page.get_by_role("button", name="Thumbs up").click()
        page.get_by_role("button", name="Send feedback").click()
        expect(page.get_by_text("Your vote: Thumbs up")).to_be_visible()
        examples = store.lrange(key_name, 0, -1)
        assert len(examples) == 1 and b"We have changed courier." in examples[0]
    finally:
        store.close()


def test_reasons_follow_the_thumb(page: Any, world: World) -> None:
    """Issue 17 item 10: thumbs down does not offer Helpful; thumbs up offers only it."""
    world.review("r1")
    world.generate("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    reason = page.get_by_label("Reason")

    def offered() -> list[str]:
        return [o.strip() for o in reason.locator("option").all_inner_texts()]

    page.get_by_role("button", name="Thumbs down").click()
    assert offered() == [
        "No reason",
        "Wrong tone",
        "Inaccurate",
        "Too long",
        "Too generic",
        "Wrong language",
        "Other",
    ]
    page.get_by_role("button", name="Thumbs up").click()
    assert offered() == ["No reason", "Helpful"]
    reason.select_option(label="Helpful")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Your vote: Thumbs up (Helpful)")).to_be_visible()


def test_publish_waits_while_a_draft_is_written(page: Any, world: World) -> None:
    world.review("r1")
    key, _ = world.key("agent")
    sign_in(page, key, "Kim")
    page.goto("/desk/reviews/r1")
    publish_button = page.get_by_role("button", name="Publish reply")
    expect(publish_button).to_be_enabled()
    page.get_by_role("button", name="Generate reply").click()
    page.wait_for_function(
        "() => { const r = document.getElementById('reply');"
        " return r.getAttribute('aria-busy') === 'true' && r.value.length > 0; }"
    )
    assert publish_button.is_disabled(), "Publish reply was enabled while the draft streamed"
    expect(page.get_by_role("status")).to_have_text(re.compile("The draft is ready"))


def test_every_page_has_its_icon_and_the_home_is_the_desk(page: Any, world: World) -> None:
    world.review("r1")
    key, _ = world.key("analyst")
    page.goto("/")
    expect(page).to_have_url(re.compile("/desk/sign-in$"))
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200
    sign_in(page, key)
    for path in ("/desk", "/desk/reviews/r1", "/insights"):
        page.goto(path)
        href = page.locator("link[rel=icon]").get_attribute("href")
        assert page.request.get(str(href)).status == 200
    # The page fixture fails the test on any asset that answered 4xx/5xx meanwhile.


def test_the_inbox_keeps_its_labels_on_a_phone(browser: Any, world: World) -> None:
    world.review("r1")
    key, _ = world.key("agent")
    context = browser.new_context(
        base_url=world.service.url, viewport={"width": 390, "height": 844}, locale="en-GB"
    )
    page = context.new_page()
    sign_in(page, key)
    row = page.get_by_role("row").filter(has_text="Slow delivery")
    for label in ("Stars", "Review", "Language", "Age", "Reply", "Draft"):
        cell = row.locator(f"td[data-label='{label}']")
        expect(cell).to_be_visible()
        before = page.evaluate(
            "(cell) => getComputedStyle(cell, '::before').content", cell.element_handle()
        )
        assert label in before, (label, before)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    shoot(page, "inbox-phone.png")
    context.close()

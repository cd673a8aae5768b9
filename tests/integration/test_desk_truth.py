"""The reply desk says what the service did, and shows each role what it may do (issue 17).

Driven by form posts, as a browser without a script would: each page read by the texts and
roles a person (or a screen reader) meets. The same flows run in Chromium in tests/browser.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from reply_assist.services.safety import visible
from reply_assist.settings import Settings
from reply_assist.store.keys import Keys
from tests.conftest import ADMIN, Api
from tests.desk_client import DeskClient


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return dataclasses.replace(base_settings, openai_api_key=None, openai_base_url=None)


class Page(HTMLParser):
    """What a person sees of a page: the texts of elements by role, the controls by name."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.roles: dict[str, list[str]] = {}
        self.buttons: list[str] = []
        self.links: list[str] = []
        self.textareas: dict[str, tuple[str, bool]] = {}
        self.options: list[tuple[str, str]] = []  # (optgroup data-vote, value)
        self._open: list[tuple[str, str | None, dict[str, str | None]]] = []
        self._text: list[list[str]] = []
        self._group = ""
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "optgroup":
            self._group = a.get("data-vote") or ""
        if tag == "option":
            self.options.append((self._group, a.get("value") or ""))
        if tag in ("input", "meta", "link", "br", "img"):
            return
        self._open.append((tag, a.get("role"), a))
        self._text.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("input", "meta", "link", "br", "img") or not self._open:
            return
        open_tag, role, a = self._open.pop()
        text = "".join(self._text.pop())
        if self._text:
            self._text[-1].append(text)
        text = " ".join(text.split())
        if role and "hidden" not in a:
            self.roles.setdefault(role, []).append(text)
        if open_tag == "button":
            self.buttons.append(text)
        if open_tag == "a":
            self.links.append(text)
        if open_tag == "textarea":
            self.textareas[a.get("name") or ""] = (text, "readonly" in a)

    def handle_data(self, data: str) -> None:
        if self._text:
            self._text[-1].append(data)

    def textarea(self, name: str) -> str:
        """The raw text of a textarea, as the browser would fill it."""
        found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', self.source, re.S)
        assert found, f"no textarea {name}"
        return html.unescape(found.group(1))


@dataclasses.dataclass
class Desk:
    api: Api
    http: DeskClient

    async def get(self, path: str) -> tuple[int, Page]:
        r = await self.http.client.get(path)
        return r.status_code, Page(r.text)

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, Page, httpx.Response]:
        r = await self.http.post(path, form)
        return r.status_code, Page(r.text), r


@pytest.fixture
async def api(client: httpx.AsyncClient, redis_client: aioredis.Redis) -> Api:
    api = Api(client)
    await api.company("acme", languages=["en"])
    return api


@pytest.fixture
async def desk_for(
    client: httpx.AsyncClient, api: Api
) -> AsyncIterator[Callable[[str], Awaitable[Desk]]]:
    opened: list[httpx.AsyncClient] = []

    async def open_desk(role: str) -> Desk:
        browser = httpx.AsyncClient(base_url=client.base_url, timeout=30)
        opened.append(browser)
        http = DeskClient(browser)
        if role == "admin":
            r = await browser.post(
                "/desk/sign-in", data={"key": ADMIN["Authorization"][7:]}, headers=http.origin
            )
            assert r.status_code == 303
            page = await browser.get("/desk/company")
            http.csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]
            r = await http.post("/desk/company", {"company_id": "acme"})
            assert r.status_code == 303, r.text
        else:
            r = await client.post("/v1/companies/acme/api-keys", json={"role": role}, headers=ADMIN)
            await http.sign_in(r.json()["key"])
        return Desk(api, http)

    yield open_desk
    for browser in opened:
        await browser.aclose()


async def draft_for(api: Api, review: str = "r1") -> dict[str, Any]:
    await api.review(review)
    r = await api.generate(review)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def publish_api(api: Api, text: str, draft_id: str | None, review: str = "r1") -> None:
    body = {"text": text, "agent_id": "a-1"} | ({"draft_id": draft_id} if draft_id else {})
    r = await api.client.put(f"/v1/companies/acme/reviews/{review}/reply", json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text


async def versions(api: Api, review: str = "r1") -> list[dict[str, Any]]:
    r = await api.client.get(f"/v1/companies/acme/reviews/{review}/reply", headers=ADMIN)
    return list(r.json()["versions"]) if r.status_code == 200 else []


async def test_a_blank_reply_is_refused_next_to_the_box_with_the_text_kept(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Items 1 and 7: U+200B (or an empty box) is refused on the review page itself, with the
    header, the review and what was typed; nothing reaches the confirmation."""
    draft = await draft_for(api)
    desk = await desk_for("agent")
    for typed in ("   \u200b ", "", "\u2800\u3164"):
        status, page, _ = await desk.post(
            "/desk/reviews/r1/publish", {"text": typed, "draft_id": draft["id"]}
        )
        assert status == 400
        assert page.roles["alert"] == [
            "Write the reply first: this text has nothing visible in it."
        ]
        # What was typed, as a reader sees it: the pages drop characters that hide text.
        assert page.textarea("text") == visible(typed)
        assert "Confirm publish" not in page.buttons
        assert "Slow delivery" in page.source and "Sign out" in page.buttons
    assert await versions(api) == []


async def test_save_edit_on_a_published_draft_says_so_and_keeps_the_text(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Item 2 (and issue 18's item 6)."""
    draft = await draft_for(api)
    await publish_api(api, draft["text"], draft["id"])
    desk = await desk_for("agent")
    status, page, _ = await desk.post(
        f"/desk/reviews/r1/drafts/{draft['id']}/edit",
        {"text": "My better text", "draft_id": draft["id"]},
    )
    assert status == 409
    assert page.roles["alert"] == [
        "This draft has been published, so its text can't change any more. To change the reply, "
        "use Edit reply."
    ]
    assert "Your edit was saved." not in page.source
    assert page.textarea("text") == "My better text"
    stored = (
        await api.client.get(f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN)
    ).json()
    assert stored["text"] == draft["text"] and stored["edited"] is False


async def test_save_edit_says_saved_only_when_it_saved(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    draft = await draft_for(api)
    desk = await desk_for("agent")
    url = f"/desk/reviews/r1/drafts/{draft['id']}/edit"
    same = draft["text"].replace("\n", "\r\n")  # as a browser sends the unchanged box
    _, _, r = await desk.post(url, {"text": same, "draft_id": draft["id"]})
    _, page = await desk.get(r.headers["location"])
    assert page.roles["status"] == ["No change: the draft already has this text."]
    _, _, r = await desk.post(url, {"text": "Hi Erik,\r\nsorry.", "draft_id": draft["id"]})
    _, page = await desk.get(r.headers["location"])
    assert page.roles["status"] == ["Your edit was saved."]
    assert page.textarea("text") == "Hi Erik,\nsorry."


async def test_an_unchanged_update_says_no_change_and_publishes_nothing(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Item 3 (and issue 18's item 7: CRLF from the box is the same text)."""
    draft = await draft_for(api)
    await publish_api(api, "Thanks, Erik.\nAnna", draft["id"])
    await publish_api(api, "Thanks again, Erik.\nAnna", None)
    desk = await desk_for("agent")
    status, page, _ = await desk.post(
        "/desk/reviews/r1/publish", {"text": "Thanks again, Erik.\r\nAnna", "update": "1"}
    )
    assert status == 200
    assert page.roles["status"] == ["No change: the published reply already has this text."]
    assert "Confirm publish" not in page.buttons
    assert "Publish updated reply" in page.buttons  # still on the Edit reply page
    assert [v["version"] for v in await versions(api)] == [1, 2]


async def test_publish_saves_nothing_before_confirm_and_cancel_keeps_the_text(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Item 8: the confirmation page has Cancel, and backing out leaves the draft as it was."""
    draft = await draft_for(api)
    desk = await desk_for("agent")
    typed = "Hi Erik,\r\nwe are sorry.\r\nAnna"
    status, page, _ = await desk.post(
        "/desk/reviews/r1/publish", {"text": typed, "draft_id": draft["id"]}
    )
    assert status == 200 and {"Confirm publish", "Cancel"} <= set(page.buttons)
    stored = (
        await api.client.get(f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN)
    ).json()
    assert stored["edited"] is False and stored["edited_by"] is None  # nothing saved yet
    status, page, _ = await desk.post(
        "/desk/reviews/r1/publish/cancel", {"text": typed, "draft_id": draft["id"]}
    )
    assert status == 200
    assert page.textarea("text") == typed
    assert "Publish reply" in page.buttons
    stored = (
        await api.client.get(f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN)
    ).json()
    assert stored["edited"] is False
    assert await versions(api) == []


async def test_after_an_update_the_old_draft_offers_no_publish(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Item 6: after "Publish updated reply" (version 2) the page leads with the reply, and the
    version-1 draft is shown as published, with nothing that would publish it again."""
    draft = await draft_for(api)
    desk = await desk_for("agent")
    await desk.http.publish("r1", draft["text"], draft["id"])
    assert await desk.http.update("r1", "Thanks again, Erik.") == 303
    status, page = await desk.get("/desk/reviews/r1?note=updated")
    assert status == 200
    assert page.roles["status"] == ["The updated reply was published as version 2."]
    assert "Publish reply" not in page.buttons and "Save edit" not in page.buttons
    assert "Edit reply" in page.links
    assert "published as version 1" in page.source
    assert page.source.index("Published reply") < page.source.index("Draft a new reply")
    # The draft's line in words an agent reads: no model id or prompt version in code form.
    meta = " ".join(page.source.split('id="draft-meta"')[1].split("</p>")[0].split())
    assert "Draft 1 of 10 · written from the built-in templates (no language model is set up)" in (
        meta
    )
    assert "prompt" not in meta and "reply-v1" not in meta
    assert [v["draft_id"] is not None for v in await versions(api)] == [True, False]


ROLE_SENTENCES = {
    "agent": "As an agent you can generate drafts, give feedback, edit drafts and publish replies.",
    "dashboard": "Your key's role (Dashboard) can generate drafts and give feedback; editing "
    "and publishing need an agent key.",
    "analyst": "Your key's role (Analyst) can read reviews, drafts and replies here, and see "
    "insights; generating drafts, feedback and publishing need a dashboard or agent key.",
    "admin": "As the platform admin you can do everything here: generate drafts, give "
    "feedback, edit and publish replies.",
}
# The controls each role's page offers, in each of the review's states.
CONTROLS = {
    "agent": {"Generate again", "Thumbs up", "Send feedback", "Save edit", "Publish reply"},
    "admin": {"Generate again", "Thumbs up", "Send feedback", "Save edit", "Publish reply"},
    "dashboard": {"Generate again", "Thumbs up", "Send feedback"},
    "analyst": set(),
}
ALL_CONTROLS = set().union(*CONTROLS.values())


@pytest.mark.parametrize("role", ["agent", "dashboard", "analyst", "admin"])
async def test_each_role_sees_what_it_may_do_in_each_state(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api, role: str
) -> None:
    """Item 4: one sentence says what the role can do, and the page offers exactly that, for a
    review without a reply, with one, and with an updated one."""
    draft = await draft_for(api)
    desk = await desk_for(role)
    states = {"unreplied": None, "replied": draft["id"], "updated": None}
    for state, draft_id in states.items():
        if state == "replied":
            await publish_api(api, "Thanks, Erik.", draft_id)
        if state == "updated":
            await publish_api(api, "Thanks again, Erik.", None)
        status, page = await desk.get("/desk/reviews/r1")
        assert status == 200
        shown = " ".join(html.unescape(page.source).split())
        sentences = [s for s in ROLE_SENTENCES.values() if s in shown]
        assert sentences == [ROLE_SENTENCES[role]], (state, sentences)
        offered = set(page.buttons) & ALL_CONTROLS
        expected = set(CONTROLS[role])
        if state != "unreplied":  # the published draft is frozen: nothing publishes it again
            expected -= {"Save edit", "Publish reply"}
        assert offered == expected, (state, offered)
        assert ("Edit reply" in page.links) == (state != "unreplied" and role in ("agent", "admin"))
        if role == "analyst":
            assert "<form" not in page.source.split("<main", 1)[1].split("</main>")[0]


async def test_a_role_without_insights_is_told_which_role_has_them(
    desk_for: Callable[[str], Awaitable[Desk]],
) -> None:
    desk = await desk_for("dashboard")
    status, page = await desk.get("/insights")
    assert status == 403
    assert page.roles["alert"] == [
        "Insights are for analysts and the platform admin; your key's role is Dashboard."
    ]
    assert "Sign out" in page.buttons  # the page keeps its header


async def test_thumbs_down_offers_only_its_own_reasons(
    desk_for: Callable[[str], Awaitable[Desk]], api: Api
) -> None:
    """Item 10: the reasons are grouped by direction; helpful is only with thumbs up."""
    await draft_for(api)
    desk = await desk_for("agent")
    _, page = await desk.get("/desk/reviews/r1")
    groups: dict[str, list[str]] = {}
    for group, value in page.options:
        if value and group in ("up", "down"):
            groups.setdefault(group, []).append(value)
    assert groups == {
        "up": ["helpful"],
        "down": ["wrong_tone", "inaccurate", "too_long", "too_generic", "wrong_language", "other"],
    }
    status, page, _ = await desk.post(
        f"/desk/reviews/r1/drafts/{(await api.generate('r1')).json()['id']}/feedback",
        {"vote": "down", "reason": "helpful", "comment": "Nice\r\nwords"},
    )
    assert status == 400
    assert page.roles["alert"][-1] == "Something in the form was not right."
    assert page.textarea("comment") == "Nice\r\nwords"


async def test_a_thumbs_up_after_publishing_on_the_desk_keeps_the_voice_example(
    desk_for: Callable[[str], Awaitable[Desk]],
    api: Api,
    client: httpx.AsyncClient,
    redis_client: aioredis.Redis,
    settings: Settings,
) -> None:
    """Issue 18, item 8: as the API's thumbs up does, the desk's makes an edited published
    reply an example of the company's voice."""
    draft = await draft_for(api)
    desk = await desk_for("agent")
    edited = draft["text"] + "\r\nWe have changed courier."
    assert await desk.http.publish("r1", edited, draft["id"]) == 303
    key = Keys(settings.redis_key_prefix).voice("acme")
    assert await redis_client.llen(key) == 0  # edited, no vote: not an example yet
    assert await desk.http.vote("r1", draft["id"], "up", None, None) == 303
    examples = await redis_client.lrange(key, 0, -1)
    assert len(examples) == 1 and "We have changed courier." in examples[0]

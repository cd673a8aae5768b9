"""Every face keeps the same rules: each write action, with the inputs that must be refused or
normalised, through the API and through the reply desk's form posts, leaves the same stored
outcome and answers with the same status.

A rule added to one face only fails here until both agree. The desk is driven as a browser
drives it: a session from /desk/sign-in, the page's CSRF token, form posts, and for a publish
the confirmation page's own hidden fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from reply_assist.settings import Settings
from reply_assist.store.keys import Keys
from tests.conftest import ADMIN, Api
from tests.desk_client import AGENT_ID, DeskClient

LONG = "x" * 10_001


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """The built-in templates: a draft says ``guidance_not_applied`` exactly when it was given
    guidance, which shows what the guidance became."""
    return dataclasses.replace(base_settings, openai_api_key=None, openai_base_url=None)


class Face:
    """One way in: ``do`` runs an action and returns the HTTP status the caller saw."""

    name: str

    async def edit(self, review: str, draft: str, text: str) -> int:
        raise NotImplementedError

    async def vote(
        self, review: str, draft: str, vote: str, reason: str | None, comment: str | None
    ) -> int:
        raise NotImplementedError

    async def publish(self, review: str, text: str, draft: str | None) -> int:
        raise NotImplementedError

    async def update(self, review: str, text: str) -> int:
        raise NotImplementedError

    async def generate(self, review: str, guidance: str | None) -> int:
        raise NotImplementedError


class DeskFace(DeskClient, Face):
    """The desk as a face of the table."""

    name = "desk"


class ApiFace(Face):
    name = "api"

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def _review(self, review: str) -> str:
        return f"/v1/companies/acme/reviews/{review}"

    async def edit(self, review: str, draft: str, text: str) -> int:
        body = {"text": text, "agent_id": AGENT_ID}
        r = await self.client.patch(
            f"{self._review(review)}/drafts/{draft}", json=body, headers=self.headers
        )
        return r.status_code

    async def vote(
        self, review: str, draft: str, vote: str, reason: str | None, comment: str | None
    ) -> int:
        body: dict[str, Any] = {"vote": vote, "agent_id": AGENT_ID}
        body |= {"reason": reason} if reason is not None else {}
        body |= {"comment": comment} if comment is not None else {}
        r = await self.client.post(
            f"{self._review(review)}/drafts/{draft}/feedback", json=body, headers=self.headers
        )
        return r.status_code

    async def publish(self, review: str, text: str, draft: str | None) -> int:
        body = {"text": text, "agent_id": AGENT_ID} | ({"draft_id": draft} if draft else {})
        r = await self.client.put(f"{self._review(review)}/reply", json=body, headers=self.headers)
        return r.status_code

    async def update(self, review: str, text: str) -> int:
        return await self.publish(review, text, None)

    async def generate(self, review: str, guidance: str | None) -> int:
        r = await self.client.post(
            f"{self._review(review)}/drafts",
            json={"guidance": guidance} if guidance is not None else None,
            headers=self.headers,
        )
        return r.status_code


@dataclass
class World:
    api: Api
    redis: aioredis.Redis
    keys: Keys
    reviews: int = 0
    drafts: dict[str, str] = field(default_factory=dict)

    async def review_with_draft(self) -> tuple[str, str]:
        self.reviews += 1
        review = f"r{self.reviews}"
        await self.api.review(review)
        r = await self.api.generate(review)
        assert r.status_code == 201, r.text
        self.drafts[review] = r.json()["id"]
        return review, r.json()["id"]

    async def outcome(self, review: str) -> dict[str, Any]:
        """What is stored, without ids and times: the drafts, the votes, the reply."""
        base = f"/v1/companies/acme/reviews/{review}"
        drafts = (await self.api.client.get(f"{base}/drafts", headers=ADMIN)).json()["items"]
        votes = {}
        for draft in drafts:
            raw = await self.redis.hgetall(self.keys.votes("acme", review, draft["id"]))
            for agent, vote in raw.items():
                v = msgspec.json.decode(vote)
                votes[(draft["generation"], agent)] = (v["vote"], v.get("reason"), v.get("comment"))
        reply = await self.api.client.get(f"{base}/reply", headers=ADMIN)
        versions = reply.json()["versions"] if reply.status_code == 200 else []
        return {
            "drafts": [
                {
                    "generation": d["generation"],
                    "text": d["text"],
                    "edited": d["edited"],
                    "edited_by": d["edited_by"],
                    "status": d["status"],
                    "warnings": d["warnings"],
                }
                for d in drafts
            ],
            "votes": votes,
            "reply": [
                (v["version"], v["text"], v["draft_id"] is not None, v["edited"], v["approved_by"])
                for v in versions
            ],
        }


Action = Callable[[Face, World, str, str], Awaitable[int]]


def edit(text: str) -> Action:
    return lambda face, world, review, draft: face.edit(review, draft, text)


def edit_unchanged() -> Action:
    async def action(face: Face, world: World, review: str, draft: str) -> int:
        generated = (await world.outcome(review))["drafts"][0]["text"]
        return await face.edit(review, draft, generated.replace("\n", "\r\n"))

    return action


def vote(v: str, reason: str | None = None, comment: str | None = None) -> Action:
    return lambda face, world, review, draft: face.vote(review, draft, v, reason, comment)


def publish(text: str, from_draft: bool = True) -> Action:
    return lambda face, world, review, draft: face.publish(
        review, text, draft if from_draft else None
    )


def update(text: str) -> Action:
    return lambda face, world, review, draft: face.update(review, text)


def generate(guidance: str | None) -> Action:
    return lambda face, world, review, draft: face.generate(review, guidance)


async def published_first(api: Api, review: str, draft: str) -> None:
    body = {"text": "Thanks, Erik.\nAnna", "agent_id": AGENT_ID, "draft_id": draft}
    r = await api.client.put(f"/v1/companies/acme/reviews/{review}/reply", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text


# (name, setup before the action, the action, the status class both faces must answer)
CASES: list[tuple[str, bool, Action, str]] = [
    ("edit with CRLF is kept with LF", False, edit("Hi Erik,\r\n\r\nThanks.\rAnna"), "2xx"),
    ("edit of braille blank", False, edit("\u2800"), "400"),
    ("edit of invisible characters", False, edit(" \u200b\u3164\u115f\u1160\uffa0\u034f "), "400"),
    ("edit over 10,000 characters", False, edit(LONG), "400"),
    ("edit equal to the draft but for CRLF saves nothing", False, edit_unchanged(), "2xx"),
    ("edit of a published draft", True, edit("A new text"), "409"),
    ("thumbs up, helpful", False, vote("up", "helpful"), "2xx"),
    ("thumbs down, helpful", False, vote("down", "helpful"), "400"),
    ("thumbs up, too long", False, vote("up", "too_long"), "400"),
    ("a comment of white space is none", False, vote("down", "wrong_tone", " \r\n\u200b"), "2xx"),
    ("a comment with CRLF", False, vote("down", None, "Too\r\nformal"), "2xx"),
    ("a comment over 2,000 characters", False, vote("down", None, "y" * 2001), "400"),
    ("publish of Hangul fillers", False, publish("\u3164\u115f"), "400"),
    ("publish with CRLF", False, publish("Hi Erik,\r\nthanks.\r\nAnna"), "2xx"),
    ("publish written by hand", False, publish("Thanks, Erik.", from_draft=False), "2xx"),
    ("publish over 10,000 characters", False, publish(LONG), "400"),
    ("update unchanged but for CRLF", True, update("Thanks, Erik.\r\nAnna"), "2xx"),
    ("update with a new text", True, update("Thanks again, Erik."), "2xx"),
    ("update to a blank text", True, update(" \u2800 "), "400"),
    ("guidance of white space is none", False, generate(" \r\n\u200b "), "2xx"),
    ("guidance is kept", False, generate("mention the new courier"), "2xx"),
    ("guidance over 500 characters", False, generate("g" * 501), "400"),
]


def status_class(status: int) -> str:
    return "2xx" if status < 300 or status == 303 else str(status)


@pytest.fixture
async def world(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, settings: Settings
) -> World:
    api = Api(client)
    await api.company("acme", languages=["en"])
    return World(api=api, redis=redis_client, keys=Keys(settings.redis_key_prefix))


@pytest.fixture
async def desk(client: httpx.AsyncClient) -> AsyncIterator[Callable[[str], Awaitable[DeskFace]]]:
    """A signed-in desk for a key: a client of the same service with cookies of its own."""
    clients: list[httpx.AsyncClient] = []

    async def open_desk(key: str) -> DeskFace:
        browser = httpx.AsyncClient(base_url=client.base_url, timeout=30)
        clients.append(browser)
        face = DeskFace(browser)
        await face.sign_in(key)
        return face

    yield open_desk
    for browser in clients:
        await browser.aclose()


async def new_key(api: Api, role: str) -> str:
    r = await api.client.post("/v1/companies/acme/api-keys", json={"role": role}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


async def test_every_write_action_keeps_the_same_rules_on_both_faces(
    world: World, desk: Callable[[str], Awaitable[DeskFace]]
) -> None:
    key = await new_key(world.api, "agent")
    faces: list[Face] = [
        ApiFace(world.api.client, {"Authorization": f"Bearer {key}"}),
        await desk(key),
    ]
    differences = []
    for name, publish_first, action, expected in CASES:
        seen = {}
        for face in faces:
            review, draft = await world.review_with_draft()
            if publish_first:
                await published_first(world.api, review, draft)
            before = await world.outcome(review)
            status = status_class(await action(face, world, review, draft))
            after = await world.outcome(review)
            if status != "2xx":
                assert after == before, f"{name} via {face.name}: refused, yet something changed"
            seen[face.name] = (status, after)
        api_status, api_after = seen["api"]
        desk_status, desk_after = seen["desk"]
        if api_status != expected or desk_status != expected:
            differences.append(f"{name}: expected {expected}, api {api_status}, desk {desk_status}")
        if api_after != desk_after:
            differences.append(f"{name}: stored\n  api  {api_after}\n  desk {desk_after}")
    assert not differences, "\n".join(differences)


# What each role may do, the same on both faces (the API's table in docs/api.md).
ROLE_CASES: list[tuple[str, Action, dict[str, str]]] = [
    ("generate", generate(None), {"dashboard": "2xx", "analyst": "403"}),
    ("vote", vote("up", "helpful"), {"dashboard": "2xx", "analyst": "403"}),
    ("edit", edit("Hi Erik, thanks."), {"dashboard": "403", "analyst": "403"}),
    ("publish", publish("Hi Erik, thanks."), {"dashboard": "403", "analyst": "403"}),
    ("update", update("Hi again, Erik."), {"dashboard": "403", "analyst": "403"}),
]


@pytest.mark.parametrize("role", ["dashboard", "analyst"])
async def test_each_role_may_do_the_same_on_both_faces(
    world: World, desk: Callable[[str], Awaitable[DeskFace]], role: str
) -> None:
    key = await new_key(world.api, role)
    faces: list[Face] = [
        ApiFace(world.api.client, {"Authorization": f"Bearer {key}"}),
        await desk(key),
    ]
    differences = []
    for name, action, expected in ROLE_CASES:
        seen = {}
        for face in faces:
            review, draft = await world.review_with_draft()
            if name == "update":
                await published_first(world.api, review, draft)
            before = await world.outcome(review)
            status = status_class(await action(face, world, review, draft))
            after = await world.outcome(review)
            if status != "2xx":
                assert after == before, f"{name} via {face.name}: refused, yet something changed"
            seen[face.name] = (status, after)
        for face_name, (status, _) in seen.items():
            if status != expected[role]:
                differences.append(f"{role} {name} via {face_name}: {status}, not {expected[role]}")
        if seen["api"][1] != seen["desk"][1]:
            differences.append(f"{role} {name}: stored {seen['api'][1]} / {seen['desk'][1]}")
    assert not differences, "\n".join(differences)


async def test_a_draft_counts_once_however_often_its_reply_is_updated_on_either_face(
    client: httpx.AsyncClient,
    settings: Settings,
    desk: Callable[[str], Awaitable[DeskFace]],
) -> None:
    """Publish a draft edited, then update the reply twice: through the API (once naming the
    draft again, once not) and through the desk (Publish reply, then Edit reply twice)."""
    api = Api(client)
    outcomes = {}
    for face_name in ("api", "desk"):
        company = f"acme-{face_name}"
        await api.company(company, languages=["en"])
        await api.review("r1", company_id=company)
        draft = (await api.generate("r1", company_id=company)).json()
        r = await client.post(
            f"/v1/companies/{company}/api-keys", json={"role": "agent"}, headers=ADMIN
        )
        key = r.json()["key"]
        texts = [draft["text"] + " Anna", draft["text"] + " Anna, Acme", "Thanks, Erik."]
        if face_name == "api":
            url = f"/v1/companies/{company}/reviews/r1/reply"
            bearer = {"Authorization": f"Bearer {key}"}
            for text, named in zip(texts, (draft["id"], draft["id"], None), strict=True):
                body = {"text": text, "agent_id": AGENT_ID} | ({"draft_id": named} if named else {})
                assert (await client.put(url, json=body, headers=bearer)).status_code < 300
        else:
            face = await desk(key)
            assert await face.publish("r1", texts[0], draft["id"]) == 303
            for text in texts[1:]:
                assert await face.update("r1", text) == 303
        r = await client.get(f"/v1/companies/{company}/feedback/stats", headers=ADMIN)
        stats = r.json()
        reply = (
            await client.get(f"/v1/companies/{company}/reviews/r1/reply", headers=ADMIN)
        ).json()
        outcomes[face_name] = {
            "published": stats["published"],
            "histogram_total": sum(stats["edit_ratio_histogram"].values()),
            "versions": [v["version"] for v in reply["versions"]],
        }
        assert stats["published"]["total"] == 3
        assert stats["published"]["from_draft"] == 1  # the draft, once
        assert stats["published"]["unedited"] == 0  # its first publish was edited
        assert sum(stats["edit_ratio_histogram"].values()) == 1
    assert outcomes["api"] == outcomes["desk"]

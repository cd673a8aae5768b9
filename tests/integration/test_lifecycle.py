"""The agent's flow after generation: edit, feedback, approve and publish, update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import respx

from reply_assist.store.replies import ReplyRepository
from tests.conftest import ADMIN, REPLY, Api

REVIEW_PATH = "/v1/companies/acme/reviews/r1"


async def setup(api: Api) -> tuple[dict[str, str], dict[str, Any]]:
    await api.company()
    await api.review()
    agent = await api.key(role="agent")
    r = await api.generate(headers=agent)
    assert r.status_code == 201, r.text
    return agent, r.json()


async def test_edit_keeps_the_generated_text(api: Api, llm: respx.MockRouter) -> None:
    agent, draft = await setup(api)
    r = await api.client.patch(
        f"{REVIEW_PATH}/drafts/{draft['id']}",
        json={"text": "Hi Erik, sorry! We changed courier.", "agent_id": "a-17"},
        headers=agent,
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["text"] == "Hi Erik, sorry! We changed courier."
    assert edited["generated_text"] == REPLY
    assert (edited["edited"], edited["edited_by"]) == (True, "a-17")
    again = await api.client.get(f"{REVIEW_PATH}/drafts/{draft['id']}", headers=agent)
    assert again.json() == edited


async def test_dashboard_cannot_edit_or_publish(api: Api, llm: respx.MockRouter) -> None:
    _, draft = await setup(api)
    dashboard = await api.key(role="dashboard")
    r = await api.client.patch(
        f"{REVIEW_PATH}/drafts/{draft['id']}",
        json={"text": "x", "agent_id": "a-1"},
        headers=dashboard,
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await api.client.put(
        f"{REVIEW_PATH}/reply", json={"text": "x", "agent_id": "a-1"}, headers=dashboard
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_edit_of_unknown_draft_is_404(api: Api, llm: respx.MockRouter) -> None:
    agent, _ = await setup(api)
    r = await api.client.patch(
        f"{REVIEW_PATH}/drafts/drf_missing", json={"text": "x", "agent_id": "a"}, headers=agent
    )
    assert (r.status_code, r.json()["code"]) == (404, "draft_not_found")


async def test_feedback_one_vote_per_agent(api: Api, llm: respx.MockRouter) -> None:
    agent, draft = await setup(api)
    url = f"{REVIEW_PATH}/drafts/{draft['id']}/feedback"
    r = await api.client.post(
        url, json={"vote": "down", "reason": "too_long", "agent_id": "a-1"}, headers=agent
    )
    assert r.status_code == 201, r.text
    assert r.json()["vote"] == "down"
    r = await api.client.post(
        url,
        json={"vote": "up", "reason": "helpful", "comment": "nice", "agent_id": "a-1"},
        headers=agent,
    )
    assert r.status_code == 201
    await api.client.post(url, json={"vote": "up", "agent_id": "a-2"}, headers=agent)
    stats = (await api.client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)).json()
    assert stats["votes"] == {"up": 2, "down": 0}
    assert stats["reasons"]["helpful"] == 1
    assert stats["reasons"]["too_long"] == 0  # replaced by the later vote
    for bad in (
        {"vote": "sideways", "agent_id": "a"},
        {"vote": "up"},
        {"vote": "up", "agent_id": "a", "reason": "bad_reason"},
        {"vote": "up", "agent_id": "a", "comment": "x" * 2001},
    ):
        r = await api.client.post(url, json=bad, headers=agent)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_request"), bad


async def test_publish_update_and_versions(
    api: Api, llm: respx.MockRouter, redis_client: Any, settings: Any
) -> None:
    agent, draft = await setup(api)
    first = await api.client.put(
        f"{REVIEW_PATH}/reply",
        json={"text": draft["text"], "agent_id": "a-17", "draft_id": draft["id"]},
        headers=agent,
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["version"] == 1
    assert (body["approved_by"], body["draft_id"], body["edited"]) == ("a-17", draft["id"], False)
    got = await api.client.get(f"{REVIEW_PATH}/drafts/{draft['id']}", headers=agent)
    assert got.json()["status"] == "published"
    second = await api.client.put(
        f"{REVIEW_PATH}/reply",
        json={
            "text": draft["text"] + " Welcome back!",
            "agent_id": "a-18",
            "draft_id": draft["id"],
        },
        headers=agent,
    )
    assert second.status_code == 200
    assert (second.json()["version"], second.json()["edited"]) == (2, True)
    third = await api.client.put(
        f"{REVIEW_PATH}/reply", json={"text": "Written by hand.", "agent_id": "a-19"}, headers=agent
    )
    assert third.status_code == 200
    assert (third.json()["draft_id"], third.json()["edited"]) == (None, False)
    reply = (await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)).json()
    assert reply["version"] == 3
    assert reply["text"] == "Written by hand."
    assert [v["version"] for v in reply["versions"]] == [1, 2, 3]
    assert [v["approved_by"] for v in reply["versions"]] == ["a-17", "a-18", "a-19"]
    # Each publish is an event on the stream, readable with a consumer group.
    stream = settings.events_stream
    await redis_client.xgroup_create(stream, "platform", id="0")
    read = await redis_client.xreadgroup("platform", "c1", {stream: ">"}, count=10)
    events = [fields for _, fields in read[0][1]]
    assert [e["type"] for e in events] == ["reply.published", "reply.updated", "reply.updated"]
    assert [e["version"] for e in events] == ["1", "2", "3"]
    assert events[0]["company_id"] == "acme"
    assert events[0]["review_id"] == "r1"
    assert events[0]["text"] == draft["text"]
    assert events[0]["agent_id"] == "a-17"
    assert events[0]["draft_id"] == draft["id"]
    assert events[2]["draft_id"] == ""
    assert events[0]["published_at"].endswith("Z")


async def test_generation_never_publishes(api: Api, llm: respx.MockRouter) -> None:
    agent, _ = await setup(api)
    for _ in range(3):
        assert (await api.generate(headers=agent)).status_code == 201
    r = await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)
    assert (r.status_code, r.json()["code"]) == (404, "reply_not_found")


async def test_publish_validates(api: Api, llm: respx.MockRouter) -> None:
    agent, _ = await setup(api)
    for bad in ({"text": "x"}, {"agent_id": "a"}, {"text": "", "agent_id": "a"}):
        r = await api.client.put(f"{REVIEW_PATH}/reply", json=bad, headers=agent)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_request"), bad
    r = await api.client.put(
        f"{REVIEW_PATH}/reply",
        json={"text": "x", "agent_id": "a", "draft_id": "drf_nope"},
        headers=agent,
    )
    assert (r.status_code, r.json()["code"]) == (404, "draft_not_found")
    r = await api.client.put(
        "/v1/companies/acme/reviews/nope/reply", json={"text": "x", "agent_id": "a"}, headers=agent
    )
    assert (r.status_code, r.json()["code"]) == (404, "review_not_found")


# --------------------------------------------------------------------------------------------
# Publishing twice, blank replies, edits after publishing
# --------------------------------------------------------------------------------------------


async def _events(redis_client: Any, settings: Any) -> list[dict[str, str]]:
    entries = await redis_client.xrange(settings.events_stream)
    return [fields for _, fields in entries]


async def _published_total(api: Api) -> int:
    stats = (await api.client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)).json()
    return int(stats["published"]["total"])


async def test_publishing_the_current_text_again_publishes_nothing(
    api: Api, llm: respx.MockRouter, redis_client: Any, settings: Any
) -> None:
    agent, draft = await setup(api)
    body = {"text": draft["text"], "agent_id": "a-17", "draft_id": draft["id"]}
    first = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=agent)
    assert first.status_code == 201, first.text
    again = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=agent)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the current version, as it was published
    # Another agent, or no draft named: the text is what counts.
    other = await api.client.put(
        f"{REVIEW_PATH}/reply", json={"text": draft["text"], "agent_id": "a-18"}, headers=agent
    )
    assert (other.status_code, other.json()) == (200, first.json())
    # A new text is a new version; sending it twice makes it once.
    update = {"text": "Hi Erik, our new courier delivers in 2 days. Anna", "agent_id": "a-17"}
    for expected in (200, 200):
        r = await api.client.put(f"{REVIEW_PATH}/reply", json=update, headers=agent)
        assert (r.status_code, r.json()["version"]) == (expected, 2), r.text
    reply = (await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)).json()
    assert [v["version"] for v in reply["versions"]] == [1, 2]
    assert [e["version"] for e in await _events(redis_client, settings)] == ["1", "2"]
    assert await _published_total(api) == 2


async def test_a_double_click_publishes_once(
    api: Api, llm: respx.MockRouter, redis_client: Any, settings: Any
) -> None:
    agent, draft = await setup(api)
    body = {"text": draft["text"], "agent_id": "a-17", "draft_id": draft["id"]}
    answers = await asyncio.gather(
        *(api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=agent) for _ in range(20))
    )
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201]
    assert {r.json()["version"] for r in answers} == {1}
    assert len(await _events(redis_client, settings)) == 1
    assert await _published_total(api) == 1


async def test_idempotency_key_on_publish(
    api: Api, llm: respx.MockRouter, redis_client: Any, settings: Any
) -> None:
    agent, draft = await setup(api)
    keyed = {**agent, "Idempotency-Key": "publish-1"}
    body = {"text": draft["text"], "agent_id": "a-17", "draft_id": draft["id"]}
    first = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    update = {"text": "Written by hand.", "agent_id": "a-18"}
    assert (await api.client.put(f"{REVIEW_PATH}/reply", json=update, headers=agent)).is_success
    # The retry of the first call replays its answer; it does not publish that text again.
    replay = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed)
    assert (replay.status_code, replay.json()) == (201, first.json())
    reused = await api.client.put(f"{REVIEW_PATH}/reply", json=update, headers=keyed)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    reply = (await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)).json()
    assert (reply["version"], reply["text"]) == (2, "Written by hand.")
    assert len(await _events(redis_client, settings)) == 2
    # A key is the publish's own: the same key on generate is another key.
    r = await api.generate(headers=keyed)
    assert r.status_code == 201, r.text


async def test_a_publish_key_in_use_is_409(
    api: Api, llm: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent, draft = await setup(api)
    keyed = {**agent, "Idempotency-Key": "publish-2"}
    body = {"text": draft["text"], "agent_id": "a-17"}
    inside, go_on = asyncio.Event(), asyncio.Event()
    publish = ReplyRepository.publish

    async def held_publish(self: ReplyRepository, *args: Any, **kwargs: Any) -> int | None:
        inside.set()
        await go_on.wait()
        return await publish(self, *args, **kwargs)

    monkeypatch.setattr(ReplyRepository, "publish", held_publish)
    first = asyncio.create_task(api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed))
    await asyncio.wait_for(inside.wait(), 10)
    try:
        retry = await asyncio.wait_for(
            api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed), 5
        )
    finally:
        go_on.set()
    assert (retry.status_code, retry.json()["code"]) == (409, "idempotency_key_in_use")
    assert (await first).status_code == 201
    again = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed)
    assert (again.status_code, again.json()) == (201, (await first).json())


async def test_a_failed_publish_frees_its_key(api: Api, llm: respx.MockRouter) -> None:
    agent, _ = await setup(api)
    keyed = {**agent, "Idempotency-Key": "publish-3"}
    body = {"text": "Hello Erik.", "agent_id": "a-17", "draft_id": "drf_gone"}
    r = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed)
    assert (r.status_code, r.json()["code"]) == (404, "draft_not_found")
    again = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=keyed)
    assert (again.status_code, again.json()["code"]) == (404, "draft_not_found")


@pytest.mark.parametrize("blank", [" ", "\n\t  \r\n", "\u00a0\u3000\u2003", "\u200b\u2060\ufeff"])
async def test_a_blank_reply_is_refused(api: Api, llm: respx.MockRouter, blank: str) -> None:
    agent, draft = await setup(api)
    for body in (
        {"text": blank, "agent_id": "a-17"},
        {"text": blank, "agent_id": "a-17", "draft_id": draft["id"]},
    ):
        r = await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=agent)
        assert (r.status_code, r.json()["code"]) == (400, "reply_blank"), r.text
    r = await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)
    assert (r.status_code, r.json()["code"]) == (404, "reply_not_found")


async def test_a_published_draft_cannot_be_edited(api: Api, llm: respx.MockRouter) -> None:
    agent, draft = await setup(api)
    body = {"text": draft["text"], "agent_id": "a-17", "draft_id": draft["id"]}
    assert (await api.client.put(f"{REVIEW_PATH}/reply", json=body, headers=agent)).is_success
    r = await api.client.patch(
        f"{REVIEW_PATH}/drafts/{draft['id']}",
        json={"text": "Something else entirely.", "agent_id": "a-17"},
        headers=agent,
    )
    assert (r.status_code, r.json()["code"]) == (409, "draft_already_published"), r.text
    got = (await api.client.get(f"{REVIEW_PATH}/drafts/{draft['id']}", headers=agent)).json()
    reply = (await api.client.get(f"{REVIEW_PATH}/reply", headers=agent)).json()
    assert got["text"] == reply["text"] == draft["text"]
    assert (got["status"], got["edited"]) == ("published", False)
    # Another draft of the review is still the agent's to edit.
    other = (await api.generate(headers=agent)).json()
    r = await api.client.patch(
        f"{REVIEW_PATH}/drafts/{other['id']}",
        json={"text": "Something else entirely.", "agent_id": "a-17"},
        headers=agent,
    )
    assert r.status_code == 200, r.text

"""The agent's flow after generation: edit, feedback, approve and publish, update."""

from __future__ import annotations

from typing import Any

import respx

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

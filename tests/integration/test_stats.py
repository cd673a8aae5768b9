"""Feedback statistics that match what the test did, for a company and across companies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from reply_assist.store.buckets import cover, widen
from tests.conftest import ADMIN, REPLY, Api, completion


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def stats(api: Api, path: str = "/v1/companies/acme/feedback/stats", **q: str) -> Any:
    r = await api.client.get(path, params=q, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


async def test_stats_match_the_activity(api: Api, llm: respx.MockRouter) -> None:
    await api.company("acme", languages=["sv", "en"])
    await api.company("other")
    agent = await api.key("acme", "agent")
    await api.review("r1", language="en")
    await api.review("r2", language="sv", text="Paketet kom tre veckor för sent, ingen svarade.")
    await api.review("x1", company_id="other")
    drafts = [(await api.generate("r1", headers=agent)).json() for _ in range(3)]
    sv = [(await api.generate("r2", headers=agent)).json() for _ in range(2)]
    assert (await api.generate("x1", company_id="other")).status_code == 201

    async def vote(draft: dict[str, Any], agent_id: str, vote: str, reason: str | None) -> None:
        body = {"vote": vote, "agent_id": agent_id, **({"reason": reason} if reason else {})}
        url = f"/v1/companies/acme/reviews/{draft['review_id']}/drafts/{draft['id']}/feedback"
        assert (await api.client.post(url, json=body, headers=agent)).status_code == 201

    await vote(drafts[0], "a-1", "down", "wrong_tone")
    await vote(drafts[0], "a-1", "up", "helpful")  # replaces the down vote
    await vote(drafts[0], "a-2", "up", None)
    await vote(drafts[1], "a-1", "down", "too_long")
    await vote(sv[0], "a-3", "down", "wrong_language")

    async def publish(review: str, text: str, draft_id: str | None) -> None:
        body = {"text": text, "agent_id": "a-1", **({"draft_id": draft_id} if draft_id else {})}
        r = await api.client.put(
            f"/v1/companies/acme/reviews/{review}/reply", json=body, headers=agent
        )
        assert r.status_code in (200, 201), r.text

    await publish("r1", drafts[0]["text"], drafts[0]["id"])  # unedited
    edited = drafts[0]["text"].replace("truly sorry", "very sorry")
    await publish("r1", edited, drafts[0]["id"])  # an update of the same draft: counted once
    await publish("r2", "Tack Erik!", None)  # by hand

    s = await stats(api)
    assert s["drafts"] == 5
    assert s["reviews_with_drafts"] == 2
    assert s["votes"] == {"up": 2, "down": 2}
    assert s["reasons"] == {
        "helpful": 1,
        "wrong_tone": 0,
        "inaccurate": 0,
        "too_long": 1,
        "too_generic": 0,
        "wrong_language": 1,
        "other": 0,
    }
    assert s["published"]["total"] == 3
    assert s["published"]["from_draft"] == 1  # one draft, however often its reply is updated
    assert s["published"]["unedited"] == 1  # as its first publish had it
    assert s["published"]["mean_edit_ratio"] == 0.0
    assert _ratio(REPLY, edited) > 0  # the update's edit is not in the mean
    assert s["by_language"] == {
        "en": {"drafts": 3, "up": 2, "down": 1},
        "sv": {"drafts": 2, "up": 0, "down": 1},
    }
    assert s["by_prompt_version"] == {"reply-v2": {"drafts": 5, "up": 2, "down": 2}}

    everyone = await stats(api, "/v1/feedback/stats")
    assert everyone["drafts"] == 6
    assert everyone["reviews_with_drafts"] == 3

    # Nothing happened before the test started, nor after now.
    past = await stats(api, until=iso(datetime.now(UTC) - timedelta(days=3)))
    assert past["drafts"] == 0
    assert past["votes"] == {"up": 0, "down": 0}
    assert past["published"]["mean_edit_ratio"] is None
    future = await stats(api, since=iso(datetime.now(UTC) + timedelta(minutes=5)))
    assert future["drafts"] == 0


def _ratio(a: str, b: str) -> float:
    """Levenshtein distance / the longer length, written out (the service uses rapidfuzz)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(a), len(b))


async def test_stats_require_analyst_or_admin(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    analyst = await api.key(role="analyst")
    r = await api.client.get("/v1/companies/acme/feedback/stats", headers=analyst)
    assert r.status_code == 200
    r = await api.client.get("/v1/feedback/stats", headers=analyst)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_until_before_since_is_400(api: Api) -> None:
    await api.company()
    r = await api.client.get(
        "/v1/companies/acme/feedback/stats",
        params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=ADMIN,
    )
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")


def test_a_year_is_covered_by_few_buckets() -> None:
    now = int(time.time())
    since, until = widen(now - 365 * 86400 + 1234, now, now)
    buckets = cover(since, until)
    assert buckets[0].index * buckets[0].level.seconds == since
    last = buckets[-1]
    assert (last.index + 1) * last.level.seconds == until
    assert len(buckets) < 365 + 2 * 24 + 2 * 60
    # Contiguous and non-overlapping.
    t = since
    for b in buckets:
        assert b.index * b.level.seconds == t
        t += b.level.seconds


def test_recent_edges_keep_minute_resolution() -> None:
    now = 1_800_000_000
    since, until = widen(now - 3600 - 125, now - 61, now)
    assert since == now - 3600 - 180  # rounded down to its minute
    assert (since % 60, until % 60) == (0, 0)
    old_since, _ = widen(now - 10 * 86400 - 125, now, now)
    assert old_since % 3600 == 0  # ten days back: hour resolution


async def test_llm_usage_is_unaffected_by_stats(api: Api, llm: respx.MockRouter) -> None:
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(REPLY, 10, 5)))
    await api.company()
    await api.review()
    r = await api.generate()
    assert r.json()["usage"] == {"prompt_tokens": 10, "completion_tokens": 5}

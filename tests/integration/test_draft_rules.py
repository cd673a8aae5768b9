"""Draft rules: a stored review that matches gets one draft in the background (``origin:
rule``), run by the job loop in the same process here (``run_jobs``), against a real Redis."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from reply_assist.app import open_runtime
from reply_assist.services import draft_jobs
from reply_assist.services.draft_jobs import JobPolicy
from reply_assist.settings import Settings
from tests.conftest import ADMIN, REPLY, Api, completion, serve

RULES = "/v1/companies/acme/draft-rules"


def recent(hours: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(
        base_settings, job_lease_s=1.0, job_backoff_s=0.2, job_max_attempts=3, worker_concurrency=10
    )


async def until(check: Callable[[], Awaitable[Any]], limit_s: float = 10.0) -> Any:
    deadline = time.monotonic() + limit_s
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def drafts_of(http: httpx.AsyncClient, review_id: str, company: str = "acme") -> list[Any]:
    r = await http.get(f"/v1/companies/{company}/reviews/{review_id}/drafts", headers=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def listed(http: httpx.AsyncClient, review_id: str) -> dict[str, Any]:
    r = await http.get("/v1/companies/acme/reviews", headers=ADMIN, params={"limit": 100})
    return next(i for i in r.json()["items"] if i["id"] == review_id)


async def rules_on(http: httpx.AsyncClient, company: str = "acme", **body: Any) -> None:
    r = await http.put(
        f"/v1/companies/{company}/draft-rules", json={"enabled": True, **body}, headers=ADMIN
    )
    assert r.status_code == 200, r.text


async def test_rules_are_off_until_set_and_validated_like_every_body(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.company()
    r = await client.get(RULES, headers=ADMIN)
    assert r.json() == {
        "enabled": False,
        "stars": [1, 2, 3, 4, 5],
        "languages": ["sv", "en"],
        "languages_set": False,
        "max_age_hours": 72,
        "updated_at": None,
    }
    r = await client.put(RULES, json={"enabled": True, "stars": [1, 6]}, headers=ADMIN)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "stars[1]"
    assert "allowed: 1, 2, 3, 4, 5" in r.json()["errors"][0]["message"]
    r = await client.put(RULES, json={"enabled": True, "languages": ["de"]}, headers=ADMIN)
    assert r.status_code == 400
    assert "allowed: 'sv', 'en'" in r.json()["detail"]
    r = await client.put(RULES, json={"enabled": True, "max_age_hours": 0}, headers=ADMIN)
    assert r.status_code == 400
    r = await client.put(
        RULES, json={"enabled": True, "stars": [2, 1, 2], "languages": ["EN"]}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    assert r.json()["stars"] == [1, 2]
    assert r.json()["languages"] == ["en"]
    assert r.json()["languages_set"] is True
    # Roles: admin and agent set; every company role reads.
    for role, status in (("agent", 200), ("dashboard", 403), ("analyst", 403)):
        key = await api.key(role=role)
        assert (await client.put(RULES, json={"enabled": False}, headers=key)).status_code == status
        assert (await client.get(RULES, headers=key)).status_code == 200
    other = await api.key("other-co") if False else None
    assert other is None
    assert (await client.get("/v1/companies/nope/draft-rules", headers=ADMIN)).status_code == 404


async def test_a_matching_review_gets_exactly_one_rule_draft(
    api: Api, llm: respx.MockRouter, settings: Settings, redis_client: Any
) -> None:
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        done_before = await jobs_done(http)  # the counter is the process's: other tests count
        await api.company()
        await rules_on(http, stars=[1, 2])
        await api.review("r1", created_at=recent())
        drafts = await until(lambda: drafts_of(http, "r1"))
        assert [d["origin"] for d in drafts] == ["rule"]
        assert drafts[0]["generation"] == 1 and drafts[0]["generations_left"] == 9
        item = await listed(http, "r1")
        assert item["draft_ready"] is True
        assert item["rule_draft"] == {"state": "drafted", "draft_id": drafts[0]["id"]}
        # Stored again (an update): still one rule draft, no second model call.
        await api.review("r1", created_at=recent(), title="Slow delivery!")
        await asyncio.sleep(1.0)
        assert len(await drafts_of(http, "r1")) == 1
        assert llm["chat"].call_count == 1
        # A person's draft is a request; stats split by origin, votes included.
        r = await api.generate("r1")
        assert r.json()["origin"] == "request"
        vote = {"vote": "up", "agent_id": "a-1", "reason": "helpful"}
        r = await http.post(
            f"/v1/companies/acme/reviews/r1/drafts/{drafts[0]['id']}/feedback",
            json=vote,
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        stats = (await http.get("/v1/companies/acme/feedback/stats", headers=ADMIN)).json()
        assert stats["by_origin"] == {
            "request": {"drafts": 1, "up": 0, "down": 0},
            "rule": {"drafts": 1, "up": 1, "down": 0},
        }
        assert await jobs_done(http) == done_before + 1


async def jobs_done(http: httpx.AsyncClient) -> float:
    metrics = (await http.get("/metrics")).text
    found = re.search(r'^reply_assist_jobs_total\{outcome="done"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_reviews_that_do_not_match_are_not_queued(
    api: Api, llm: respx.MockRouter, settings: Settings
) -> None:
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await rules_on(http, stars=[1, 2], languages=["en"], max_age_hours=72)
        await api.review("five-stars", stars=5, created_at=recent())
        await api.review("too-old", created_at=recent(hours=73))
        await api.review("swedish", language="sv", created_at=recent())
        await api.review("short", text="Bad.", created_at=recent())
        await api.review("control", created_at=recent())
        await until(lambda: drafts_of(http, "control"))
        for review_id in ("five-stars", "too-old", "swedish", "short"):
            assert await drafts_of(http, review_id) == []
            assert (await listed(http, review_id))["rule_draft"] is None
        assert llm["chat"].call_count == 1


async def test_a_review_that_stopped_matching_before_its_job_ran_is_skipped(
    api: Api, client: httpx.AsyncClient, llm: respx.MockRouter, settings: Settings
) -> None:
    # Queued while no worker runs; then the rules change, or the review is reported.
    await api.company()
    await rules_on(client)
    await api.review("r-rules", created_at=recent())
    await api.review("r-reported", created_at=recent(), stars=4)
    assert (await listed(client, "r-rules"))["rule_draft"] == {"state": "queued"}
    await api.review("r-reported", created_at=recent(), stars=4, reported=True)
    await rules_on(client, stars=[4, 5])  # r-rules has 2 stars
    async with serve(settings, run_jobs=True) as http:
        item = await until(
            lambda: _state(http, "r-rules", "skipped"),
        )
        assert item["rule_draft"] == {"state": "skipped", "reason": "stars_not_in_rules"}
        item = await until(lambda: _state(http, "r-reported", "skipped"))
        assert item["rule_draft"] == {"state": "skipped", "reason": "review_reported"}
    assert await drafts_of(client, "r-rules") == []
    assert llm["chat"].call_count == 0


async def _state(http: httpx.AsyncClient, review_id: str, state: str) -> dict[str, Any] | None:
    item = await listed(http, review_id)
    rule = item["rule_draft"]
    return item if rule is not None and rule["state"] == state else None


async def test_a_job_run_twice_makes_one_draft(
    api: Api, client: httpx.AsyncClient, llm: respx.MockRouter, settings: Settings
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=slow)
    await api.company()
    await rules_on(client)
    await api.review("r1", created_at=recent())
    policy = JobPolicy(lease_s=1, max_attempts=3, backoff_s=0.2)
    async with open_runtime(settings) as rt:
        [job] = await draft_jobs.fetch_jobs(rt, "test-worker", {"acme": 5})
        rules = (await draft_jobs.rules_of(rt, ["acme"]))["acme"]
        # Two runs of the same job at once (a takeover of a worker that was only slow) ...
        first, second = await asyncio.gather(
            draft_jobs.run_job(rt, "a", job, rules, policy),
            draft_jobs.run_job(rt, "b", job, rules, policy),
        )
        assert sorted([first.outcome, second.outcome]) == ["drafted", "skipped"]
        # ... and one more after both: it finds the draft and stops before the model.
        calls = llm["chat"].call_count
        third = await draft_jobs.run_job(rt, "c", job, rules, policy)
        assert (third.outcome, third.reason) == ("skipped", "already_drafted")
        assert llm["chat"].call_count == calls
        assert (await rt.jobs.stats(["acme"])).pending == 0
    drafts = await drafts_of(client, "r1")
    assert len(drafts) == 1
    r = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert r.json()["generations_used"] == 1  # the second run's slot was given back
    stats = (await client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)).json()
    assert stats["by_origin"]["rule"]["drafts"] == 1


async def test_model_failures_back_off_then_give_up_with_the_reason(
    api: Api, llm: respx.MockRouter, settings: Settings
) -> None:
    calls: list[float] = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        return httpx.Response(500, json={"error": {"message": "down"}})

    llm["chat"].mock(side_effect=failing)
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await rules_on(http)
        await api.review("r1", created_at=recent())
        item = await until(lambda: _state(http, "r1", "failed"), limit_s=20)
        assert item["rule_draft"] == {"state": "failed", "reason": "llm_unavailable:http_status"}
        metrics = (await http.get("/metrics")).text
    assert len(calls) == settings.job_max_attempts == 3
    # Backoff 0.2 s, then 0.4 s (the retry is due once its idle time reaches the lease).
    assert calls[1] - calls[0] >= 0.2 and calls[2] - calls[1] >= 0.4
    assert 'reply_assist_jobs_total{outcome="retried"} 2.0' in metrics
    assert 'reply_assist_jobs_total{outcome="failed"} 1.0' in metrics


async def test_one_company_s_queue_does_not_hold_back_another_company_s_first_job(
    api: Api, client: httpx.AsyncClient, llm: respx.MockRouter, settings: Settings
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=completion(REPLY))

    llm["chat"].mock(side_effect=slow)
    for company in ("big", "small"):
        await api.company(company)
        await rules_on(client, company)
    created = recent()
    for n in range(0, 200, 50):
        await asyncio.gather(
            *(api.review(f"r{i}", "big", created_at=created) for i in range(n, n + 50))
        )
    await api.review("first", "small", created_at=created)
    # 10 at once, at most 7 for one company: "big" alone needs 200 / 7 x 0.2 s = 5.7 s.
    started = time.monotonic()
    async with serve(settings, run_jobs=True) as http:
        await until(lambda: drafts_of(http, "first", "small"), limit_s=10)
        took = time.monotonic() - started
        r = await http.get("/v1/companies/big/reviews", headers=ADMIN, params={"limit": 100})
        waiting = sum(1 for i in r.json()["items"] if not i["draft_ready"])
    assert took < 2.0, took
    assert waiting > 50  # "big" was still far from done


async def test_run_queues_stored_reviews_that_match_now(
    api: Api, client: httpx.AsyncClient, llm: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.company()
    await api.review("old", created_at=recent(hours=200))
    await api.review("new", created_at=recent())
    await api.review("short", text="Bad.", created_at=recent())
    await api.review("earlier", created_at=recent(hours=1000))
    run = "/v1/companies/acme/draft-rules/run"
    since = recent(hours=500)
    r = await client.post(run, json={"since": since}, headers=ADMIN)
    assert r.json() == {"queued": 0, "examined": 0, "next_until": None}  # rules off
    await rules_on(client)
    r = await client.post(run, json={"since": since}, headers=ADMIN)
    assert r.json() == {"queued": 2, "examined": 3, "next_until": None}
    r = await client.post(run, json={"since": since}, headers=ADMIN)
    assert r.json()["queued"] == 0  # queued once
    assert (await listed(client, "old"))["rule_draft"] == {"state": "queued"}
    assert (await listed(client, "earlier"))["rule_draft"] is None
    r = await client.post(run, json={"since": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert r.status_code == 400
    # Bounded: at most RUN_MAX_REVIEWS a call, and where to go on.
    monkeypatch.setattr("reply_assist.services.draft_rules.RUN_MAX_REVIEWS", 2)
    monkeypatch.setattr("reply_assist.services.draft_rules._RUN_PAGE", 2)
    r = await client.post(run, json={"since": since}, headers=ADMIN)
    assert r.json()["examined"] == 2 and r.json()["next_until"] is not None
    r = await client.post(
        run, json={"since": since, "until": r.json()["next_until"]}, headers=ADMIN
    )
    # The last one looked at is looked at again (reviews created in the same microsecond are
    # never skipped), then the one left; nothing is queued twice.
    assert r.json() == {"queued": 0, "examined": 2, "next_until": None}


async def test_the_embedded_store_drafts_by_rules_in_the_serving_process(
    with_settings: Callable[..., Settings], llm: respx.MockRouter
) -> None:
    settings = with_settings(redis_url=None)
    async with serve(settings) as http:  # no Redis: jobs run here without being asked
        api = Api(http)
        await api.company()
        await rules_on(http)
        await api.review("r1", created_at=recent())
        drafts = await until(lambda: drafts_of(http, "r1"))
        assert drafts[0]["origin"] == "rule"


async def test_jobs_of_two_companies_with_the_same_entry_id_both_run(
    api: Api,
    client: httpx.AsyncClient,
    llm: respx.MockRouter,
    settings: Settings,
    redis_client: Any,
    prefix: str,
) -> None:
    # Entry ids are times: two companies' streams often hold the same id. A worker that told
    # its jobs apart by id alone left one of them to wait for the lease.
    for company in ("a", "b"):
        await api.company(company)
        await api.review("r1", company, created_at=recent())
        await rules_on(client, company)
        await redis_client.xadd(f"{prefix}:{{c:{company}}}/jobs", {"r": "r1"}, id="1-1")
        await redis_client.hset(f"{prefix}:{{c:{company}}}/r/r1", "rule", "q:1-1")
    from dataclasses import replace

    async with serve(replace(settings, job_lease_s=30), run_jobs=True) as http:
        for company in ("a", "b"):
            await until(lambda c=company: drafts_of(http, "r1", c), limit_s=3)


async def test_stopped_workers_names_are_dropped_only_without_jobs(
    api: Api, client: httpx.AsyncClient, settings: Settings, redis_client: Any, prefix: str
) -> None:
    await api.company()
    await rules_on(client)
    await api.review("r1", created_at=recent())
    stream = f"{prefix}:{{c:acme}}/jobs"
    async with open_runtime(settings) as rt:
        [job] = await draft_jobs.fetch_jobs(rt, "holds-a-job", {"acme": 5})
        await redis_client.xgroup_createconsumer(stream, "drafters", "holds-nothing")
        assert await rt.jobs.forget_idle_consumers(["acme"], idle_ms=0) == 1
    names = [c["name"] for c in await redis_client.xinfo_consumers(stream, "drafters")]
    assert names == ["holds-a-job"]  # its job stays pending, to be taken over
    assert (await redis_client.xpending(stream, "drafters"))["pending"] == 1
    assert job.review_id == "r1"

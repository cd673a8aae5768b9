"""Feedback statistics filtered and split by the reviewer's country, kept by the same counters
(and scripts) as the rest, at the same cost per query and per generate call."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
import respx
from redis.asyncio.client import Pipeline

from reply_assist.settings import Settings
from reply_assist.store.keys import Keys
from tests.conftest import ADMIN, Api, serve

pytestmark = pytest.mark.usefixtures("llm")

SV_TEXT = "Paketet kom tre veckor för sent och ingen svarade på mina mejl."


async def stats(api: Api, path: str = "/v1/companies/acme/feedback/stats", **q: str) -> Any:
    r = await api.client.get(path, params=q, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


async def vote(api: Api, draft: dict[str, Any], agent: str, vote: str, reason: str | None) -> None:
    body = {"vote": vote, "agent_id": agent, **({"reason": reason} if reason else {})}
    url = f"/v1/companies/acme/reviews/{draft['review_id']}/drafts/{draft['id']}/feedback"
    r = await api.client.post(url, json=body, headers=ADMIN)
    assert r.status_code == 201, r.text


async def publish(api: Api, review: str, text: str, draft_id: str | None = None) -> None:
    body = {"text": text, "agent_id": "a-1", **({"draft_id": draft_id} if draft_id else {})}
    r = await api.client.put(f"/v1/companies/acme/reviews/{review}/reply", json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text


async def draft(api: Api, review: str) -> dict[str, Any]:
    r = await api.generate(review)
    assert r.status_code == 201, r.text
    return dict(r.json())


def breakdown(drafts: int, up: int, down: int) -> dict[str, int]:
    return {"drafts": drafts, "up": up, "down": down}


async def test_stats_by_country_match_the_activity(api: Api) -> None:
    await api.company(languages=["sv", "en"])
    await api.review("fr-en", language="en", country="FR")
    await api.review("fr-sv", language="sv", country="fr", text=SV_TEXT)
    await api.review("de-en", language="en", country="DE")
    await api.review("nowhere", language="en")  # no country: counts under none
    fr_en = [await draft(api, "fr-en") for _ in range(2)]
    fr_sv = await draft(api, "fr-sv")
    de_en = await draft(api, "de-en")
    nowhere = await draft(api, "nowhere")

    await vote(api, fr_en[0], "a-1", "down", "wrong_tone")
    await vote(api, fr_en[0], "a-1", "up", "helpful")  # replaces the down vote
    await vote(api, fr_en[1], "a-1", "down", "too_long")
    await vote(api, de_en, "a-1", "up", None)
    await vote(api, nowhere, "a-1", "down", "other")
    # The review moves to another country after its draft: the draft's votes stay French.
    await api.review("fr-sv", language="sv", country="DE", text=SV_TEXT)
    await vote(api, fr_sv, "a-2", "down", "wrong_language")

    await publish(api, "fr-en", fr_en[0]["text"], fr_en[0]["id"])  # unedited
    await publish(api, "fr-en", fr_en[0]["text"] + " Anna", fr_en[0]["id"])  # an edited update
    await publish(api, "de-en", "Thanks!")  # by hand: the review's country
    await publish(api, "nowhere", "Thanks!")

    everything = await stats(api)
    assert everything["drafts"] == 5
    assert everything["by_country"] == {"DE": breakdown(1, 1, 0), "FR": breakdown(3, 1, 2)}
    assert everything["published"]["total"] == 4

    fr = await stats(api, country="FR")
    lower = await stats(api, country="fr")  # any case
    assert {**lower, "until": fr["until"]} == fr
    assert fr["drafts"] == 3
    assert fr["reviews_with_drafts"] == 2
    assert fr["votes"] == {"up": 1, "down": 2}
    assert {k: v for k, v in fr["reasons"].items() if v} == {
        "helpful": 1,
        "too_long": 1,
        "wrong_language": 1,
    }
    assert {k: v for k, v in fr["down_reasons"].items() if v} == {
        "too_long": 1,
        "wrong_language": 1,
    }
    # A draft counts once: the edited update names the same draft and adds to the total only.
    assert fr["published"] == {"total": 2, "from_draft": 1, "unedited": 1, "mean_edit_ratio": 0.0}
    assert fr["by_country"] == {"FR": breakdown(3, 1, 2)}
    assert fr["by_language"] == {"en": breakdown(2, 1, 1), "sv": breakdown(1, 0, 1)}
    assert fr["by_prompt_version"] == {"reply-v2": breakdown(3, 1, 2)}
    assert fr["generations_histogram"]["1"] == 1  # fr-sv
    assert fr["generations_histogram"]["2"] == 1  # fr-en
    assert fr["edit_ratio_histogram"]["0"] == sum(fr["edit_ratio_histogram"].values()) == 1

    de = await stats(api, country="DE")
    assert (de["drafts"], de["reviews_with_drafts"], de["votes"]) == (1, 1, {"up": 1, "down": 0})
    assert de["published"] == {"total": 1, "from_draft": 0, "unedited": 0, "mean_edit_ratio": None}
    assert de["by_country"] == {"DE": breakdown(1, 1, 0)}
    assert de["by_language"] == {"en": breakdown(1, 1, 0)}

    # Both filters: drafts in that language for reviewers from that country.
    fr_sv_stats = await stats(api, country="FR", language="sv")
    assert (fr_sv_stats["drafts"], fr_sv_stats["reviews_with_drafts"]) == (1, 1)
    assert fr_sv_stats["votes"] == {"up": 0, "down": 1}
    assert fr_sv_stats["published"]["total"] == 0
    assert fr_sv_stats["by_language"] == {"sv": breakdown(1, 0, 1)}
    assert fr_sv_stats["by_country"] == {"FR": breakdown(1, 0, 1)}
    fr_en_stats = await stats(api, country="FR", language="en")
    assert (fr_en_stats["drafts"], fr_en_stats["published"]["total"]) == (2, 2)
    # The split by country within one language.
    en = await stats(api, language="en")
    assert en["by_country"] == {"DE": breakdown(1, 1, 0), "FR": breakdown(2, 1, 1)}
    assert en["drafts"] == 4  # "nowhere" is English, under no country

    nobody = await stats(api, country="SE")
    assert (nobody["drafts"], nobody["votes"], nobody["by_country"]) == (
        0,
        {"up": 0, "down": 0},
        {},
    )

    # The series splits by country too.
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    series = (await stats(api, interval="day", since=since))["series"]
    assert sum(b["by_country"].get("FR", {}).get("drafts", 0) for b in series) == 3
    series = (await stats(api, interval="day", since=since, country="FR"))["series"]
    assert sum(b["drafts"] for b in series) == 3
    assert {c for b in series for c in b["by_country"]} == {"FR"}


async def test_every_companys_stats_by_country(api: Api) -> None:
    for company in ("acme", "other"):
        await api.company(company, languages=["en"])
        await api.review("r1", company_id=company, language="en", country="FR")
        assert (await api.generate("r1", company_id=company)).status_code == 201
    await api.review("r2", language="en", country="DE")
    assert (await api.generate("r2")).status_code == 201
    every = await stats(api, "/v1/feedback/stats", country="FR")
    assert every["drafts"] == 2
    assert every["by_country"]["FR"]["drafts"] == every["drafts"]
    assert "DE" not in every["by_country"]


@pytest.mark.parametrize("country", ["XX", "France", "UK", "1"])
async def test_a_country_filter_that_is_no_country_is_400(api: Api, country: str) -> None:
    await api.company()
    r = await api.client.get(
        "/v1/companies/acme/feedback/stats", params={"country": country}, headers=ADMIN
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"
    assert r.json()["detail"] == (
        f"Invalid 'country': {country!r} is not an assigned ISO 3166-1 alpha-2 country code "
        "(two letters, e.g. FR, DE, US)."
    )


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the service sends Redis, one entry per round trip (a pipeline is one)."""
    sent: list[str] = []
    command = aioredis.Redis.execute_command
    execute = Pipeline.execute

    async def counted_command(self: Any, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return await command(self, *args, **options)

    async def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"pipeline of {len(self.command_stack)}")
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(aioredis.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_pipeline)
    return sent


async def test_counting_by_country_costs_no_round_trip(
    api: Api, round_trips: list[str], llm: respx.MockRouter
) -> None:
    await api.company(languages=["en"], market_star_shift={"FR": 1})
    key = await api.key()
    await api.review("fr", language="en", country="FR")
    await api.review("plain", language="en")
    assert (await api.generate("fr", headers=key)).status_code == 201  # scripts loaded
    for review in ("plain", "fr"):
        round_trips.clear()
        r = await api.generate(review, headers=key)
        assert r.status_code == 201, r.text
        assert len(round_trips) == 2, round_trips  # before the model, and the commit

    # A query reads the same buckets, in the same pipeline, with or without the filter. A fixed
    # range in the past: one ending "now" reads one more bucket when a minute turns between two
    # queries, which has nothing to do with the filter.
    minute = int(time.time()) // 60 * 60
    window = {"since": _iso(minute - 3600), "until": _iso(minute)}

    def query_trips() -> list[str]:
        return list(round_trips)

    round_trips.clear()
    await stats(api, **window)
    unfiltered = query_trips()
    round_trips.clear()
    await stats(api, country="FR", **window)
    assert query_trips() == unfiltered
    round_trips.clear()
    await stats(api, country="FR", language="en", **window)
    assert query_trips() == unfiltered


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


async def test_a_retried_generate_counts_once_under_its_country(api: Api) -> None:
    """The commit script finds the country's keys after the optional Idempotency-Key record."""
    await api.company(languages=["en"])
    await api.review("fr", language="en", country="FR")
    headers = {**ADMIN, "Idempotency-Key": "k-1"}
    first = await api.generate("fr", headers=headers)
    again = await api.generate("fr", headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    fr = await stats(api, country="FR")
    assert (fr["drafts"], fr["reviews_with_drafts"]) == (1, 1)
    assert fr["by_country"] == {"FR": breakdown(1, 0, 0)}
    # The record holds the answer: a third call still replays it.
    third = await api.generate("fr", headers=headers)
    assert third.json()["id"] == first.json()["id"]
    assert (await stats(api))["drafts"] == 1


async def test_a_rule_draft_counts_under_its_country_and_finishes_its_job(
    base_settings: Settings, redis_client: aioredis.Redis, llm: respx.MockRouter
) -> None:
    """The commit script finds the country's keys before the job's stream, which stays last:
    the background draft is written in the shifted band, counted under FR with its origin, and
    its job leaves the stream."""
    settings = replace(base_settings, job_lease_s=1.0, job_backoff_s=0.2)
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company(languages=["en"], market_star_shift={"FR": 1})
        r = await http.put(
            "/v1/companies/acme/draft-rules", json={"enabled": True, "stars": [2]}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
        recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        await api.review("fr", language="en", country="FR", stars=2, created_at=recent)

        async def rule_drafts() -> list[Any]:
            got = await http.get("/v1/companies/acme/reviews/fr/drafts", headers=ADMIN)
            return list(got.json()["items"])

        for _ in range(200):
            drafts = await rule_drafts()
            if drafts:
                break
            await asyncio.sleep(0.05)
        assert [(d["origin"], d["star_band"]) for d in drafts] == [("rule", "mixed")]
        await vote(api, drafts[0], "a-1", "up", "helpful")
        fr = await stats(api, country="FR")
        assert (fr["drafts"], fr["reviews_with_drafts"]) == (1, 1)
        assert fr["by_origin"] == {"request": breakdown(0, 0, 0), "rule": breakdown(1, 1, 0)}
        assert fr["by_country"] == {"FR": breakdown(1, 1, 0)}
        listed = await http.get("/v1/companies/acme/reviews", headers=ADMIN)
        item = next(i for i in listed.json()["items"] if i["id"] == "fr")
        assert item["rule_draft"] == {"state": "drafted", "draft_id": drafts[0]["id"]}
        jobs = Keys(settings.redis_key_prefix).jobs("acme")
        assert await redis_client.exists(jobs) and await redis_client.xlen(jobs) == 0
    assert llm["chat"].call_count == 1

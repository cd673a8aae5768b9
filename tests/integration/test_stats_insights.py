"""What the insights page reads from the stats: series, histograms, reasons, a language filter."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import respx
from rapidfuzz.distance import Levenshtein

from reply_assist.services.stats import _generations, _interval_starts
from reply_assist.store.stats import EDIT_RATIO_BUCKETS, edit_ratio_bucket
from tests.conftest import ADMIN, REPLY, Api

STATS = "/v1/companies/acme/feedback/stats"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def stats(api: Api, path: str = STATS, **q: str) -> Any:
    r = await api.client.get(path, params=q, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


async def vote(api: Api, draft: dict[str, Any], agent: str, v: str, reason: str | None) -> None:
    body = {"vote": v, "agent_id": agent, **({"reason": reason} if reason else {})}
    url = f"/v1/companies/acme/reviews/{draft['review_id']}/drafts/{draft['id']}/feedback"
    r = await api.client.post(url, json=body, headers=ADMIN)
    assert r.status_code == 201, r.text


async def publish(api: Api, review: str, text: str, draft_id: str | None = None) -> None:
    body = {"text": text, "agent_id": "a-1", **({"draft_id": draft_id} if draft_id else {})}
    r = await api.client.put(f"/v1/companies/acme/reviews/{review}/reply", json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text


async def activity(api: Api) -> dict[str, list[dict[str, Any]]]:
    """en: r1 gets 3 drafts, r2 1; sv: r3 gets 2. Votes, reasons and publishes on them."""
    await api.company("acme", languages=["sv", "en"])
    await api.review("r1", language="en")
    await api.review("r2", language="en")
    await api.review("r3", language="sv", text="Paketet kom tre veckor för sent, ingen svarade.")
    made: dict[str, list[dict[str, Any]]] = {}
    for review, n in (("r1", 3), ("r2", 1), ("r3", 2)):
        made[review] = [(await api.generate(review)).json() for _ in range(n)]
    await vote(api, made["r1"][0], "a-1", "down", "wrong_tone")
    await vote(api, made["r1"][0], "a-1", "down", "too_long")  # replaces: counts once
    await vote(api, made["r1"][1], "a-2", "up", "helpful")
    await vote(api, made["r3"][0], "a-3", "down", "wrong_language")
    await vote(api, made["r3"][1], "a-3", "up", None)
    await publish(api, "r1", REPLY, made["r1"][0]["id"])  # unedited: ratio 0
    # An update naming the same draft: a publish, but the draft counts once (its first).
    await publish(api, "r1", REPLY.replace("truly sorry", "so sorry"), made["r1"][0]["id"])
    await publish(api, "r3", "Tack Erik! " * 3, made["r3"][1]["id"])  # rewritten
    await publish(api, "r2", "Thank you, Erik.")  # by hand, counted as the review's (en)
    return made


async def test_insights_fields_match_the_activity(api: Api, llm: respx.MockRouter) -> None:
    await activity(api)
    s = await stats(api)
    assert s["down_reasons"] == {
        "helpful": 0,
        "wrong_tone": 0,
        "inaccurate": 0,
        "too_long": 1,
        "too_generic": 0,
        "wrong_language": 1,
        "other": 0,
    }
    assert s["reasons"]["helpful"] == 1  # all reasons, as before
    # r1's draft counts once, by its first publish (unedited); r3's draft by its only one.
    ratios = [0.0, Levenshtein.normalized_distance(REPLY, "Tack Erik! " * 3)]
    expected = Counter(EDIT_RATIO_BUCKETS[edit_ratio_bucket(r)] for r in ratios)
    assert s["edit_ratio_histogram"] == {label: expected[label] for label in EDIT_RATIO_BUCKETS}
    assert s["edit_ratio_histogram"]["0"] == 1
    assert sum(s["edit_ratio_histogram"].values()) == s["published"]["from_draft"] == 2
    assert s["published"]["total"] == 4
    assert s["generations_histogram"] == {
        **{str(n): 0 for n in range(1, 11)},
        "1": 1,  # r2
        "2": 1,  # r3
        "3": 1,  # r1
    }
    # What was there stays as it was.
    assert s["drafts"] == 6 and s["votes"] == {"up": 2, "down": 2}
    assert "series" not in s


async def test_the_language_filter(api: Api, llm: respx.MockRouter) -> None:
    await activity(api)
    en = await stats(api, language="en")
    assert en["drafts"] == 4
    assert en["reviews_with_drafts"] == 2
    assert en["votes"] == {"up": 1, "down": 1}
    assert en["down_reasons"]["too_long"] == 1 and en["down_reasons"]["wrong_language"] == 0
    assert en["published"]["total"] == 3  # two of r1's draft, one by hand on r2
    assert en["published"]["from_draft"] == 1 and en["published"]["unedited"] == 1
    assert en["by_language"] == {"en": {"drafts": 4, "up": 1, "down": 1}}
    assert en["by_prompt_version"] == {"reply-v2": {"drafts": 4, "up": 1, "down": 1}}
    assert en["generations_histogram"]["3"] == 1 and en["generations_histogram"]["2"] == 0
    sv = await stats(api, language="SV")
    assert (sv["drafts"], sv["reviews_with_drafts"], sv["votes"]) == (2, 1, {"up": 1, "down": 1})
    assert sv["published"]["total"] == 1
    assert sv["by_language"] == {"sv": {"drafts": 2, "up": 1, "down": 1}}
    none = await stats(api, language="de")
    assert (none["drafts"], none["published"]["total"], none["by_language"]) == (0, 0, {})
    everyone = await stats(api, "/v1/feedback/stats", language="sv")
    assert everyone["drafts"] == 2


async def test_daily_and_weekly_series(api: Api, llm: respx.MockRouter) -> None:
    await activity(api)
    now = datetime.now(UTC)
    since = now - timedelta(days=3, hours=1)
    s = await stats(api, since=iso(since), interval="day")
    days = [since.date() + timedelta(days=i) for i in range((now.date() - since.date()).days + 1)]
    assert [b["start"] for b in s["series"]] == [f"{d.isoformat()}T00:00:00Z" for d in days]
    today = s["series"][-1]
    assert all(b["drafts"] == b["up"] == b["published"] == 0 for b in s["series"][:-1])
    assert today["by_language"] == s["by_language"]
    assert today["by_prompt_version"] == s["by_prompt_version"]
    assert (today["drafts"], today["up"], today["down"]) == (6, 2, 2)
    assert (today["published"], today["unedited"]) == (4, 1)

    since = now - timedelta(days=20)
    weekly = await stats(api, since=iso(since), interval="week", language="en")
    monday = since.date() - timedelta(days=since.weekday())
    expected_weeks = []
    while monday <= now.date():
        expected_weeks.append(f"{monday.isoformat()}T00:00:00Z")
        monday += timedelta(days=7)
    assert [b["start"] for b in weekly["series"]] == expected_weeks
    assert sum(b["drafts"] for b in weekly["series"]) == weekly["drafts"] == 4
    assert weekly["series"][-1]["by_language"] == {"en": {"drafts": 4, "up": 1, "down": 1}}


async def test_until_is_the_request_time_when_not_given(api: Api) -> None:
    await api.company()
    before = int(time.time())
    s = await stats(api)
    after = int(time.time())
    until = int(datetime.fromisoformat(s["until"].replace("Z", "+00:00")).timestamp())
    assert before <= until <= after, s["until"]
    future = await stats(api, until=iso(datetime.now(UTC) + timedelta(days=1)))
    until = int(datetime.fromisoformat(future["until"].replace("Z", "+00:00")).timestamp())
    assert until <= int(time.time())


async def test_a_range_where_nothing_can_have_happened_has_an_empty_series(api: Api) -> None:
    await api.company()
    before_2000 = await stats(api, until="1999-05-28T20:11:56Z", interval="week")
    assert before_2000["series"] == [] and before_2000["drafts"] == 0
    future = iso(datetime.now(UTC) + timedelta(days=2))
    assert (await stats(api, since=future, interval="day"))["series"] == []


async def test_bad_insights_queries(api: Api) -> None:
    await api.company()
    for params, field in (
        ({"interval": "month"}, "interval"),
        ({"interval": "day"}, "interval"),  # since defaults to 2000: too many buckets
        ({"language": "swedish"}, "language"),
    ):
        r = await api.client.get(STATS, params=params, headers=ADMIN)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_request"
        assert f"'{field}'" in r.json()["detail"], r.json()


@pytest.mark.parametrize(
    ("day", "interval", "first"),
    [
        (date(2026, 12, 4), "week", date(2026, 11, 30)),  # a Friday: its Monday
        (date(2026, 11, 30), "week", date(2026, 11, 30)),  # a Monday: itself
        (date(2026, 12, 6), "week", date(2026, 11, 30)),  # a Sunday: the Monday before
        (date(2026, 12, 4), "day", date(2026, 12, 4)),
    ],
)
def test_interval_starts_are_utc_midnights_and_mondays(
    day: date, interval: str, first: date
) -> None:
    start = int(datetime(day.year, day.month, day.day, 13, 7, tzinfo=UTC).timestamp())
    starts = _interval_starts(start, start + 86400 * 8, interval)  # type: ignore[arg-type]
    assert starts[0] == int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())
    step = 86400 * (7 if interval == "week" else 1)
    assert all(b - a == step for a, b in itertools.pairwise(starts))


def test_generations_from_counts_by_generation_number() -> None:
    # Three reviews: one drafted once, one twice, one three times.
    counts = Counter({"gen:1": 3, "gen:2": 2, "gen:3": 1})
    assert {k: v for k, v in _generations(counts).items() if v} == {"1": 1, "2": 1, "3": 1}
    # A review whose first two drafts were before the range counts only its third: no
    # negative number for the reviews with two.
    assert _generations(Counter({"gen:3": 1}))["2"] == 0

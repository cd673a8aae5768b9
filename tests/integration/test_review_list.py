"""The reply desk's inbox: GET /v1/companies/{company_id}/reviews."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import redis.asyncio as aioredis
import respx

from reply_assist.models import DraftUsage, StoredDraft
from reply_assist.settings import Settings
from reply_assist.store.connection import connect
from reply_assist.store.reviews import ReviewRepository
from tests.conftest import ADMIN, ADMIN_TOKEN, REDIS_URL, REVIEW, Api, serve

LIST = "/v1/companies/acme/reviews"


async def listing(api: Api, headers: dict[str, str] | None = None, **q: Any) -> dict[str, Any]:
    r = await api.client.get(LIST, params=q, headers=headers or ADMIN)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def all_ids(api: Api, **q: Any) -> list[str]:
    """Every page of the list, following next_cursor."""
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = await listing(api, **q, **({"cursor": cursor} if cursor else {}))
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the list never ended")


async def publish(api: Api, review_id: str, text: str = "Tack Erik!") -> None:
    r = await api.client.put(
        f"{LIST}/{review_id}/reply", json={"text": text, "agent_id": "a-1"}, headers=ADMIN
    )
    assert r.status_code in (200, 201), r.text


# (id, stars, language, created_at): a small company's inbox.
REVIEWS = [
    ("r01", 1, "sv", "2026-11-20T08:00:00Z"),
    ("r02", 2, "en", "2026-11-20T09:00:00Z"),
    ("r03", 5, "sv", "2026-11-21T08:00:00Z"),
    ("r04", 2, "sv", "2026-11-22T08:00:00Z"),
    ("r05", 4, "en", "2026-11-19T08:00:00Z"),
    ("r06", 1, "en", "2026-11-23T08:00:00Z"),
    ("r07", 3, "nl", "2026-11-18T08:00:00Z"),
    ("r08", 2, "sv", "2026-11-24T08:00:00Z"),
]
REPLIED = {"r02", "r04", "r07"}


async def seed(api: Api) -> None:
    await api.company()
    for review_id, stars, language, created in REVIEWS:
        await api.review(review_id, stars=stars, language=language, created_at=created)
    for review_id in sorted(REPLIED):
        await publish(api, review_id)


def expected(
    status: str | None = None, language: str | None = None, stars: set[int] | None = None
) -> list[str]:
    rows = [
        r
        for r in REVIEWS
        if (status is None or (r[0] in REPLIED) == (status == "replied"))
        and (language is None or r[2] == language)
        and (stars is None or r[1] in stars)
    ]
    return [r[0] for r in sorted(rows, key=lambda r: r[3], reverse=True)]


async def test_newest_first_with_what_the_desk_shows(api: Api) -> None:
    await seed(api)
    await api.review("short", text="Bad.", created_at="2026-11-25T08:00:00Z")
    page = await listing(api)
    assert [i["id"] for i in page["items"]] == ["short", *expected()]
    assert page["next_cursor"] is None
    first = page["items"][0]
    single = (await api.client.get(f"{LIST}/short", headers=ADMIN)).json()
    # Each item is the review as GET returns it, plus the desk's fields.
    assert {k: first[k] for k in single} == single
    assert first["replied"] is False
    assert first["eligible"] is False
    assert first["reasons"] == ["review_too_short"]
    assert (first["generations_used"], first["generations_left"]) == (0, 10)
    by_id = {i["id"]: i for i in page["items"]}
    assert by_id["r02"]["replied"] is True and by_id["r02"]["eligible"] is True
    assert by_id["r07"]["reasons"] == ["language_not_supported"]  # acme: sv, en


async def test_every_combination_of_filters(api: Api) -> None:
    await seed(api)
    for status in (None, "needs_reply", "replied"):
        for language in (None, "sv", "en", "nl", "de"):
            for stars in (None, {2}, {1, 2}, {1, 2, 3, 4, 5}, {3, 5}):
                q: dict[str, str] = {}
                if status:
                    q["status"] = status
                if language:
                    q["language"] = language
                if stars:
                    q["stars"] = ",".join(map(str, sorted(stars)))
                got = await all_ids(api, limit=2, **q)
                assert got == expected(status, language, stars), q


async def test_equal_timestamps_paginate_without_skipping_or_repeating(api: Api) -> None:
    await api.company()
    same = "2026-11-20T08:00:00Z"
    ids = [f"t{i:02d}" for i in range(13)]
    for review_id in ids:
        await api.review(review_id, created_at=same)
    await api.review("newer", created_at="2026-11-20T08:00:00.000001Z")
    await api.review("older", created_at="2026-11-20T07:59:59.999999Z")
    for limit in (1, 2, 3, 5, 13, 100):
        got = await all_ids(api, limit=limit)
        assert got == ["newer", *sorted(ids, reverse=True), "older"], limit


async def test_the_index_follows_upserts_and_publishes(api: Api) -> None:
    await api.company()
    await api.review("a", stars=2, language="sv", created_at="2026-11-20T08:00:00Z")
    await api.review("b", stars=5, language="en", created_at="2026-11-21T08:00:00Z")
    assert await all_ids(api, stars="2") == ["a"]
    # Replaced: new stars, language and date move it; nothing stays behind.
    await api.review("a", stars=4, language="en", created_at="2026-11-22T08:00:00Z")
    assert await all_ids(api, stars="2") == []
    assert await all_ids(api, language="sv") == []
    assert await all_ids(api, language="en", stars="4") == ["a"]
    assert await all_ids(api) == ["a", "b"]
    # Published: from needs_reply to replied, and an update keeps it there.
    await publish(api, "a")
    assert await all_ids(api, status="needs_reply") == ["b"]
    assert await all_ids(api, status="replied") == ["a"]
    await publish(api, "a", "Tack igen!")
    assert await all_ids(api, status="replied") == ["a"]
    # Replaced after its reply: still replied, in its new place.
    await api.review("a", stars=1, language="sv", created_at="2026-11-19T08:00:00Z")
    assert await all_ids(api, status="replied", stars="1", language="sv") == ["a"]
    assert await all_ids(api, status="needs_reply") == ["b"]
    assert await all_ids(api) == ["b", "a"]


async def test_tenant_isolation_and_roles(api: Api) -> None:
    await api.company()
    await api.company("other")
    await api.review("x1", company_id="other")
    other = await api.key("other", "agent")
    r = await api.client.get(LIST, headers=other)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    for role in ("dashboard", "agent", "analyst"):
        page = await listing(api, headers=await api.key("acme", role))
        assert page == {"items": [], "next_cursor": None}
    assert (await api.client.get(LIST)).status_code == 401
    missing = await api.client.get("/v1/companies/nobody/reviews", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "company_not_found"


async def test_bad_queries_name_the_field(api: Api) -> None:
    await api.company()
    for name, value in (
        ("status", "open"),
        ("language", "swedish"),
        ("stars", "6"),
        ("stars", "1,x"),
        ("stars", ""),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
    ):
        r = await api.client.get(LIST, params={name: value}, headers=ADMIN)
        assert r.status_code == 400, (name, value, r.text)
        problem = r.json()
        assert problem["code"] == "invalid_request"
        assert f"'{name}'" in problem["detail"], problem
    r = await api.client.get(LIST, params={"status": "ready"}, headers=ADMIN)
    assert "allowed: 'draft_ready', 'needs_reply', 'replied'" in r.json()["detail"], r.text


async def test_a_tampered_or_foreign_cursor_is_refused(api: Api) -> None:
    await api.company()
    for i in range(3):
        await api.review(f"r{i}", created_at=f"2026-11-2{i}T08:00:00Z")
    cursor = (await listing(api, limit=1))["next_cursor"]
    assert cursor
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    edited = base64.urlsafe_b64encode(raw.replace("/r2", "/r9").encode()).decode()
    for bad, q in (
        (edited, {}),
        (cursor[:-3], {}),
        ("not a cursor!", {}),
        (cursor, {"stars": "2"}),  # another query's cursor
    ):
        r = await api.client.get(LIST, params={"cursor": bad, **q}, headers=ADMIN)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_cursor"
    page = await listing(api, limit=1, cursor=cursor)
    assert [i["id"] for i in page["items"]] == ["r1"]


def _hand_made_cursor(version: str, member: str, checksum: str) -> str:
    body = f"{version}|{member}|{checksum}"
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


async def test_a_cursor_is_signed_with_the_servers_secret(
    api: Api, base_settings: Settings
) -> None:
    await api.company()
    for i in range(3):
        await api.review(f"r{i}", created_at=f"2026-11-2{i}T08:00:00Z")
    cursor = (await listing(api, limit=1))["next_cursor"]
    _, member, _ = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
    # Anyone who reads the source could make the unkeyed checksum of before: no longer taken.
    digest = hashlib.blake2b(
        f"acme\n\n\n\n{member}".encode(), digest_size=8, person=b"ra-cursor"
    ).hexdigest()
    forged = _hand_made_cursor("1", member, digest)
    r = await api.client.get(LIST, params={"cursor": forged}, headers=ADMIN)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_cursor")
    # The same data behind a service with another admin token: its cursors are not ours.
    other_token = "another-admin-token-" + "z" * 20
    other = replace(base_settings, admin_token=other_token)
    async with serve(other) as elsewhere:
        headers = {"Authorization": f"Bearer {other_token}"}
        r = await elsewhere.get(LIST, params={"cursor": cursor, "limit": 1}, headers=headers)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_cursor")
        theirs = (await elsewhere.get(LIST, params={"limit": 1}, headers=headers)).json()
    assert theirs["items"][0]["id"] == "r2"  # the same list, read there
    r = await api.client.get(LIST, params={"cursor": theirs["next_cursor"]}, headers=ADMIN)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_cursor")
    # And ours still works here.
    assert [i["id"] for i in (await listing(api, limit=1, cursor=cursor))["items"]] == ["r1"]


async def test_generations_and_in_flight_show_per_item(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review("r1")
    for _ in range(3):
        assert (await api.generate("r1")).status_code == 201
    item = (await listing(api))["items"][0]
    assert (item["generations_used"], item["generations_left"]) == (3, 7)
    assert item["eligible"] is True


async def test_schema_documents_the_list(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/v1/companies/{company_id}/reviews"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    for name in ("status", "language", "stars", "limit", "cursor"):
        assert params[name].get("description"), name
    item = schema["components"]["schemas"]["ReviewListItem"]
    for field in ("replied", "eligible", "reasons", "generations_used", "generations_left"):
        assert item["properties"][field].get("description"), field


async def test_reviews_stored_before_the_index_are_added_by_the_backfill_command(
    api: Api, redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review("new", created_at="2026-11-22T08:00:00Z")
    # Two reviews as the service stored them before the list existed (no "ix"), one replied.
    for review_id, created in (("old1", "2026-11-20T08:00:00Z"), ("old2", "2026-11-21T08:00:00Z")):
        await api.review(review_id, created_at=created)
        key = f"{prefix}:{{c:acme}}/r/{review_id}"
        ix = await redis_client.hget(key, "ix")
        member = ix.split("|", 3)[3]
        for name in [k async for k in redis_client.scan_iter(match=f"{prefix}:{{c:acme}}/ix/*")]:
            await redis_client.zrem(name, member)
        await redis_client.hdel(key, "ix")
    await publish(api, "old2")  # published while not indexed: the backfill finds the reply
    assert await all_ids(api) == ["new"]

    async def reindex() -> str:
        env = {
            **os.environ,
            "REPLY_ASSIST_REDIS_URL": REDIS_URL,
            "REPLY_ASSIST_REDIS_PREFIX": prefix,
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "reply_assist.cli",
            "reindex-reviews",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out
        return out.decode()

    assert "3 reviews found, 2 added" in await reindex()
    assert await all_ids(api) == ["new", "old2", "old1"]
    assert await all_ids(api, status="replied") == ["old2"]
    assert "3 reviews found, 0 added" in await reindex()  # idempotent
    assert await all_ids(api) == ["new", "old2", "old1"]


async def test_concurrent_upserts_and_a_publish_leave_the_review_in_its_four_sets(
    api: Api, redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review("r1", stars=1, language="sv")
    variants = [(1 + i % 5, ("sv", "en", "nl")[i % 3]) for i in range(30)]

    async def put(stars: int, language: str) -> None:
        r = await api.client.put(
            f"{LIST}/r1",
            json={**REVIEW, "stars": stars, "language": language},
            headers=ADMIN,
        )
        assert r.status_code == 200, r.text

    await asyncio.gather(
        *(put(stars, language) for stars, language in variants), publish(api, "r1")
    )
    final = (await api.client.get(f"{LIST}/r1", headers=ADMIN)).json()
    sets = [k async for k in redis_client.scan_iter(match=f"{prefix}:{{c:acme}}/ix/*")]
    holding = sorted([k.split("/ix/", 1)[1] for k in sets if await redis_client.zcard(k)])
    s, lang = final["stars"], final["language"]
    assert holding == sorted(["r/*/*", f"r/{lang}/*", f"r/*/{s}", f"r/{lang}/{s}"])
    assert await all_ids(api) == ["r1"]
    assert await all_ids(api, status="replied", language=lang, stars=str(s)) == ["r1"]


async def test_the_list_works_on_the_embedded_store(base_settings: Settings) -> None:
    settings = replace(base_settings, redis_url=None, openai_api_key=None, openai_base_url=None)
    async with serve(settings) as client:
        api = Api(client)
        await api.company()
        for i, stars in enumerate((1, 2, 2, 5)):
            await api.review(f"r{i}", stars=stars, created_at=f"2026-11-2{i}T08:00:00Z")
        await api.review("r1", stars=4, created_at="2026-11-21T08:00:00Z")  # moved
        r = await client.put(
            f"{LIST}/r2/reply", json={"text": "Tack!", "agent_id": "a-1"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        page = await listing(api, status="needs_reply", stars="1,2,4", limit=2)
        assert [i["id"] for i in page["items"]] == ["r1", "r0"]
        assert page["next_cursor"] is None
        replied = await listing(api, status="replied")
        assert [(i["id"], i["replied"]) for i in replied["items"]] == [("r2", True)]


READY = {"r01", "r03", "r06"}  # a draft and no reply, once ready_seed has run


async def ready_seed(api: Api) -> None:
    """The small inbox, with drafts on three reviews needing a reply and on one replied."""
    await seed(api)
    for review_id in (*sorted(READY), "r02"):
        r = await api.generate(review_id)
        assert r.status_code == 201, r.text


async def test_draft_ready_lists_exactly_the_reviews_whose_draft_waits(
    api: Api, llm: respx.MockRouter
) -> None:
    await ready_seed(api)
    for language in (None, "sv", "en", "nl"):
        for stars in (None, {1}, {1, 2}, {3, 5}, {1, 2, 3, 4, 5}):
            q: dict[str, str] = {"status": "draft_ready"}
            if language:
                q["language"] = language
            if stars:
                q["stars"] = ",".join(map(str, sorted(stars)))
            got = await all_ids(api, limit=2, **q)
            assert got == [r for r in expected(None, language, stars) if r in READY], q
    page = await listing(api, status="draft_ready")
    assert all(i["draft_ready"] and not i["replied"] for i in page["items"])
    # Draft ready is part of needs a reply, not a status of its own.
    assert set(READY) <= set(await all_ids(api, status="needs_reply"))


async def test_draft_ready_follows_replies_and_moves(api: Api, llm: respx.MockRouter) -> None:
    await ready_seed(api)
    # A reply (by hand, or from the draft) takes the review out.
    await publish(api, "r01")
    drafts = (await api.client.get(f"{LIST}/r06/drafts", headers=ADMIN)).json()["items"]
    r = await api.client.put(
        f"{LIST}/r06/reply",
        json={"text": drafts[0]["text"], "agent_id": "a-1", "draft_id": drafts[0]["id"]},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    assert await all_ids(api, status="draft_ready") == ["r03"]
    # Replaced with other stars, language and date: still ready, in its new place only.
    await api.review("r03", stars=2, language="en", created_at="2026-11-30T08:00:00Z")
    assert await all_ids(api, status="draft_ready", language="en", stars="2") == ["r03"]
    assert await all_ids(api, status="draft_ready", language="sv") == []
    assert await all_ids(api, status="draft_ready", stars="5") == []
    # A new draft for a review that needs a reply puts it in; a replied one stays out.
    assert (await api.generate("r08")).status_code == 201
    assert (await api.generate("r04")).status_code == 201
    assert await all_ids(api, status="draft_ready") == ["r03", "r08"]


async def test_a_draft_for_a_review_moved_while_it_was_written_lands_in_the_new_place(
    api: Api, llm: respx.MockRouter, base_settings: Settings
) -> None:
    """The draft's commit names the ready sets from the review's place as the call read it;
    a review replaced meanwhile (other stars and language) is told so and named again."""
    await api.company()
    await api.review("r1", stars=1, language="sv")
    store = connect(
        REDIS_URL, prefix=base_settings.redis_key_prefix, max_connections=4, timeout_s=5
    )
    try:
        repo = ReviewRepository(store)
        loaded = await repo.load_and_reserve("acme", "r1", ttl_s=30, limit=10, month="2026-12")
        assert loaded.record is not None and loaded.reservation is not None
        stale = loaded.record.index
        assert stale is not None and (stale.language, stale.stars) == ("sv", 1)
        await api.review("r1", stars=4, language="en")  # moved while the model wrote
        result = await repo.commit_draft(
            loaded.reservation,
            draft_id="d-moved",
            data=msgspec.json.encode(
                StoredDraft(
                    id="d-moved",
                    review_id="r1",
                    text="Tack för ditt omdöme!",
                    language="sv",
                    model="gpt-test",
                    prompt_version="reply-v2",
                    usage=DraftUsage(prompt_tokens=1, completion_tokens=1),
                    created_at=datetime.now(UTC),
                )
            ),
            language="sv",
            prompt_version="reply-v2",
            created_epoch_s=time.time(),
            limit=10,
            idempotency=None,
            review_index=stale,
        )
        assert result is not None and result != "duplicate" and result.generation == 1
    finally:
        await store.aclose()
    assert await all_ids(api, status="draft_ready", language="en", stars="4") == ["r1"]
    assert await all_ids(api, status="draft_ready", language="sv") == []
    assert await all_ids(api, status="draft_ready", stars="1") == []


async def test_concurrent_upserts_drafts_and_a_publish_leave_no_ready_set_behind(
    api: Api, llm: respx.MockRouter, redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review("r1", stars=1, language="sv")
    variants = [(1 + i % 5, ("sv", "en")[i % 2]) for i in range(20)]

    async def put(stars: int, language: str) -> None:
        r = await api.client.put(
            f"{LIST}/r1", json={**REVIEW, "stars": stars, "language": language}, headers=ADMIN
        )
        assert r.status_code == 200, r.text

    async def ready_sets() -> list[str]:
        names = [k async for k in redis_client.scan_iter(match=f"{prefix}:{{c:acme}}/ix/d/*")]
        return sorted([k.split("/ix/", 1)[1] for k in names if await redis_client.zcard(k)])

    answers = await asyncio.gather(
        *(put(stars, language) for stars, language in variants),
        *(api.generate("r1") for _ in range(5)),
    )
    assert any(getattr(a, "status_code", None) == 201 for a in answers)
    final = (await api.client.get(f"{LIST}/r1", headers=ADMIN)).json()
    s, lang = final["stars"], final["language"]
    assert await ready_sets() == sorted(["d/*/*", f"d/{lang}/*", f"d/*/{s}", f"d/{lang}/{s}"])
    assert await all_ids(api, status="draft_ready", language=lang, stars=str(s)) == ["r1"]
    # Upserts racing the first reply: out of every ready set, whatever place it ended in.
    await asyncio.gather(
        *(put(stars, language) for stars, language in variants[:10]), publish(api, "r1")
    )
    assert await ready_sets() == []
    assert await all_ids(api, status="draft_ready") == []


async def test_the_backfill_puts_a_waiting_draft_in_the_ready_sets(
    api: Api, llm: respx.MockRouter, redis_client: aioredis.Redis, prefix: str
) -> None:
    await api.company()
    await api.review("r1", created_at="2026-11-20T08:00:00Z")
    await api.review("r2", created_at="2026-11-21T08:00:00Z")
    for review_id in ("r1", "r2"):
        assert (await api.generate(review_id)).status_code == 201
    await publish(api, "r2")
    # As an earlier version left it: indexed in the list, but in no ready set.
    for name in [k async for k in redis_client.scan_iter(match=f"{prefix}:{{c:acme}}/ix/d/*")]:
        await redis_client.delete(name)
    assert await all_ids(api, status="draft_ready") == []
    out = await reindex_command(prefix)
    assert "2 reviews found, 0 added to the list indexes, 1 with a draft ready" in out
    assert await all_ids(api, status="draft_ready") == ["r1"]
    assert "0 added to the list indexes, 1 with a draft ready" in await reindex_command(prefix)
    assert await all_ids(api, status="draft_ready") == ["r1"]


async def reindex_command(prefix: str) -> str:
    env = {
        **os.environ,
        "REPLY_ASSIST_REDIS_URL": REDIS_URL,
        "REPLY_ASSIST_REDIS_PREFIX": prefix,
        "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reply_assist.cli",
        "reindex-reviews",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    return out.decode()

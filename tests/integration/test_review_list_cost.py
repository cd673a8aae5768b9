"""A page of the reply desk's list costs the same in Redis with 200 reviews or with 5,200.

Measured on a private redis-server (the shared one serves other tests at the same time), from
the server's own counters: commands processed, key lookups (keyspace hits + misses) and bytes
sent, for the same page before and after the company grew 26-fold.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis.asyncio as aioredis

from reply_assist.models import Company, DraftUsage, Review, StoredDraft
from reply_assist.runtime import Runtime
from reply_assist.services.review_list import ListFilters, list_reviews
from reply_assist.settings import Settings
from reply_assist.store.connection import Store, connect
from reply_assist.store.reviews import ReviewRepository

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not on PATH"
)


@pytest.fixture
def private_redis() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def store(private_redis: str) -> AsyncIterator[Store]:
    probe = aioredis.Redis.from_url(private_redis)
    for _ in range(200):
        with contextlib.suppress(Exception):
            await probe.ping()
            break
        await asyncio.sleep(0.02)
    await probe.aclose()
    s = connect(private_redis, prefix="cost", max_connections=4, timeout_s=5)
    yield s
    await s.aclose()


class ServerCost:
    """What Redis did between two reads of its INFO (INFO's own share taken out)."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.client.set_response_callback("INFO", lambda raw, **_: raw)  # the bytes as sent

    async def _read(self) -> tuple[int, int, int, int]:
        raw: bytes = await self.client.execute_command("INFO", "all")
        info = dict(line.split(":", 1) for line in raw.decode().splitlines() if ":" in line)
        commands = int(info["total_commands_processed"])
        lookups = int(info["keyspace_hits"]) + int(info["keyspace_misses"])
        reply_bytes = len(raw) + len(f"${len(raw)}\r\n\r\n")
        return commands, lookups, int(info["total_net_output_bytes"]), reply_bytes

    async def of(self, run: Awaitable[object]) -> tuple[int, int, int]:
        before = await self._read()
        await run
        after = await self._read()
        # "after" counts the second INFO call, and the first INFO's reply among the bytes.
        return after[0] - before[0] - 1, after[1] - before[1], after[2] - before[2] - before[3]


async def _draft(repo: ReviewRepository, review_id: str) -> None:
    """A draft committed as a generate call commits it: the review shows "Draft ready"."""
    loaded = await repo.load_and_reserve("acme", review_id, ttl_s=30, limit=10, month="2026-12")
    assert loaded.record is not None and loaded.reservation is not None
    draft = StoredDraft(
        id=f"d-{review_id}",
        review_id=review_id,
        text="Sorry about the wait, Erik.",
        language="en",
        model="gpt-test",
        prompt_version="reply-v2",
        usage=DraftUsage(prompt_tokens=1, completion_tokens=1),
        created_at=datetime.now(UTC),
    )
    committed = await repo.commit_draft(
        loaded.reservation,
        draft_id=draft.id,
        data=msgspec.json.encode(draft),
        language=draft.language,
        prompt_version=draft.prompt_version,
        created_epoch_s=draft.created_at.timestamp(),
        limit=10,
        idempotency=None,
        review_index=loaded.record.index,
    )
    assert committed is not None


async def _add_reviews(store: Store, first: int, count: int) -> None:
    repo = ReviewRepository(store)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(first, first + count):
        review = Review(
            id=f"r{i:06d}",
            company_id="acme",
            type="company",
            text="The parcel took three weeks and nobody answered my emails.",
            stars=1 + i % 5,
            # Older than the first batch, so the newest page shows the same reviews.
            created_at=start - timedelta(minutes=i),
            language="sv" if i % 2 else "en",
        )
        await repo.put(review, review.language, None)
        if i % 3 != 1:  # two in three have a draft waiting
            await _draft(repo, review.id)


async def test_a_page_costs_the_same_with_a_hundred_times_more_reviews(
    store: Store, private_redis: str
) -> None:
    company = Company(
        id="acme",
        name="Acme",
        plan="enterprise",
        contract_start=datetime(2025, 1, 1, tzinfo=UTC),
        languages=["sv", "en"],
    )
    await store.client.set(store.keys.company("acme"), msgspec.json.encode(company))
    # A listing uses only the store, the reviews and the settings' admin token (cursor key).
    rt = Runtime.__new__(Runtime)
    object.__setattr__(rt, "store", store)
    object.__setattr__(rt, "reviews", ReviewRepository(store))
    object.__setattr__(rt, "settings", Settings(admin_token="cost-test-admin-token-" + "0" * 16))
    cost = ServerCost(private_redis)
    queries = [
        ListFilters(),
        ListFilters(status="needs_reply"),
        ListFilters(status="needs_reply", language="sv", stars=frozenset({1, 2})),
        ListFilters(stars=frozenset({1, 3, 4, 5})),
        ListFilters(status="draft_ready"),
        ListFilters(status="draft_ready", language="sv", stars=frozenset({1, 2})),
    ]

    async def costs() -> list[tuple[int, int, int]]:
        out = []
        for filters in queries:
            page = list_reviews(rt, "acme", filters, limit=10, cursor=None)
            out.append(await cost.of(page))
        return out

    await _add_reviews(store, 0, 200)
    small = await costs()
    await _add_reviews(store, 200, 5000)
    large = await costs()
    await cost.client.aclose()
    ready = await list_reviews(rt, "acme", queries[-1], limit=10, cursor=None)
    assert len(ready.items) == 10 and ready.next_cursor is not None
    assert all(i.draft_ready and i.record.language == "sv" for i in ready.items)
    assert large == small
    # 2 round trips: GET + one ZREVRANGEBYLEX per set merged, then HGETALL + ZCOUNT per item.
    sets_merged = [2, 1, 2, 8, 1, 2]
    assert [c[0] for c in small] == [1 + n + 2 * 10 for n in sets_merged]
    assert [c[1] for c in small] == [c[0] for c in small]  # one key looked up per command

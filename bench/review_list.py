"""What a page of the reply desk's list costs as a company grows: ``python bench/review_list.py``.

Starts a private redis-server, fills one company with 1,000, then 10,000, then 50,000 reviews
(through the same script the API uses; two in three get a draft through the scripts a generate
call commits with, so they show "Draft ready") and, at each size, reads the newest page of 25
for a few filter combinations: the time of a page (the service function, both round trips), the
commands Redis ran and the bytes it sent for it (from its own INFO counters), and the memory the
list's sorted sets take per review (MEMORY USAGE). Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reply_assist.models import Company, DraftUsage, Review, StoredDraft
from reply_assist.runtime import Runtime
from reply_assist.services.review_list import ListFilters, list_reviews
from reply_assist.settings import Settings
from reply_assist.store.connection import Store, connect
from reply_assist.store.reviews import ReviewRepository

QUERIES = {
    "no filter": ListFilters(),
    "needs_reply": ListFilters(status="needs_reply"),
    "needs_reply, sv, stars 1,2": ListFilters(
        status="needs_reply", language="sv", stars=frozenset({1, 2})
    ),
    "stars 1,3,4,5 (8 sets)": ListFilters(stars=frozenset({1, 3, 4, 5})),
    "draft_ready": ListFilters(status="draft_ready"),
    "draft_ready, sv, stars 1,2": ListFilters(
        status="draft_ready", language="sv", stars=frozenset({1, 2})
    ),
}
LANGUAGES = ("sv", "en", "nl", "de", "fi")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _draft(repo: ReviewRepository, review_id: str) -> None:
    """A draft, reserved and committed as a generate call does (no model)."""
    loaded = await repo.load_and_reserve("acme", review_id, ttl_s=30, limit=10, month="2026-12")
    if loaded.record is None or loaded.reservation is None:
        raise RuntimeError(f"no slot for {review_id}")
    draft = StoredDraft(
        id=f"d-{review_id}",
        review_id=review_id,
        text="Sorry about the wait.",
        language="en",
        model="bench",
        prompt_version="reply-v2",
        usage=DraftUsage(prompt_tokens=1, completion_tokens=1),
        created_at=datetime.now(UTC),
    )
    await repo.commit_draft(
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


async def _fill(store: Store, first: int, count: int) -> None:
    repo = ReviewRepository(store)
    start = datetime(2026, 1, 1, tzinfo=UTC)

    async def put(i: int) -> None:
        review = Review(
            id=f"r{i:07d}",
            company_id="acme",
            type="company",
            text="The parcel took three weeks and nobody answered my emails.",
            stars=1 + i % 5,
            created_at=start - timedelta(seconds=i * 37),
            language=LANGUAGES[i % len(LANGUAGES)],
        )
        await repo.put(review, review.language, None)
        if i % 3 != 1:
            await _draft(repo, review.id)

    for batch in range(first, first + count, 200):
        await asyncio.gather(*(put(i) for i in range(batch, min(batch + 200, first + count))))


async def _info(client: aioredis.Redis) -> tuple[int, int]:
    info = await client.info("stats")
    return int(info["total_commands_processed"]), int(info["total_net_output_bytes"])


async def measure(url: str, sizes: list[int], calls: int) -> None:
    store = connect(url, prefix="bench", max_connections=16, timeout_s=10)
    probe = aioredis.Redis.from_url(url, decode_responses=True)
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
    object.__setattr__(rt, "settings", Settings(admin_token="bench-admin-token-" + "0" * 20))
    print("| reviews | query | page p50 ms | p99 ms | Redis commands | bytes sent |")
    print("|---|---|---|---|---|---|")
    filled = 0
    for size in sizes:
        await _fill(store, filled, size - filled)
        filled = size
        for name, filters in QUERIES.items():
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                await list_reviews(rt, "acme", filters, limit=25, cursor=None)
                times.append((time.perf_counter() - t0) * 1000)
            c0, b0 = await _info(probe)
            await list_reviews(rt, "acme", filters, limit=25, cursor=None)
            c1, b1 = await _info(probe)
            times.sort()
            p99 = times[int(len(times) * 0.99) - 1]
            print(
                f"| {size:,} | {name} | {statistics.median(times):.2f} | {p99:.2f} "
                f"| {c1 - c0 - 1} | {b1 - b0:,} (INFO's reply included) |"
            )
        index_bytes = ready_bytes = 0
        async for key in probe.scan_iter(match="bench:{c:acme}/ix/*", count=1000):
            used = int(await probe.memory_usage(key, samples=0) or 0)
            if key.startswith("bench:{c:acme}/ix/d/"):
                ready_bytes += used
            else:
                index_bytes += used
        ready = await probe.zcard("bench:{c:acme}/ix/d/*/*")
        print(
            f"| {size:,} | list indexes: {index_bytes / size:.0f} B per review; ready sets: "
            f"{ready_bytes / max(ready, 1):.0f} B per review with a draft ready | | | | |"
        )
    await probe.aclose()
    await store.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH", file=sys.stderr)
        return 2
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        sizes = [int(s) for s in args.sizes.split(",")]
        asyncio.run(measure(f"redis://127.0.0.1:{port}/0", sizes, args.calls))
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

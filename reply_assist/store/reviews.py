"""Reviews, and the generation gate that keeps the limit of drafts per review exact.

The gate is three scripts on the review's keys: ``load_and_reserve`` reads the company and the
review and takes a slot (or refuses) in the same round trip,
``commit_draft`` stores the draft and turns the slot into a counted generation in one step, and
``release`` gives the slot back when the model failed. A reservation carries an expiry, so a
process that dies mid-call frees its slot by itself; the committed count stays the truth.
"""

from __future__ import annotations

import asyncio
import heapq
import secrets
import time
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any, Literal, NamedTuple, cast

import msgspec

from reply_assist.models import Company, Review
from reply_assist.store.buckets import buckets_of
from reply_assist.store.companies import (
    KeyLookup,
    KeyUse,
    RateWindow,
    company_key_args,
    key_found,
)
from reply_assist.store.connection import Store
from reply_assist.store.jobs import JOB_GROUP
from reply_assist.store.review_index import (
    MOVE_ROUNDS,
    NO_LANGUAGE,
    IndexEntry,
    busy,
    entry_sets,
    member_of,
    ready_sets,
    review_id_of,
)

__all__ = [
    "CommitResult",
    "DraftTokens",
    "ListedReview",
    "Loaded",
    "Reservation",
    "ReviewPage",
    "ReviewRecord",
    "ReviewRepository",
]


class ReviewRecord(msgspec.Struct):
    review: Review
    language: str | None  # the hint, else the detected language; None when undetectable
    language_reason: str | None  # why there is no language
    drafts: int  # committed generations
    index: IndexEntry | None = None  # where the reply desk's list has it (None: not indexed)
    # The draft-rules job's state (store/scripts/lib/queue_rule_job.lua): "q:<entry id>",
    # "d:<draft id>", "s:<reason>", "f:<reason>"; None when the rules never queued one.
    rule_job: str | None = None


class ListedReview(msgspec.Struct, frozen=True):
    record: ReviewRecord
    in_flight: int


class ReviewPage(msgspec.Struct, frozen=True):
    company: Company | None  # None: no such company
    items: list[ListedReview]
    last_member: str | None  # the index member of the page's last item, when more follow


class Reservation(msgspec.Struct, frozen=True):
    company_id: str
    review_id: str
    token: str
    used: int  # generations counted with this one, in flight included
    # The month (YYYY-MM) whose drafts it reserved in, and whether it holds one of them (False:
    # the company has no allowance).
    month: str = ""
    holds_draft: bool = False


class Loaded(msgspec.Struct, frozen=True):
    """What a generate call read, and the slot it took (None: missing company or review, or the
    limit is reached)."""

    company: Company | None
    record: ReviewRecord | None
    reservation: Reservation | None
    quota_exhausted: bool = False  # no slot: the company has no draft left this month


class CommitResult(msgspec.Struct, frozen=True):
    generation: int
    generations_left: int
    drafts_left: int | None = None  # the company's this month; None: unlimited (or replayed)
    crossed_low: bool = False  # this draft took the month's drafts left to its alert level
    crossed_exhausted: bool = False  # this draft was the month's last


class ReviewRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._redis = store.client
        self._keys = store.keys

    async def put(
        self,
        review: Review,
        language: str | None,
        language_reason: str | None,
        *,
        queue_rule_job: bool = False,
    ) -> tuple[bool, bool]:
        """Create or replace the review (drafts, count and reply stay), and move it in the
        reply desk's indexes; (created, job queued). A new review takes one round trip, a
        replaced one two (the first answers where it is indexed now).

        ``queue_rule_job``: the review matches its company's draft rules; the same script
        queues its job unless one was queued or drafted already, or it has a draft or a reply
        (``scripts/lib/queue_rule_job.lua``)."""
        fields: list[bytes | str] = [
            msgspec.json.encode(review),
            language or "",
            language_reason or "",
            "1" if queue_rule_job else "0",
            review.id,
        ]
        return await self._index(review, language, fields)

    async def queue_rule_jobs(self, company_id: str, review_ids: list[str]) -> int:
        """Queue stored reviews' draft-rules jobs (the same rule as ``put``), up to 100 calls
        in flight; how many were queued."""
        k = self._keys

        async def queue(review_id: str) -> int:
            keys = [
                k.review(company_id, review_id),
                k.reply_versions(company_id, review_id),
                k.jobs(company_id),
            ]
            return int(await self._store.scripts.run("queue_rule_job", keys, [review_id]))

        queued = 0
        for start in range(0, len(review_ids), 100):
            chunk = review_ids[start : start + 100]
            queued += sum(await asyncio.gather(*(queue(r) for r in chunk)))
        return queued

    async def open_reviews(
        self,
        company_id: str,
        since: datetime,
        until: datetime | None,
        below: str | None,
        limit: int,
    ) -> list[tuple[str, ReviewRecord]]:
        """(index member, record) of up to ``limit`` reviews needing a reply, created in
        [since, until), newest first, strictly below the index member ``below``."""
        k = self._keys
        low = "[" + member_of(since, "")[:-1]  # the 18 digits: every member at or after since
        if below is not None:
            high = f"({below}"
        elif until is not None:
            high = "(" + member_of(until, "")[:-1]
        else:
            high = "+"
        members = cast(
            list[str],
            await self._redis.zrevrangebylex(
                k.review_index(company_id, "n", "*", "*"), high, low, 0, limit
            ),
        )
        if not members:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.hgetall(k.review(company_id, review_id_of(member)))
            raws = await pipe.execute()
        found = []
        for member, raw in zip(members, raws, strict=True):
            record = _record(cast(dict[str, str], raw))
            if record is not None:
                found.append((member, record))
        return found

    async def _index(
        self, review: Review, language: str | None, fields: list[bytes | str] | None
    ) -> tuple[bool, bool]:
        """Index the review, writing its hash ``fields`` (json, lang, lang_reason) in the same
        script, or (None) only indexing what is stored: compare-and-set rounds, see the script."""
        mode: list[bytes | str] = ["index"] if fields is None else ["put", *fields]
        k, cid, rid = self._keys, review.company_id, review.id
        member = member_of(review.created_at, rid)
        current, replied = "", False  # a guess that holds for every new review
        for _ in range(MOVE_ROUNDS):
            new = IndexEntry("r" if replied else "n", language or NO_LANGUAGE, review.stars, member)
            old = IndexEntry.decode(current)
            keys = [k.review(cid, rid), k.reply_versions(cid, rid)]
            if old is not None:
                keys += entry_sets(k, cid, old)
            keys += entry_sets(k, cid, new)
            if old is not None:
                keys += ready_sets(k, cid, old)
            keys += ready_sets(k, cid, new)
            keys.append(k.jobs(cid))  # read only when the caller asks to queue a job
            result = await self._store.scripts.run(
                "put_review",
                keys,
                [mode[0], current, new.encode(), "1" if replied else "0", *mode[1:]],
            )
            if int(result[0]):
                return bool(int(result[1])), len(result) > 2 and bool(int(result[2]))
            current, replied = str(result[1]), str(result[2]) == "1"
        raise busy()

    async def reindex(self, company_id: str, review_id: str) -> tuple[bool, bool]:
        """Put a review stored before the list existed into its indexes, and one whose draft
        waits (indexed before the ready sets existed) into its ready sets (the command
        ``reply-assist reindex-reviews``): (added to the indexes, has a draft ready)."""
        record = await self.get(company_id, review_id)
        if record is None:
            return False, False
        waiting = record.drafts > 0 and (record.index is None or record.index.status == "n")
        if record.index is not None and not waiting:
            return False, False
        await self._index(record.review, record.language, None)
        ready = await self.get(company_id, review_id)
        still_waiting = ready is not None and ready.index is not None and ready.index.status == "n"
        return record.index is None, waiting and still_waiting

    async def reindex_all(self) -> tuple[int, int, int]:
        """(reviews found, reviews indexed, reviews with a draft ready): SCANs every key, so a
        command, never a request."""
        seen = indexed = ready = 0
        async for company_id, review_id in self.stored_review_ids():
            seen += 1
            added, waiting = await self.reindex(company_id, review_id)
            indexed += added
            ready += waiting
        return seen, indexed, ready

    async def stored_review_ids(self) -> AsyncIterator[tuple[str, str]]:
        """(company id, review id) of every stored review: a SCAN, for the backfill only."""
        pattern = self._keys.review("*", "*")
        async for key in self._redis.scan_iter(match=pattern, count=1000):
            company_id, review_id = self._keys.parse_review(key)
            if company_id is not None and review_id is not None:
                yield company_id, review_id

    async def page(
        self, company_id: str, sets: list[str], *, after: str | None, limit: int
    ) -> ReviewPage:
        """Up to ``limit`` reviews of the union of ``sets``, newest first, strictly after the
        member ``after``: two pipelined round trips of O(len(sets) × limit) work each."""
        k = self._keys
        start = f"({after}" if after else "+"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(k.company(company_id))
            for name in sets:
                pipe.zrevrangebylex(name, start, "-", 0, limit + 1)
            company_raw, *members = await pipe.execute()
        if company_raw is None:
            return ReviewPage(company=None, items=[], last_member=None)
        company = msgspec.json.decode(company_raw, type=Company)
        # The sets are disjoint; the newest limit + 1 of their union are among each one's first
        # limit + 1. The extra one only tells that another page follows.
        newest = heapq.nlargest(limit + 1, (m for ms in members for m in cast(list[str], ms)))
        shown = newest[:limit]
        if not shown:
            return ReviewPage(company=company, items=[], last_member=None)
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in shown:
                review_id = review_id_of(member)
                pipe.hgetall(k.review(company_id, review_id))
                pipe.zcount(k.inflight(company_id, review_id), now_ms, "+inf")
            raws = await pipe.execute()
        items = []
        for raw, in_flight in zip(raws[::2], raws[1::2], strict=True):
            record = _record(cast(dict[str, str], raw))
            if record is not None:
                items.append(ListedReview(record=record, in_flight=int(in_flight)))
        return ReviewPage(
            company=company, items=items, last_member=shown[-1] if len(newest) > limit else None
        )

    async def get(self, company_id: str, review_id: str) -> ReviewRecord | None:
        raw = await self._redis.hgetall(self._keys.review(company_id, review_id))
        return _record(cast(dict[str, str], raw))

    async def load(
        self, company_id: str, review_id: str
    ) -> tuple[Company | None, ReviewRecord | None, int]:
        """The company, the review and its in-flight generations, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.company(company_id))
            pipe.hgetall(self._keys.review(company_id, review_id))
            # Reservations not yet expired. The gate itself uses Redis's clock; this count only
            # informs (eligibility), so the local clock is good enough here.
            pipe.zcount(self._keys.inflight(company_id, review_id), int(time.time() * 1000), "+inf")
            company_raw, review_raw, in_flight = await pipe.execute()
        company = None if company_raw is None else msgspec.json.decode(company_raw, type=Company)
        return company, _record(review_raw), int(in_flight)

    async def load_and_reserve(
        self, company_id: str, review_id: str, *, ttl_s: float, limit: int, month: str
    ) -> Loaded:
        """The company and the review, and a slot if both exist, the limit allows and the
        company has a draft left in ``month``: one round trip. The caller releases the slot if
        a rule refuses the call."""
        token = secrets.token_hex(8)
        found = await self._store.scripts.run(
            "load_and_reserve",
            [
                self._keys.company(company_id),
                self._keys.review(company_id, review_id),
                self._keys.inflight(company_id, review_id),
                *self._usage_keys(company_id, month),
            ],
            [token, int(ttl_s * 1000), limit],
        )
        return _loaded(company_id, review_id, token, month, found)

    def _usage_keys(self, company_id: str, month: str) -> list[str]:
        k = self._keys
        return [k.usage(company_id), k.usage_month(company_id, month), k.usage_held(company_id)]

    async def authenticate_and_reserve(
        self,
        company_id: str,
        review_id: str,
        token_hash: str,
        rate: RateWindow | None,
        *,
        roles: Collection[str],
        ttl_s: float,
        limit: int,
        month: str,
    ) -> tuple[KeyLookup, KeyUse | None, Loaded] | None:
        """Authenticate a key that names ``company_id``, count its call, and do what
        ``load_and_reserve`` does: the one round trip of a generate call before the model. No
        slot is taken for a key over its rate limit or whose role may not generate. None for an
        unknown key."""
        token = secrets.token_hex(8)
        keys, args = company_key_args(self._keys, company_id, token_hash, rate)
        keys += [
            self._keys.company(company_id),
            self._keys.review(company_id, review_id),
            self._keys.inflight(company_id, review_id),
            *self._usage_keys(company_id, month),
        ]
        args += [" ".join(sorted(roles)), token, int(ttl_s * 1000), limit]
        found = await self._store.scripts.run("authenticate_in_company", keys, args)
        if not found:
            return None
        lookup, use = key_found(found, rate)
        return lookup, use, _loaded(company_id, review_id, token, month, found[3:])

    async def release(self, reservation: Reservation) -> None:
        keys = [self._keys.inflight(reservation.company_id, reservation.review_id)]
        if reservation.holds_draft:
            keys.append(self._keys.usage_held(reservation.company_id))
        await self._store.scripts.run("release", keys, [reservation.token])

    async def commit_draft(
        self,
        reservation: Reservation,
        *,
        draft_id: str,
        data: bytes,
        language: str,
        prompt_version: str,
        created_epoch_s: float,
        limit: int,
        idempotency: tuple[str, str, int] | None,
        origin: str = "request",
        job: str | None = None,
        country: str | None = None,
        review_index: IndexEntry | None = None,
        moves_left: int = MOVE_ROUNDS,
        tokens: DraftTokens | None = None,
    ) -> CommitResult | Literal["duplicate", "quota_exhausted"] | None:
        """Store the draft and count it; None if the limit no longer allows it (see the script);
        "duplicate" when a rule draft is committed for a review that has one already;
        "quota_exhausted" when the company's month has no draft left (its hold had expired).

        ``idempotency`` is (record key, request fingerprint, ttl s) when the call had a key;
        ``job``: the stream entry id of the draft-rules job that the draft finishes;
        ``country``: the reviewer's, counted under it too (None: under no country);
        ``review_index``: where the reply desk's list has the review, as the caller read it
        (the review then shows "Draft ready"; read again if it moved in the meantime, up to
        ``moves_left`` times);
        ``tokens``: the model and its tokens, counted in the reservation's month.
        """
        k, cid, rid = self._keys, reservation.company_id, reservation.review_id
        buckets = buckets_of(created_epoch_s)
        keys = [
            k.review(cid, rid),
            k.inflight(cid, rid),
            k.draft_ids(cid, rid),
            k.draft(cid, rid, draft_id),
            *(k.stats_counts(cid, b.level.name, b.name) for b in buckets),
            *(k.stats_reviews(cid, b.level.name, b.name) for b in buckets),
            k.stats_days(cid),
            *(k.stats_reviews(cid, b.level.name, b.name, language) for b in buckets),
        ]
        idem_ttl, idem_fingerprint = 0, ""
        if idempotency is not None:
            keys.append(idempotency[0])
            idem_fingerprint, idem_ttl = idempotency[1], idempotency[2]
        if country is not None:  # after the optional record, before the job's stream
            keys += [k.stats_reviews(cid, b.level.name, b.name, None, country) for b in buckets]
            keys += [k.stats_reviews(cid, b.level.name, b.name, language, country) for b in buckets]
        ready_at = 0
        if review_index is not None:
            ready_at = len(keys) + 1
            keys += ready_sets(k, cid, review_index)
        usage_at = len(keys) + 1
        keys += self._usage_keys(cid, reservation.month)
        if job is not None:
            keys.append(k.jobs(cid))
        tokens = tokens or DraftTokens("", 0, 0, 0)
        result = await self._store.scripts.run(
            "commit_draft",
            keys,
            [
                reservation.token,
                limit,
                rid,
                language,
                prompt_version,
                buckets[0].level.ttl_s,
                buckets[1].level.ttl_s,
                buckets[2].index,
                draft_id,
                data,
                idem_ttl,
                idem_fingerprint,
                origin,
                job or "",
                JOB_GROUP,
                country or "",
                review_index.encode() if review_index is not None else "",
                ready_at,
                usage_at,
                tokens.model,
                tokens.prompt,
                tokens.completion,
                tokens.cached_prompt,
                "1" if reservation.holds_draft else "0",
            ],
        )
        if int(result[0]) == 4:  # the review moved in the list meanwhile: nothing was stored
            if moves_left <= 1:
                raise busy()
            return await self.commit_draft(
                reservation,
                draft_id=draft_id,
                data=data,
                language=language,
                prompt_version=prompt_version,
                created_epoch_s=created_epoch_s,
                limit=limit,
                idempotency=idempotency,
                origin=origin,
                job=job,
                country=country,
                review_index=IndexEntry.decode(str(result[1])),
                moves_left=moves_left - 1,
                tokens=tokens,
            )
        if int(result[0]) == 2:
            return "duplicate"
        if int(result[0]) == 5:
            return "quota_exhausted"
        if not int(result[0]):
            return None
        if len(result) < 6:  # run twice: the first run's answer, its alerts already told
            return CommitResult(generation=int(result[1]), generations_left=int(result[2]))
        left = int(result[3])
        return CommitResult(
            generation=int(result[1]),
            generations_left=int(result[2]),
            drafts_left=None if left < 0 else left,
            crossed_low=bool(int(result[4])),
            crossed_exhausted=bool(int(result[5])),
        )


class DraftTokens(NamedTuple):
    """What a draft's model calls used, as the month's usage counts it."""

    model: str
    prompt: int
    completion: int
    cached_prompt: int


def _loaded(company_id: str, review_id: str, token: str, month: str, found: list[Any]) -> Loaded:
    """What a reservation script answered (lib/reserve.lua), as a Loaded."""
    company_raw, review_flat, reserved, used, quota = found
    fields = dict(zip(review_flat[::2], review_flat[1::2], strict=True))
    reservation = None
    if reserved:
        reservation = Reservation(
            company_id, review_id, token, int(used), month=month, holds_draft=int(quota) == 1
        )
    return Loaded(
        company=None if not company_raw else msgspec.json.decode(company_raw, type=Company),
        record=_record(fields),
        reservation=reservation,
        quota_exhausted=int(quota) == 2,
    )


def _record(raw: dict[str, str]) -> ReviewRecord | None:
    if "json" not in raw:
        return None
    return ReviewRecord(
        review=msgspec.json.decode(raw["json"], type=Review),
        language=raw.get("lang") or None,
        language_reason=raw.get("lang_reason") or None,
        drafts=int(raw.get("drafts", 0)),
        index=IndexEntry.decode(raw.get("ix", "")),
        rule_job=raw.get("rule") or None,
    )

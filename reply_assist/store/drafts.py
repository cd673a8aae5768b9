"""A review's drafts: listing, reading, agents' edits and votes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

import msgspec

from reply_assist.models import StoredDraft, Vote
from reply_assist.store.buckets import buckets_of
from reply_assist.store.connection import Store

__all__ = ["DraftRecord", "DraftRepository"]

_VOTE_RETRIES = 20


class DraftRecord(msgspec.Struct):
    data: StoredDraft
    generation: int
    generations_left: int
    status: str
    edited_text: str | None = None
    edited_by: str | None = None
    edited_at: datetime | None = None
    published_version: int | None = None


class DraftRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._redis = store.client
        self._keys = store.keys

    async def get(self, company_id: str, review_id: str, draft_id: str) -> DraftRecord | None:
        raw = await self._redis.hgetall(self._keys.draft(company_id, review_id, draft_id))
        return _draft(cast(dict[str, str], raw))

    async def list(self, company_id: str, review_id: str) -> list[DraftRecord]:
        """Newest first (the id list is pushed on the left)."""
        ids = cast(
            list[str], await self._redis.lrange(self._keys.draft_ids(company_id, review_id), 0, -1)
        )
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for draft_id in ids:
                pipe.hgetall(self._keys.draft(company_id, review_id, draft_id))
            raws = await pipe.execute()
        return [d for d in map(_draft, raws) if d is not None]

    async def edit(
        self, company_id: str, review_id: str, draft_id: str, text: str, agent_id: str, at: str
    ) -> Literal["edited", "missing", "published"]:
        """Save an edit, unless the draft is gone or published (checked in the same script as
        the write, so an edit racing a publish cannot slip in after it)."""
        result = int(
            await self._store.scripts.run(
                "edit_draft",
                [self._keys.draft(company_id, review_id, draft_id)],
                [text, agent_id, at],
            )
        )
        return "edited" if result == 1 else "published" if result == -1 else "missing"

    async def agent_vote(
        self, company_id: str, review_id: str, draft_id: str, agent_id: str
    ) -> Vote | None:
        """The vote this agent gave this draft, if any (the reply desk shows it)."""
        raw = await self._redis.hget(self._keys.votes(company_id, review_id, draft_id), agent_id)
        return None if raw is None else msgspec.json.decode(raw, type=Vote)

    async def vote(self, company_id: str, draft: StoredDraft, vote: Vote) -> None:
        """Record the agent's vote; an earlier vote of the same agent is replaced in the stats.

        Compare-and-set on the agent's stored vote: the replaced vote's buckets must be known
        before the script runs (scripts name every key they touch), so read, then set if unchanged.
        """
        k = self._keys
        votes_key = k.votes(company_id, draft.review_id, draft.id)
        new_buckets = buckets_of(vote.created_at.timestamp())
        encoded = msgspec.json.encode(vote).decode()
        for _ in range(_VOTE_RETRIES):
            previous_raw = await self._redis.hget(votes_key, vote.agent_id)
            keys = [
                votes_key,
                *(k.stats_counts(company_id, b.level.name, b.name) for b in new_buckets),
                k.stats_days(company_id),
            ]
            old_vote, old_reason = "", ""
            if previous_raw is not None:
                previous = msgspec.json.decode(previous_raw, type=Vote)
                old_vote, old_reason = previous.vote, previous.reason or ""
                keys += [
                    k.stats_counts(company_id, b.level.name, b.name)
                    for b in buckets_of(previous.created_at.timestamp())
                ]
            done = await self._store.scripts.run(
                "vote",
                keys,
                [
                    vote.agent_id,
                    previous_raw or "",
                    encoded,
                    vote.vote,
                    vote.reason or "",
                    draft.language,
                    draft.prompt_version,
                    old_vote,
                    old_reason,
                    new_buckets[0].level.ttl_s,
                    new_buckets[1].level.ttl_s,
                    new_buckets[2].index,
                    draft.origin,
                    draft.country or "",
                ],
            )
            if int(done):
                return
        raise RuntimeError("vote kept changing under concurrent updates")  # pragma: no cover


def _draft(raw: dict[str, str]) -> DraftRecord | None:
    if "data" not in raw:
        return None
    return DraftRecord(
        data=msgspec.json.decode(raw["data"], type=StoredDraft),
        generation=int(raw["generation"]),
        generations_left=int(raw["generations_left"]),
        status=raw.get("status", "draft"),
        edited_text=raw.get("edited_text"),
        edited_by=raw.get("edited_by"),
        edited_at=datetime.fromisoformat(raw["edited_at"]) if "edited_at" in raw else None,
        published_version=int(raw["published_version"]) if "published_version" in raw else None,
    )

"""The reply desk's list of a company's reviews: sorted-set indexes that make a page O(limit).

Every review is a member of four sorted sets of its company, one for each way of leaving the
language and the stars filter out (``ix/<status>/<language or *>/<stars or *>``); the status
(``n`` needs a reply, ``r`` replied) is always part of the name. Any combination of the list's
filters is then read from at most 2 (statuses) × 4 (stars; all five is no filter) = 8 sets,
each with ``ZRANGE … BYLEX REV LIMIT`` (O(log n + limit)), and merged.

A member is ``<created_at in µs since 0001-01-01, 18 digits>/<review id>``, every score 0, so
the sets are ordered by the member's bytes: by created_at, then by review id. Newest first is
the reverse order, and a page after a cursor is the members strictly below the last one shown:
equal timestamps paginate stably (by review id, descending), nothing skipped or repeated.

The review hash keeps where the review is indexed in its ``ix`` field
(``<status>|<language>|<stars>|<member>``). The scripts that move a review (``put_review`` on
a create or replace, ``publish`` on the first reply) compare it with what the caller read
before touching the sets, since the sets' names derive from it: a caller that read a stale
``ix`` is told so and computes the names again (compare-and-set, as the vote script does).

A review whose draft waits for an agent (it has a draft and no reply: "Draft ready") is also in
four **ready** sets (``ix/d/<language or *>/<stars or *>``, the same members), so that the
list's ``draft_ready`` filter is read like the others. They are kept by the same scripts, under
the same compare-and-set of ``ix``: ``commit_draft`` adds an indexed review that needs a reply
(its ``ix`` status is ``n``), ``publish`` takes it out on the first reply, ``put_review`` moves
it with the review (and, for the backfill, adds a ready review that is not in them yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from reply_assist.errors import StoreUnavailable
from reply_assist.store.keys import Keys

__all__ = [
    "ALL_STARS",
    "MOVE_ROUNDS",
    "NO_LANGUAGE",
    "READY",
    "IndexEntry",
    "ListSets",
    "Status",
    "busy",
    "entry_sets",
    "member_of",
    "query_sets",
    "ready_sets",
    "review_id_of",
]

Status = Literal["n", "r"]  # needs a reply, replied
# The sets a list is read from: a status's, or the ready sets (a draft waits, no reply yet).
ListSets = Literal["n", "r", "d"]
READY: ListSets = "d"
NO_LANGUAGE = "-"  # a review whose language could not be determined
ALL_STARS = frozenset(range(1, 6))
# Compare-and-set rounds before giving up. Each lost round means another call moved the same
# review meanwhile and won; with n calls on one review at once the last one needs n rounds.
MOVE_ROUNDS = 100
_EPOCH0 = datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def member_of(created_at: datetime, review_id: str) -> str:
    """Fixed width, so that byte order is time order (year 9999 is 3.2e17 µs: 18 digits)."""
    micros = (created_at - _EPOCH0) // _MICROSECOND
    return f"{micros:018d}/{review_id}"


def review_id_of(member: str) -> str:
    return member.split("/", 1)[1]


@dataclass(frozen=True, slots=True)
class IndexEntry:
    status: Status
    language: str  # an ISO 639-1 code, or NO_LANGUAGE
    stars: int
    member: str

    def encode(self) -> str:
        return f"{self.status}|{self.language}|{self.stars}|{self.member}"

    @classmethod
    def decode(cls, raw: str) -> IndexEntry | None:
        """None for "" (a review stored before the index existed, or not yet indexed)."""
        if not raw:
            return None
        status, language, stars, member = raw.split("|", 3)
        if status not in ("n", "r"):
            raise ValueError(f"unknown review index status {status!r}")
        return cls("n" if status == "n" else "r", language, int(stars), member)

    def with_status(self, status: Status) -> IndexEntry:
        return IndexEntry(status, self.language, self.stars, self.member)


def busy() -> StoreUnavailable:
    """More calls changed one review at once than MOVE_ROUNDS: this one changed nothing."""
    return StoreUnavailable(
        "Too many calls are changing this review at once; nothing was changed. Retry.",
        retry_after_s=1,
    )


def entry_sets(keys: Keys, company_id: str, entry: IndexEntry) -> list[str]:
    """The four sets that hold the entry, in a fixed order (the scripts rely on it)."""
    s, lang, stars = entry.status, entry.language, str(entry.stars)
    return [
        keys.review_index(company_id, s, "*", "*"),
        keys.review_index(company_id, s, lang, "*"),
        keys.review_index(company_id, s, "*", stars),
        keys.review_index(company_id, s, lang, stars),
    ]


def ready_sets(keys: Keys, company_id: str, entry: IndexEntry) -> list[str]:
    """The four ready sets of the entry's language and stars (whatever its status), in the
    order of ``entry_sets``."""
    lang, stars = entry.language, str(entry.stars)
    return [
        keys.review_index(company_id, READY, "*", "*"),
        keys.review_index(company_id, READY, lang, "*"),
        keys.review_index(company_id, READY, "*", stars),
        keys.review_index(company_id, READY, lang, stars),
    ]


def query_sets(
    keys: Keys,
    company_id: str,
    statuses: Iterable[ListSets],
    language: str | None,
    stars: frozenset[int] | None,
) -> list[str]:
    """The disjoint sets whose union is exactly the reviews that match the filters."""
    lang = language or "*"
    star_names = ["*"] if not stars or stars == ALL_STARS else [str(s) for s in sorted(stars)]
    return [keys.review_index(company_id, s, lang, t) for s in statuses for t in star_names]

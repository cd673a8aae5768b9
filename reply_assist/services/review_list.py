"""The reply desk's inbox: a company's reviews, newest first, filtered, a page at a time.

Each page is read from the sorted-set indexes of ``store.review_index`` (O(limit) per set
merged, never O(reviews)), and each review on it is judged by the same eligibility rules as
``GET …/eligibility`` (``services.eligibility.evaluate``): no rule is written twice.

The cursor is the index member of the last review shown (its created_at and id), with the
query it belongs to and an HMAC, in base64url. It is opaque to clients but not secret (it holds
nothing the page did not show); it is signed with a key derived from the service's admin token,
so a cursor that was edited, cut, made by hand, sent with other filters or issued by a service
with another admin token is refused with 400 ``invalid_cursor`` rather than silently starting
somewhere else. (Changing the admin token ends the cursors in use: a client starts its list
again.)
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from reply_assist.drafting.language import normalize_language
from reply_assist.errors import InvalidRequest, NotFound
from reply_assist.runtime import Runtime
from reply_assist.services.draft_rules import RuleDraft, rule_draft
from reply_assist.services.eligibility import Eligibility, evaluate
from reply_assist.services.usage import UNLIMITED, Balance, balance_of
from reply_assist.store.review_index import ALL_STARS, READY, ListSets, query_sets
from reply_assist.store.reviews import ReviewRecord

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "REPLY_STATUSES",
    "ListFilters",
    "ListPage",
    "ListedItem",
    "ReplyStatus",
    "list_reviews",
    "parse_language",
    "parse_stars",
]

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# draft_ready: needs a reply and a draft waits (the ready sets, kept beside the status sets).
ReplyStatus = Literal["needs_reply", "replied", "draft_ready"]
REPLY_STATUSES: tuple[ReplyStatus, ...] = ("needs_reply", "replied", "draft_ready")
_STATUS_SETS: dict[ReplyStatus | None, tuple[ListSets, ...]] = {
    None: ("n", "r"),
    "needs_reply": ("n",),
    "replied": ("r",),
    "draft_ready": (READY,),
}
_MEMBER_RE = re.compile(r"^\d{18}/[A-Za-z0-9._:-]{1,128}$")
_CURSOR_VERSION = "2"  # 1: an unkeyed checksum, no longer accepted


@dataclass(frozen=True, slots=True)
class ListFilters:
    status: ReplyStatus | None = None
    language: str | None = None
    stars: frozenset[int] | None = None

    def fingerprint(self, company_id: str) -> str:
        stars = ",".join(str(s) for s in sorted(self.stars or ()))
        return f"{company_id}\n{self.status or ''}\n{self.language or ''}\n{stars}"


@dataclass(frozen=True, slots=True)
class ListedItem:
    record: ReviewRecord
    replied: bool
    eligibility: Eligibility
    # A draft waits for the agent: the review has one (by rules or by request) and no reply.
    draft_ready: bool = False
    rule_draft: RuleDraft | None = None  # where the draft rules' job is, if they queued one


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[ListedItem]
    next_cursor: str | None
    balance: Balance = UNLIMITED  # the company's drafts left this month (the desk's banner)


def parse_stars(raw: str | None) -> frozenset[int] | None:
    """``"1,2"`` → {1, 2}; every value must be 1 to 5."""
    if raw is None:
        return None
    values: set[int] = set()
    for part in raw.split(","):
        part = part.strip()
        if not (len(part) == 1 and part in "12345"):
            raise InvalidRequest(
                "Invalid 'stars': a comma-separated list of whole numbers from 1 to 5, e.g. 1,2."
            )
        values.add(int(part))
    return frozenset(values)


def parse_language(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", raw):
        raise InvalidRequest("Invalid 'language': an ISO 639-1 code of two letters, e.g. sv.")
    return normalize_language(raw)


@functools.lru_cache(maxsize=4)
def _cursor_key(server_secret: str) -> bytes:
    """The cursors' own key, derived from the server's secret (never the secret itself)."""
    return hmac.digest(server_secret.encode(), b"reply-assist review-list cursor", "sha256")


def _checksum(server_secret: str, fingerprint: str, member: str) -> str:
    mac = hmac.new(_cursor_key(server_secret), f"{fingerprint}\n{member}".encode(), "sha256")
    return mac.hexdigest()[:32]  # 128 bits


def encode_cursor(server_secret: str, filters: ListFilters, company_id: str, member: str) -> str:
    checksum = _checksum(server_secret, filters.fingerprint(company_id), member)
    body = f"{_CURSOR_VERSION}|{member}|{checksum}"
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(server_secret: str, cursor: str, filters: ListFilters, company_id: str) -> str:
    """The member the previous page ended with, or 400 ``invalid_cursor``."""
    invalid = InvalidRequest(
        "Invalid 'cursor': it is not a next_cursor of this list with these filters; "
        "start again without a cursor.",
        code="invalid_cursor",
    )
    if len(cursor) > 400:
        raise invalid
    try:
        body = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise invalid from None
    version, _, rest = body.partition("|")
    member, _, checksum = rest.rpartition("|")
    if (
        version != _CURSOR_VERSION
        or not _MEMBER_RE.fullmatch(member)
        or not hmac.compare_digest(
            checksum, _checksum(server_secret, filters.fingerprint(company_id), member)
        )
    ):
        raise invalid
    return member


async def list_reviews(
    rt: Runtime, company_id: str, filters: ListFilters, *, limit: int, cursor: str | None
) -> ListPage:
    secret = _server_secret(rt)
    after = decode_cursor(secret, cursor, filters, company_id) if cursor is not None else None
    stars = None if filters.stars == ALL_STARS else filters.stars
    sets = query_sets(
        rt.store.keys, company_id, _STATUS_SETS[filters.status], filters.language, stars
    )
    page = await rt.reviews.page(company_id, sets, after=after, limit=limit)
    if page.company is None:
        raise NotFound("No such company.", code="company_not_found")
    company = page.company
    balance = await balance_of(rt, company)
    items = []
    for listed in page.items:
        replied = listed.record.index is not None and listed.record.index.status == "r"
        items.append(
            ListedItem(
                record=listed.record,
                replied=replied,
                eligibility=evaluate(company, listed.record, listed.in_flight, balance),
                draft_ready=not replied and listed.record.drafts > 0,
                rule_draft=rule_draft(listed.record),
            )
        )
    next_cursor = (
        encode_cursor(secret, filters, company_id, page.last_member) if page.last_member else None
    )
    return ListPage(items=items, next_cursor=next_cursor, balance=balance)


def _server_secret(rt: Runtime) -> str:
    """The admin token: every process of one deployment has the same (``serve`` makes one for
    all its workers when none is set, and ``create_app`` puts it in the settings)."""
    secret = rt.settings.admin_token
    if secret is None:  # create_app always sets one
        raise RuntimeError("the settings hold no admin token")
    return secret

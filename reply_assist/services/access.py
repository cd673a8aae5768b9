"""Who is calling and what they may do: principals, role sets, keys, and the key lookups.

Every face resolves its caller here: the API's bearer middleware (``reply_assist.auth``) and the
reply desk's sessions (``services.desk_sessions``) both end in ``key_principal``, so a revoked
key stops everywhere at once and the key's rate limit counts every face. The role each action
needs is named once, next to the action's service function, with the sets below; the desk
shows a control only when ``allowed`` says the API would let the same principal do it.

Keys are ``rak_<company>_<secret>``: the company id with ``:`` written ``~`` (ids are
``[A-Za-z0-9._:-]``, and ``:`` has no place in a bearer token), then 256 random bits in
base64url. Keys issued before keys named their company are ``rak_<secret>``, exactly 47
characters, which no key of the new form can be (its company takes at least one character and a
separator).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import anyio
import structlog

from reply_assist.errors import Forbidden, Unauthorized
from reply_assist.models import GENERATION_LIMIT, Role
from reply_assist.ratelimit import enforce, minute_of
from reply_assist.runtime import Runtime
from reply_assist.services.months import current_month
from reply_assist.store.companies import KeyLookup, KeyUse, RateWindow
from reply_assist.store.reviews import Loaded

__all__ = [
    "ADMIN",
    "AGENT",
    "ANALYST",
    "ANY_ROLE",
    "KEY_PREFIX",
    "WRITERS",
    "Prefetched",
    "Principal",
    "allowed",
    "authenticate_and_reserve",
    "authorize",
    "company_of_key",
    "hash_token",
    "key_principal",
    "new_api_key",
    "release_prefetched",
    "require_admin",
]

log = structlog.get_logger(__name__)

AGENT: frozenset[Role] = frozenset({"agent"})  # edit drafts, publish replies
ANALYST: frozenset[Role] = frozenset({"analyst"})  # feedback statistics
WRITERS: frozenset[Role] = frozenset({"dashboard", "agent"})  # reviews, generate, feedback
ANY_ROLE: frozenset[Role] = frozenset({"dashboard", "agent", "analyst"})  # reads

KEY_PREFIX = "rak_"
_SECRET_LENGTH = 43  # secrets.token_urlsafe(32)
_LEGACY_KEY_LENGTH = len(KEY_PREFIX) + _SECRET_LENGTH
_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # the contract's ids (http.ids.ID_PATTERN)

# What the auth middleware read and reserved for a generate call in its own round trip.
Prefetched = Loaded


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["admin", "key"]
    company_id: str | None = None
    role: Role | None = None
    key_id: str | None = None


ADMIN = Principal(kind="admin")


def allowed(principal: Principal, company_id: str, roles: Collection[Role]) -> bool:
    """Whether ``authorize`` would let ``principal`` act for ``company_id`` with ``roles``."""
    if principal.kind == "admin":
        return True
    return principal.company_id == company_id and principal.role in roles


def authorize(principal: Principal, company_id: str, roles: Collection[Role]) -> None:
    """Allow the platform admin, or a key of ``company_id`` holding one of ``roles``."""
    if principal.kind == "admin":
        return
    if principal.company_id != company_id:
        # The same answer whether that company (or what is asked of it) exists or not.
        raise Forbidden("This key belongs to another company: it may not act for this one.")
    if principal.role not in roles:
        needed = " or ".join(repr(role) for role in sorted(roles))
        raise Forbidden(
            f"This needs a key with role {needed} (or the platform admin token); "
            f"this key's role is {principal.role!r}."
        )


def require_admin(principal: Principal) -> None:
    if principal.kind != "admin":
        raise Forbidden("Only the platform admin token may do that; API keys may not.")


def hash_token(token: str) -> str:
    """SHA-256 is the right hash here: keys are 256 random bits, not passwords to stretch."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key(company_id: str) -> tuple[str, str, str]:
    """A new key of ``company_id``: (key id, the secret shown once, its hash to store)."""
    secret = f"{KEY_PREFIX}{company_id.replace(':', '~')}_{secrets.token_urlsafe(32)}"
    return "key_" + secrets.token_hex(8), secret, hash_token(secret)


def company_of_key(token: str) -> str | None:
    """The company a key names; None for a key issued before keys named their company.

    Raises ``Unauthorized`` for a token that is neither form (nothing is looked up for it).
    """
    if len(token) == _LEGACY_KEY_LENGTH:
        return None
    body = token[len(KEY_PREFIX) : -_SECRET_LENGTH]
    company = body[:-1].replace("~", ":")
    if not body.endswith("_") or _ID_RE.fullmatch(company) is None:
        raise Unauthorized("The token is not valid.")
    return company


async def key_principal(
    rt: Runtime, token_hash: str, company_id: str | None = None
) -> Principal | None:
    """The principal of a key's hash, counting the call against its rate limit (429 past it);
    None when no such key exists (never made, or revoked). ``company_id`` is the company the key
    names (``company_of_key``), None for a key issued before keys named their company (its
    lookup is outside the company: one more round trip). The API's bearer auth and the reply
    desk's sessions both resolve keys here, so both see a revocation at once."""
    per_minute = rt.settings.rate_limit_per_min
    now = time.time()
    found: tuple[KeyLookup, KeyUse | None] | None
    if company_id is None:
        found = await rt.companies.authenticate(
            token_hash, minute_of(now) if per_minute > 0 else None
        )
    else:
        found = await rt.companies.authenticate_in_company(
            company_id, token_hash, _rate_window(per_minute, now)
        )
    return None if found is None else _principal(found, per_minute, now)


async def authenticate_and_reserve(
    rt: Runtime, company_id: str, review_id: str, token_hash: str
) -> tuple[Principal, Prefetched] | None:
    """A generate call's one round trip before the model: the key, its rate limit, the company,
    the review and a generation slot (for a key whose role may generate). None for an unknown
    key. Whoever gets the slot owns it: ``begin_generation`` takes it, else
    ``release_prefetched`` gives it back."""
    per_minute = rt.settings.rate_limit_per_min
    now = time.time()
    gated = await rt.reviews.authenticate_and_reserve(
        company_id,
        review_id,
        token_hash,
        _rate_window(per_minute, now),
        roles=WRITERS,
        ttl_s=rt.settings.reservation_ttl_s,
        limit=GENERATION_LIMIT,
        month=current_month(),
    )
    if gated is None:
        return None
    lookup, use, loaded = gated
    return _principal((lookup, use), per_minute, now), loaded


async def release_prefetched(rt: Runtime, loaded: Prefetched) -> None:
    """Give back a slot that no generate call took (a refusal after the middleware reserved),
    even while being cancelled; a failure is logged, and the reservation's expiry frees it."""
    if loaded.reservation is None:
        return
    reservation = loaded.reservation
    with anyio.CancelScope(shield=True):
        try:
            await rt.reviews.release(reservation)
        except Exception as exc:  # Redis down: the reservation's expiry frees the slot
            log.warning("cleanup_failed", step="release", error=type(exc).__name__)


def _rate_window(per_minute: int, now: float) -> RateWindow | None:
    if per_minute <= 0:
        return None
    return RateWindow(minute_of(now), per_minute, 1 - (now % 60) / 60)


def _principal(found: tuple[KeyLookup, KeyUse | None], per_minute: int, now: float) -> Principal:
    lookup, use = found
    if use is not None:
        enforce(use, per_minute, now)  # 429 past the limit
    return Principal(
        kind="key", company_id=lookup.company_id, role=lookup.role, key_id=lookup.key_id
    )

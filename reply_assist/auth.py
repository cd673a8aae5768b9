"""Who is calling, and what they may do.

Authentication (401) runs in middleware, before anything else. Authorisation (403) is a call
each handler makes after Litestar has validated ids and body, which gives the contract's order:
401 (token) → 400 (malformed ids or body) → 403 (role, company) → 404. A key of one company
asking about another company is refused before any lookup, so nothing reveals what exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import msgspec
import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import Receive, Scope, Send

from reply_assist.errors import Forbidden, Unauthorized
from reply_assist.http.problems import response_for
from reply_assist.models import GENERATION_LIMIT, Role
from reply_assist.ratelimit import enforce, minute_of
from reply_assist.store.companies import KeyLookup, KeyUse, RateWindow
from reply_assist.store.reviews import Loaded

if TYPE_CHECKING:
    from reply_assist.runtime import Runtime

__all__ = [
    "AGENT",
    "ANALYST",
    "ANY_ROLE",
    "WRITERS",
    "AuthMiddleware",
    "Principal",
    "authorize",
    "company_of_key",
    "hash_token",
    "key_principal",
    "new_api_key",
    "require_admin",
    "take_prefetched",
]

log = structlog.get_logger(__name__)

AGENT: frozenset[Role] = frozenset({"agent"})
ANALYST: frozenset[Role] = frozenset({"analyst"})
WRITERS: frozenset[Role] = frozenset({"dashboard", "agent"})  # reviews, generate, feedback
ANY_ROLE: frozenset[Role] = frozenset({"dashboard", "agent", "analyst"})  # reads

_KEY_PREFIX = "rak_"
# A key is rak_<company>_<secret>: the company id with ":" written "~" (ids are
# [A-Za-z0-9._:-], and ":" has no place in a bearer token), then 256 random bits in base64url.
# Keys issued before keys named their company are rak_<secret>, exactly 47 characters, which no
# key of the new form can be (its company takes at least one character and a separator).
_SECRET_LENGTH = 43  # secrets.token_urlsafe(32)
_LEGACY_KEY_LENGTH = len(_KEY_PREFIX) + _SECRET_LENGTH
_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # the contract's ids (api.common.ID_PATTERN)
_MAX_GATED_BODY = 4096  # a generate body is {"guidance": at most 500 characters}
# Where the auth middleware leaves a generate call's reservation for the handler (scope state).
_PREFETCHED = "reply_assist.generation_prefetched"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["admin", "key"]
    company_id: str | None = None
    role: Role | None = None
    key_id: str | None = None


ADMIN = Principal(kind="admin")


def hash_token(token: str) -> str:
    """SHA-256 is the right hash here: keys are 256 random bits, not passwords to stretch."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key(company_id: str) -> tuple[str, str, str]:
    """A new key of ``company_id``: (key id, the secret shown once, its hash to store)."""
    secret = f"{_KEY_PREFIX}{company_id.replace(':', '~')}_{secrets.token_urlsafe(32)}"
    return "key_" + secrets.token_hex(8), secret, hash_token(secret)


def company_of_key(token: str) -> str | None:
    """The company a key names; None for a key issued before keys named their company.

    Raises ``Unauthorized`` for a token that is neither form (nothing is looked up for it).
    """
    if len(token) == _LEGACY_KEY_LENGTH:
        return None
    body = token[len(_KEY_PREFIX) : -_SECRET_LENGTH]
    company = body[:-1].replace("~", ":")
    if not body.endswith("_") or _ID_RE.fullmatch(company) is None:
        raise Unauthorized("The token is not valid.")
    return company


def take_prefetched(scope: Scope) -> Loaded | None:
    """The company, review and slot the auth middleware read for this generate call, if it did;
    whoever takes them owns the slot (the middleware releases a slot nobody took)."""
    loaded: Loaded | None = scope.get("state", {}).pop(_PREFETCHED, None)
    return loaded


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


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves ``Authorization: Bearer <token>`` to a Principal, or refuses with 401; counts
    the call against the key's rate limit in the same round trip (429 when over it).

    For a generate call with a key that names its company, that same round trip also reads the
    company and the review and reserves a generation slot (``authenticate_in_company.lua``), so
    the call makes two round trips in all: this one and the commit. The handler takes what was
    read with ``take_prefetched``; a slot that no handler took (a 400, 403 or 429 after all) is
    released when the request ends.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if should_bypass_middleware(
            exclude_http_methods=self.exclude_http_methods,
            exclude_opt_key=self.exclude_opt_key,
            exclude_path_pattern=self.exclude,
            scope=scope,
            scopes=self.scopes,
        ):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        try:
            try:
                result = await self.authenticate_request(request)
            except Exception as exc:
                # Raised outside the route's exception handling, this would reach Litestar's
                # outermost handler past the access log and the Prometheus middleware, which
                # would then record a 500 (or a 200) for a 401, 429 or 503: answer it here.
                response = response_for(request, exc)
                await response.to_asgi_response(app=None, request=request)(scope, receive, send)
                return
            scope["user"] = result.user
            scope["auth"] = result.auth
            await self.app(scope, receive, send)
        finally:
            leftover = take_prefetched(scope)
            if leftover is not None and leftover.reservation is not None:
                await _release(scope, leftover)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized()
        admin_token: str = connection.app.state.admin_token
        if hmac.compare_digest(token.encode(), admin_token.encode()):
            return AuthenticationResult(user=ADMIN, auth=None)
        if not token.startswith(_KEY_PREFIX) or len(token) > 200:
            raise Unauthorized("The token is not valid.")
        company_id = company_of_key(token)
        runtime: Runtime = connection.app.state.runtime
        token_hash = hash_token(token)
        principal: Principal | None
        if company_id is not None and (
            review_id := await _generate_call_review(connection, company_id)
        ):
            principal = await _authenticate_and_reserve(
                runtime, connection, company_id, review_id, token_hash
            )
        else:
            principal = await key_principal(runtime, token_hash, company_id)
        if principal is None:
            raise Unauthorized("The token is not valid.")
        return AuthenticationResult(user=principal, auth=None)


async def key_principal(
    runtime: Runtime, token_hash: str, company_id: str | None = None
) -> Principal | None:
    """The principal of a key's hash, counting the call against its rate limit (429 past it);
    None when no such key exists (never made, or revoked). ``company_id`` is the company the key
    names (``company_of_key``), None for a key issued before keys named their company (its
    lookup is outside the company: one more round trip). The API's bearer auth and the reply
    desk's sessions both resolve keys here, so both see a revocation at once."""
    per_minute = runtime.settings.rate_limit_per_min
    now = time.time()
    found: tuple[KeyLookup, KeyUse | None] | None
    if company_id is None:
        found = await runtime.companies.authenticate(
            token_hash, minute_of(now) if per_minute > 0 else None
        )
    else:
        found = await runtime.companies.authenticate_in_company(
            company_id, token_hash, _rate_window(per_minute, now)
        )
    return None if found is None else _principal(found, per_minute, now)


async def _authenticate_and_reserve(
    runtime: Runtime,
    connection: ASGIConnection,  # type: ignore[type-arg]
    company_id: str,
    review_id: str,
    token_hash: str,
) -> Principal | None:
    """A generate call's one round trip before the model: the key, its rate limit, the company,
    the review and a generation slot, left in the scope for the handler (``take_prefetched``)."""
    per_minute = runtime.settings.rate_limit_per_min
    now = time.time()
    gated = await runtime.reviews.authenticate_and_reserve(
        company_id,
        review_id,
        token_hash,
        _rate_window(per_minute, now),
        roles=WRITERS,
        ttl_s=runtime.settings.reservation_ttl_s,
        limit=GENERATION_LIMIT,
    )
    if gated is None:
        return None
    lookup, use, loaded = gated
    connection.scope.setdefault("state", {})[_PREFETCHED] = loaded
    return _principal((lookup, use), per_minute, now)


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


async def _generate_call_review(connection: ASGIConnection, company_id: str) -> str | None:  # type: ignore[type-arg]
    """The review id when this is a generate call the middleware may read and reserve for: the
    key's own company, no Idempotency-Key (its claim comes first), and a body the handler will
    accept, so that a slot is never held by a call that a 400 ends."""
    body_type: Any = connection.route_handler.opt.get("generation_gate")
    if body_type is None:
        return None
    params = connection.path_params
    review_id = params.get("review_id")
    if params.get("company_id") != company_id or not isinstance(review_id, str):
        return None
    if _ID_RE.fullmatch(review_id) is None or "idempotency-key" in connection.headers:
        return None
    length = connection.headers.get("content-length")
    if length is None:
        if "transfer-encoding" in connection.headers:
            return None  # a chunked body: leave it to the handler
        return review_id
    if not length.isdigit() or int(length) > _MAX_GATED_BODY:
        return None
    if int(length) == 0:
        return review_id
    if not connection.headers.get("content-type", "").lower().startswith("application/json"):
        return None
    assert isinstance(connection, Request)
    try:
        msgspec.json.decode(await connection.body(), type=body_type, strict=True)
    except msgspec.MsgspecError:
        return None
    return review_id


async def _release(scope: Scope, loaded: Loaded) -> None:
    assert loaded.reservation is not None
    runtime: Runtime = scope["app"].state.runtime
    with anyio.CancelScope(shield=True):
        try:
            await runtime.reviews.release(loaded.reservation)
        except Exception as exc:  # Redis down: the reservation's expiry frees the slot
            log.warning("cleanup_failed", step="release", error=type(exc).__name__)

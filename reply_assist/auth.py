"""Who is calling, and what they may do.

Authentication (401) runs in middleware, before anything else. Authorisation (403) is a call
each handler makes after Litestar has validated ids and body, which gives the contract's order:
401 (token) → 400 (malformed ids or body) → 403 (role, company) → 404. A key of one company
asking about another company is refused before any lookup, so nothing reveals what exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Receive, Scope, Send

from reply_assist.api.problems import response_for
from reply_assist.errors import Forbidden, Unauthorized
from reply_assist.models import Role
from reply_assist.ratelimit import enforce, minute_of

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
    "hash_token",
    "key_principal",
    "new_api_key",
    "require_admin",
]

AGENT: frozenset[Role] = frozenset({"agent"})
ANALYST: frozenset[Role] = frozenset({"analyst"})
WRITERS: frozenset[Role] = frozenset({"dashboard", "agent"})  # reviews, generate, feedback
ANY_ROLE: frozenset[Role] = frozenset({"dashboard", "agent", "analyst"})  # reads

_KEY_PREFIX = "rak_"


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


def new_api_key() -> tuple[str, str, str]:
    """A new key: (key id, the secret shown once, its hash to store)."""
    secret = _KEY_PREFIX + secrets.token_urlsafe(32)
    return "key_" + secrets.token_hex(8), secret, hash_token(secret)


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
    the call against the key's rate limit in the same round trip (429 when over it)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            result = await self.authenticate_request(ASGIConnection(scope))
        except Exception as exc:
            # Raised outside the route's exception handling, this would reach Litestar's
            # outermost handler past the access log and the Prometheus middleware, which would
            # then record a 500 (or a 200) for a 401, 429 or 503: answer it here, through them.
            request: Request[Any, Any, Any] = Request(scope, receive)
            response = response_for(request, exc)
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
            return
        scope["user"] = result.user
        scope["auth"] = result.auth
        await self.app(scope, receive, send)

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
        runtime: Runtime = connection.app.state.runtime
        principal = await key_principal(runtime, hash_token(token))
        if principal is None:
            raise Unauthorized("The token is not valid.")
        return AuthenticationResult(user=principal, auth=None)


async def key_principal(runtime: Runtime, token_hash: str) -> Principal | None:
    """The principal of a key's hash, counting the call against its rate limit (429 past it);
    None when no such key exists (never made, or revoked). The API's bearer auth and the reply
    desk's sessions both resolve keys here, so both see a revocation at once."""
    per_minute = runtime.settings.rate_limit_per_min
    now = time.time()
    found = await runtime.companies.authenticate(
        token_hash, minute_of(now) if per_minute > 0 else None
    )
    if found is None:
        return None
    lookup, use = found
    if use is not None:
        enforce(use, per_minute, now)
    return Principal(
        kind="key", company_id=lookup.company_id, role=lookup.role, key_id=lookup.key_id
    )

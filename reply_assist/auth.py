"""Who is calling the API, and what they may do.

Authentication (401) runs in middleware, before anything else. Authorisation (403) is part of
each action's service function, which checks the body first and the role after, as the contract
orders: 401 (token) → 400 (malformed ids or body) → 403 (role, company) → 404. A key of one
company asking about another company is refused before any lookup, so nothing reveals what
exists. The principals, role sets and key lookups themselves live in ``services.access`` (the
reply desk's sessions use the same); they are re-exported here for the API's modules.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import Receive, Scope, Send

from reply_assist.errors import Unauthorized
from reply_assist.http.problems import response_for
from reply_assist.runtime import Runtime
from reply_assist.services.access import (
    ADMIN,
    AGENT,
    ANALYST,
    ANY_ROLE,
    KEY_PREFIX,
    WRITERS,
    Prefetched,
    Principal,
    authenticate_and_reserve,
    authorize,
    company_of_key,
    hash_token,
    key_principal,
    new_api_key,
    release_prefetched,
    require_admin,
)
from reply_assist.services.auth_throttle import note_failed_attempt, refuse_if_blocked

__all__ = [
    "ADMIN",
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

_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # the contract's ids (http.ids.ID_PATTERN)
_MAX_GATED_BODY = 4096  # a generate body is {"guidance": at most 500 characters}
# Where the auth middleware leaves a generate call's reservation for the handler (scope state).
_PREFETCHED = "reply_assist.generation_prefetched"


def take_prefetched(scope: Scope) -> Prefetched | None:
    """The company, review and slot the auth middleware read for this generate call, if it did;
    whoever takes them owns the slot (the middleware releases a slot nobody took)."""
    loaded: Prefetched | None = scope.get("state", {}).pop(_PREFETCHED, None)
    return loaded


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
                await release_prefetched(scope["app"].state.runtime, leftover)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized()
        runtime: Runtime = connection.app.state.runtime
        host = connection.client.host if connection.client else None
        refuse_if_blocked(runtime, host)  # 429 for a throttled address, before any check
        try:
            return await self._authenticate(connection, runtime, token)
        except Unauthorized:
            await note_failed_attempt(runtime, host, connection.url.path)  # 429 past the limit
            raise

    async def _authenticate(
        self,
        connection: ASGIConnection,  # type: ignore[type-arg]
        runtime: Runtime,
        token: str,
    ) -> AuthenticationResult:
        admin_token: str = connection.app.state.admin_token
        if hmac.compare_digest(token.encode(), admin_token.encode()):
            return AuthenticationResult(user=ADMIN, auth=None)
        if not token.startswith(KEY_PREFIX) or len(token) > 200:
            raise Unauthorized("The token is not valid.")
        company_id = company_of_key(token)
        token_hash = hash_token(token)
        principal: Principal | None
        if company_id is not None and (
            review_id := await _generate_call_review(connection, company_id)
        ):
            gated = await authenticate_and_reserve(runtime, company_id, review_id, token_hash)
            principal = None
            if gated is not None:
                principal, loaded = gated
                connection.scope.setdefault("state", {})[_PREFETCHED] = loaded
        else:
            principal = await key_principal(runtime, token_hash, company_id)
        if principal is None:
            raise Unauthorized("The token is not valid.")
        return AuthenticationResult(user=principal, auth=None)


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

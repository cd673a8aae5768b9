"""Signing in to the reply desk, and who a session is on each request.

The API key never leaves the server after sign-in: the session keeps only the key's hash, and
every request resolves that hash again through the lookup the API's bearer auth uses
(``access.key_principal``), so a revoked key's session stops at its next request and the key's
rate limit counts the pages too. An admin session keeps the admin token's hash and ends when the
service's admin token changes. A session also ends after ``desk_idle_timeout_s`` without a
request, and 8 hours after sign-in (``store.sessions``).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from reply_assist.errors import InvalidRequest, Unauthorized
from reply_assist.runtime import Runtime
from reply_assist.services.access import (
    ADMIN,
    Principal,
    company_of_key,
    hash_token,
    key_principal,
    require_admin,
)
from reply_assist.store.sessions import SESSION_TTL_S, DeskSession, SessionStore, new_csrf_token

__all__ = [
    "MAX_NAME",
    "SESSION_TTL_S",
    "DeskSession",
    "SignedIn",
    "choose_company",
    "session_principal",
    "sign_in",
    "sign_out",
]

MAX_NAME = 128
_MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str
    session: DeskSession
    role: str  # "admin", or the key's role


def _sessions(rt: Runtime) -> SessionStore:
    return SessionStore(rt.store, rt.settings.desk_idle_timeout_s)


async def sign_in(rt: Runtime, admin_token: str, token: str, name: str) -> SignedIn | None:
    """A new session for a valid key (or the admin token); None for a token that is not valid.

    ``name`` is who is working (recorded as the approver and the voter); without one, the key's
    label (or its id) stands for whoever uses the key.
    """
    token, name = token.strip(), name.strip()
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"The name may have at most {MAX_NAME} characters.")
    if not token or len(token) > _MAX_TOKEN:
        return None
    now = time.time()
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        session = DeskSession(
            kind="admin",
            token_hash=hash_token(token),
            agent_id=name or "admin",
            csrf=new_csrf_token(),
            signed_in_at=now,
        )
        return SignedIn(await _sessions(rt).create(session), session, "admin")
    try:
        key_company = company_of_key(token)
    except Unauthorized:
        return None
    principal = await key_principal(rt, hash_token(token), key_company)
    if principal is None or principal.company_id is None or principal.role is None:
        return None
    label = next(
        (
            k.label
            for k in await rt.companies.list_keys(principal.company_id)
            if k.id == principal.key_id
        ),
        None,
    )
    session = DeskSession(
        kind="key",
        token_hash=hash_token(token),
        agent_id=name or label or principal.key_id or "agent",
        csrf=new_csrf_token(),
        company_id=principal.company_id,
        key_names_company=key_company is not None,
        signed_in_at=now,
    )
    return SignedIn(await _sessions(rt).create(session), session, principal.role)


async def session_principal(
    rt: Runtime, admin_token: str, session_id: str
) -> tuple[DeskSession, Principal] | None:
    """The live session and its principal; None (and the session ended) when it has expired,
    was idle too long, or its key was revoked (or the admin token changed)."""
    sessions = _sessions(rt)
    session = await sessions.get(session_id)
    if session is None:
        return None
    principal: Principal | None
    if session.kind == "admin":
        same = hmac.compare_digest(session.token_hash, hash_token(admin_token))
        principal = ADMIN if same else None
    else:
        key_company = session.company_id if session.key_names_company else None
        principal = await key_principal(rt, session.token_hash, key_company)
    if principal is None:
        await sessions.delete(session_id)
        return None
    return session, principal


async def sign_out(rt: Runtime, session_id: str) -> None:
    await _sessions(rt).delete(session_id)


async def choose_company(
    rt: Runtime, principal: Principal, session_id: str, session: DeskSession, company_id: str
) -> DeskSession:
    """The platform admin's choice of the company the desk shows (one that exists)."""
    require_admin(principal)
    if company_id not in await rt.companies.all_ids():
        raise InvalidRequest("Choose one of the listed companies.")
    chosen = DeskSession(
        kind=session.kind,
        token_hash=session.token_hash,
        agent_id=session.agent_id,
        csrf=session.csrf,
        company_id=company_id,
        signed_in_at=session.signed_in_at,
    )
    await _sessions(rt).update(session_id, chosen)
    return chosen

"""Browser sessions of the reply desk: a random id in an HttpOnly cookie, the rest in Redis.

Redis holds a session under the hash of its id, so a copy of the store does not hand out live
sessions. A session ends after ``idle_s`` without a request (each read renews that, in the same
round trip: ``GETEX``) and, however busy, ``SESSION_TTL_S`` after sign-in. What a session may do
is decided above (``services.desk_sessions``); this only keeps it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Literal

import msgspec

from reply_assist.store.connection import Store

__all__ = ["SESSION_TTL_S", "DeskSession", "SessionStore", "new_csrf_token"]

SESSION_TTL_S = 8 * 3600  # a working day; signing in again after it is cheap


class DeskSession(msgspec.Struct):
    kind: Literal["admin", "key"]
    token_hash: str  # the API key's hash (or the admin token's): never the token itself
    agent_id: str  # who is working: recorded as the approver of publishes and the voter
    csrf: str  # the token every form and script must send back (see web.security)
    company_id: str | None = None  # a key's company; the company an admin chose
    # A key of the form that names its company is looked up in that company (auth.key_principal).
    key_names_company: bool = False
    # When the session began (epoch seconds); 0 for a session kept by an earlier version, which
    # therefore ends at its next request.
    signed_in_at: float = 0.0


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, store: Store, idle_s: int, ttl_s: int = SESSION_TTL_S) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._idle_s = min(idle_s, ttl_s)
        self._ttl_s = ttl_s

    async def create(self, session: DeskSession) -> str:
        session_id = secrets.token_urlsafe(32)
        key = self._keys.desk_session(_hash(session_id))
        await self._redis.set(key, msgspec.json.encode(session), ex=self._idle_s)
        return session_id

    async def get(self, session_id: str) -> DeskSession | None:
        """The live session, its idle time renewed; None when there is none, it was idle too
        long (Redis expired it) or it began more than ``ttl_s`` ago."""
        if not session_id or len(session_id) > 100:
            return None
        key = self._keys.desk_session(_hash(session_id))
        raw = await self._redis.getex(key, ex=self._idle_s)
        if raw is None:
            return None
        session = msgspec.json.decode(raw, type=DeskSession)
        if time.time() - session.signed_in_at >= self._ttl_s:
            await self._redis.delete(key)
            return None
        return session

    async def update(self, session_id: str, session: DeskSession) -> None:
        """Change a live session; it keeps the expiry it has."""
        key = self._keys.desk_session(_hash(session_id))
        await self._redis.set(key, msgspec.json.encode(session), keepttl=True, xx=True)

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._keys.desk_session(_hash(session_id)))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)

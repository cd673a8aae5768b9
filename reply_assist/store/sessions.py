"""Browser sessions of the reply desk: a random id in an HttpOnly cookie, the rest in Redis.

The API key never leaves the server after sign-in: the session keeps only the key's hash, and
every request resolves that hash again through the same lookup the API's bearer auth uses
(``CompanyRepository.authenticate``), so a revoked key's session stops at its next request and
the key's rate limit counts the pages too. An admin session keeps the admin token's hash and
ends when the service's admin token changes. Redis holds the session under the hash of its id,
so a copy of the store does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import secrets
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


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, store: Store, ttl_s: int = SESSION_TTL_S) -> None:
        self._redis = store.client
        self._keys = store.keys
        self._ttl_s = ttl_s

    async def create(self, session: DeskSession) -> str:
        session_id = secrets.token_urlsafe(32)
        key = self._keys.desk_session(_hash(session_id))
        await self._redis.set(key, msgspec.json.encode(session), ex=self._ttl_s)
        return session_id

    async def get(self, session_id: str) -> DeskSession | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self._redis.get(self._keys.desk_session(_hash(session_id)))
        return None if raw is None else msgspec.json.decode(raw, type=DeskSession)

    async def update(self, session_id: str, session: DeskSession) -> None:
        """Change a live session; it keeps the expiry it was given at sign-in."""
        key = self._keys.desk_session(_hash(session_id))
        await self._redis.set(key, msgspec.json.encode(session), keepttl=True, xx=True)

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._keys.desk_session(_hash(session_id)))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)

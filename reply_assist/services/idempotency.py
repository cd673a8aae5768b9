"""Idempotency-Key (IETF httpapi draft semantics), one machinery for every call that takes one.

A call claims its key before it does anything (``idempotency_begin.lua``): a new key is held
``pending`` for a lease; a key whose first call is still running is 409
``idempotency_key_in_use``; a key first used with another body is 422
``idempotency_key_reused``; a finished key hands back the first call's stored answer, to replay.
A call that ends without an answer (a refusal, a failure) abandons its claim, so the retry runs
anew; one that succeeds stores its answer under the key (generate does it inside its commit
script, publish right after its own).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import msgspec

from reply_assist.errors import Conflict, Unprocessable
from reply_assist.runtime import Runtime

__all__ = ["Claim", "abandon", "begin", "fingerprint", "finish", "key_hash"]


@dataclass(slots=True)
class Claim:
    """An Idempotency-Key this call holds while it runs."""

    key: str  # the record's Redis key
    fingerprint: str


def key_hash(idempotency_key: str) -> str:
    """The client's key as stored: hashed, so keys of any shape make safe Redis names."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def fingerprint(body: object) -> str:
    """What identifies the request body: the same key with another body is refused."""
    return hashlib.sha256(msgspec.json.encode(body)).hexdigest()


async def begin(rt: Runtime, key: str, body_fingerprint: str, lease_s: float) -> Claim | list[str]:
    """Claim ``key``; a list is the finished first call's stored fields, to replay.

    Raises ``Conflict`` (``idempotency_key_in_use``) or ``Unprocessable``
    (``idempotency_key_reused``).
    """
    state, *rest = await rt.store.scripts.run(
        "idempotency_begin",
        [key],
        [body_fingerprint, int(lease_s), secrets.token_hex(8)],
    )
    if state == "new":
        return Claim(key=key, fingerprint=body_fingerprint)
    if state == "in_use":
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry later.",
            code="idempotency_key_in_use",
        )
    if state == "mismatch":
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
        )
    return list(rest)


async def abandon(rt: Runtime, claim: Claim) -> None:
    """Free a claim whose call ended without an answer, so that a retry runs anew."""
    await rt.store.scripts.run("idempotency_abandon", [claim.key], [claim.fingerprint])


async def finish(rt: Runtime, claim: Claim, answer: bytes) -> None:
    """Store the call's answer under its key, for ``idempotency_ttl_s``."""
    await rt.store.scripts.run(
        "idempotency_finish",
        [claim.key],
        [claim.fingerprint, answer, rt.settings.idempotency_ttl_s],
    )

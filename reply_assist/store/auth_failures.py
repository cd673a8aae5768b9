"""Failed authentications per client address, counted in Redis so that every worker and every
instance counts into one window (``services.auth_throttle`` decides what they mean)."""

from __future__ import annotations

from dataclasses import dataclass

from reply_assist.store.connection import Store

__all__ = ["AuthFailureRepository", "FailureCount"]


@dataclass(frozen=True, slots=True)
class FailureCount:
    failures: int  # in the current window, this one included
    window_left_ms: int  # until the window (and the count) ends


class AuthFailureRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, address: str, window_s: int) -> FailureCount:
        """Count one failure from ``address``: one round trip (``auth_failure.lua``)."""
        failures, left_ms = await self._store.scripts.run(
            "auth_failure", [self._store.keys.auth_failures(address)], [window_s * 1000]
        )
        return FailureCount(int(failures), int(left_ms))

"""Requests a minute per API key, shared by every instance through Redis.

A sliding-window counter (the previous minute's count, weighted by how much of it still lies in
the last 60 s, plus this minute's): one round trip, two small keys per key and minute, smooth at
minute boundaries. Written here rather than taken from ``limits`` so that it runs on the
service's own Redis pool (embedded store and Cluster included) instead of a second connection.
The platform admin token is not an API key and is not limited.
"""

from __future__ import annotations

import math
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from reply_assist.auth import Principal
from reply_assist.errors import RateLimited
from reply_assist.runtime import Runtime

__all__ = ["RateLimitMiddleware"]


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("user")
        if self.per_minute > 0 and isinstance(principal, Principal) and principal.kind == "key":
            runtime: Runtime = scope["litestar_app"].state.runtime
            await self._check(runtime, principal.rate_limit_id)
        await next_app(scope, receive, send)

    async def _check(self, runtime: Runtime, who: str) -> None:
        now = time.time()
        window = int(now // 60)
        keys = runtime.store.keys
        async with runtime.store.client.pipeline(transaction=False) as pipe:
            pipe.incr(keys.rate_limit(who, window))
            pipe.expire(keys.rate_limit(who, window), 120)
            pipe.get(keys.rate_limit(who, window - 1))
            current, _, previous = await pipe.execute()
        elapsed = (now % 60) / 60
        estimate = int(previous or 0) * (1 - elapsed) + int(current)
        if estimate > self.per_minute:
            raise RateLimited(retry_after_s=max(1, math.ceil(60 - now % 60)))

"""Readiness: is the store reachable and a drafter usable (``GET /readyz``)."""

from __future__ import annotations

import time

import msgspec
from redis.exceptions import RedisError

from reply_assist.runtime import Runtime

__all__ = ["Component", "Readiness", "ReadinessProbe"]


class Component(msgspec.Struct):
    kind: str
    ok: bool
    detail: str


class Readiness(msgspec.Struct):
    ready: bool
    store: Component
    drafter: Component


class ReadinessProbe:
    """Checks Redis on every call (one PING) and the model endpoint at most every interval:
    a load balancer polling /readyz must not turn into a stream of calls to a paid API.
    A model call that failed to connect (refused, DNS, TLS, timeout) brings the next probe
    forward, so readiness does not stay 200 for an interval after the model went away."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._checked_at = float("-inf")
        self._drafter_problem: str | None = None

    async def check(self, runtime: Runtime) -> Readiness:
        store = runtime.store
        try:
            await store.client.ping()
            store_ok, store_detail = True, store.description
        except (RedisError, OSError) as exc:
            store_ok, store_detail = False, f"{store.description}: {type(exc).__name__}"
        # A call that failed at the connection level since the last probe makes the cached
        # answer stale: probe again now, so /readyz tells at once that the model is gone.
        failed_at = runtime.drafter.connection_failed_at
        stale = failed_at > self._checked_at
        if stale or time.monotonic() - self._checked_at >= self._interval_s:
            self._drafter_problem = await runtime.drafter.probe()
            self._checked_at = time.monotonic()
        drafter = runtime.drafter
        if drafter.kind == "template":
            drafter_detail = (
                "built-in templates (no model configured): drafts are marked 'template'"
            )
        else:
            drafter_detail = f"{drafter.kind} model {runtime.settings.model!r}"
        if self._drafter_problem:
            drafter_detail += f": {self._drafter_problem}"
        return Readiness(
            ready=store_ok and self._drafter_problem is None,
            store=Component(
                kind="embedded" if store.embedded else "redis", ok=store_ok, detail=store_detail
            ),
            drafter=Component(
                kind=drafter.kind, ok=self._drafter_problem is None, detail=drafter_detail
            ),
        )

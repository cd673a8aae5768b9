"""Liveness and readiness: no token needed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from reply_assist.services.readiness import Readiness, ReadinessProbe

__all__ = ["HealthController", "ReadinessProbe"]


class HealthController(Controller):
    tags = ["operations"]

    @get("/healthz", summary="Alive: 200 while the process serves")
    async def healthz(self) -> dict[str, Any]:
        return {"status": "ok"}

    @get("/readyz", summary="Ready: the store is reachable and a drafter is usable")
    async def readyz(self, state: State) -> Response[Readiness]:
        readiness = await state.readiness.check(state.runtime)
        headers = {} if readiness.ready else {"Retry-After": "5"}
        return Response(readiness, status_code=200 if readiness.ready else 503, headers=headers)

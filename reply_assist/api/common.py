"""What every controller shares: the runtime dependency and the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from reply_assist.auth import Principal
from reply_assist.runtime import Runtime

__all__ = ["dependencies", "principal_of"]


def _runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


dependencies = {"runtime": Provide(_runtime, sync_to_thread=False)}


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal

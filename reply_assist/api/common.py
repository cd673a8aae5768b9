"""What every controller shares: id types, the runtime dependency, the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import PathParameter
from msgspec import Meta

from reply_assist.auth import Principal
from reply_assist.runtime import Runtime

__all__ = [
    "ID_PATTERN",
    "AgentIdField",
    "CompanyId",
    "DraftId",
    "IdField",
    "ReviewId",
    "dependencies",
    "principal_of",
    "rfc3339",
]

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_ID_DOC = "Opaque id: 1 to 128 characters of [A-Za-z0-9._:-]."

CompanyId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]
ReviewId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]
DraftId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]


# The same limits inside request bodies (msgspec constraints, not path parameters).
IdField = Annotated[str, Meta(pattern=ID_PATTERN)]
AgentIdField = Annotated[str, Meta(min_length=1, max_length=128)]


def _runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


dependencies = {"runtime": Provide(_runtime, sync_to_thread=False)}


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")

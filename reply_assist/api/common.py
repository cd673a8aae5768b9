"""What every controller shares: id types, the runtime dependency, the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import PathParameter

from reply_assist.auth import Principal
from reply_assist.errors import NotFound
from reply_assist.models import Company
from reply_assist.runtime import Runtime

__all__ = [
    "ID_PATTERN",
    "CompanyId",
    "DraftId",
    "ReviewId",
    "dependencies",
    "principal_of",
    "require_company",
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


def _runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


dependencies = {"runtime": Provide(_runtime, sync_to_thread=False)}


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


async def require_company(runtime: Runtime, company_id: str) -> Company:
    company = await runtime.companies.get(company_id)
    if company is None:
        raise NotFound("No such company.", code="company_not_found")
    return company


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")

"""What drafts cost a company: its month's usage, and bought drafts (credits)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId
from reply_assist.runtime import Runtime
from reply_assist.services.months import MONTH_PATTERN
from reply_assist.services.usage import (
    CreditsIn,
    CreditsResult,
    UsageReport,
    add_credits,
    company_usage,
)

__all__ = ["UsageController"]

MonthQuery = Annotated[
    str | None,
    QueryParameter(
        name="month",
        description="A calendar month, `YYYY-MM` (UTC); unset: the current month. Anything "
        "else is a 400 `invalid_month`.",
        # Documented, not enforced here: parse_month answers invalid_month, a code of its own.
        schema_extra={"pattern": MONTH_PATTERN},
    ),
]


class UsageController(Controller):
    path = "/companies/{company_id:str}"
    tags = ["usage"]

    @get("/usage", summary="A company's drafts and tokens in one month (platform admin, analyst)")
    async def usage(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        month: MonthQuery = None,
    ) -> UsageReport:
        return await company_usage(runtime, principal_of(request), company_id, month)

    @post(
        "/credits",
        summary="Add bought drafts (platform admin): 201 added, 200 when the reference was "
        "added before (nothing added again)",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=CreditsResult,
                description="OK, the reference was added before and nothing was added again:",
            )
        },
    )
    async def credits(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[CreditsIn],
    ) -> Response[CreditsResult]:
        result = await add_credits(runtime, principal_of(request), company_id, data)
        return Response(result, status_code=201 if result.added else 200)

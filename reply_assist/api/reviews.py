"""Reviews (the platform's copy) and their eligibility for a draft."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId, ReviewId
from reply_assist.models import Review, ReviewIn
from reply_assist.runtime import Runtime
from reply_assist.services.reviews import (
    get_review,
    put_review,
    review_eligibility,
    shown_review,
)

__all__ = ["ReviewController"]


class EligibilityOut(msgspec.Struct):
    eligible: bool
    reasons: list[str]
    language: str | None
    generations_used: int
    generations_left: int
    details: dict[str, str]  # a sentence for each failing rule, keyed by its code


class ReviewController(Controller):
    path = "/companies/{company_id:str}/reviews/{review_id:str}"
    tags = ["reviews"]

    @put(summary="Create or replace the service's copy of a review", status_code=200)
    async def put_review(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
        data: JSONBody[ReviewIn],
    ) -> Response[Review]:
        review, created = await put_review(
            runtime, principal_of(request), company_id, review_id, data
        )
        return Response(review, status_code=201 if created else 200)

    @get(summary="Read a review")
    async def get_review(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> Review:
        record = await get_review(runtime, principal_of(request), company_id, review_id)
        return shown_review(record)

    @get("/eligibility", summary="Whether a draft can be generated, and every rule that fails")
    async def eligibility(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> EligibilityOut:
        result = await review_eligibility(runtime, principal_of(request), company_id, review_id)
        return EligibilityOut(
            eligible=result.eligible,
            reasons=result.reasons,
            language=result.language,
            generations_used=result.generations_used,
            generations_left=result.generations_left,
            details=result.details,
        )

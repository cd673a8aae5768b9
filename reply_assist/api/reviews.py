"""Reviews (the platform's copy) and their eligibility for a draft."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from reply_assist.api.common import CompanyId, ReviewId, principal_of
from reply_assist.auth import ANY_ROLE, WRITERS, authorize
from reply_assist.drafting.language import detect_language, normalize_language
from reply_assist.models import LanguageSource, Review, ReviewIn
from reply_assist.runtime import Runtime
from reply_assist.services.eligibility import evaluate
from reply_assist.services.lookups import (
    require_company,
    require_review,
    require_review_and_company,
)
from reply_assist.store.reviews import ReviewRecord

__all__ = ["ReviewController", "review_body", "shown_review"]


class EligibilityOut(msgspec.Struct):
    eligible: bool
    reasons: list[str]
    language: str | None
    generations_used: int
    generations_left: int
    details: dict[str, str]  # a sentence for each failing rule, keyed by its code


def shown_review(review: Review, language: str | None) -> Review:
    """The review as clients see it: ``language`` is the one the rules use (the platform's hint,
    normalized, else the detected language; null when neither), ``language_source`` says which."""
    source: LanguageSource | None = None
    if review.language is not None:
        source = "platform"
    elif language is not None:
        source = "detected"
    return msgspec.structs.replace(review, language=language, language_source=source)


def review_body(record: ReviewRecord) -> Review:
    """A review as ``GET …/reviews/{review_id}`` answers it (the desk's list reuses it)."""
    return shown_review(record.review, record.language)


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
        authorize(principal_of(request), company_id, WRITERS)
        company = await require_company(runtime, company_id)
        review = Review(
            id=review_id,
            company_id=company_id,
            type=data.type,
            text=data.text,
            stars=data.stars,
            created_at=data.created_at,
            title=data.title,
            reported=data.reported,
            verified=data.verified,
            author_name=data.author_name,
            language=data.language,
            updated_at=datetime.now(UTC),
            country=data.country,
        )
        # The platform's hint wins; otherwise detect once here, not on every generate call, with
        # the company's languages as the prior (short reviews in them are read as them).
        # Detection is ~2 ms of pure Python: a worker thread keeps the event loop free.
        language: str | None
        if data.language is not None:
            language, reason = normalize_language(data.language), None
        else:
            detection = await anyio.to_thread.run_sync(
                detect_language, data.text, tuple(company.languages)
            )
            language, reason = detection.language, detection.reason
        created = await runtime.reviews.put(review, language, reason)
        return Response(shown_review(review, language), status_code=201 if created else 200)

    @get(summary="Read a review")
    async def get_review(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> Review:
        authorize(principal_of(request), company_id, ANY_ROLE)
        return review_body(await require_review(runtime, company_id, review_id))

    @get("/eligibility", summary="Whether a draft can be generated, and every rule that fails")
    async def eligibility(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        review_id: ReviewId,
    ) -> EligibilityOut:
        authorize(principal_of(request), company_id, ANY_ROLE)
        company, record, in_flight = await require_review_and_company(
            runtime, company_id, review_id
        )
        result = evaluate(company, record, in_flight)
        return EligibilityOut(
            eligible=result.eligible,
            reasons=result.reasons,
            language=result.language,
            generations_used=result.generations_used,
            generations_left=result.generations_left,
            details=result.details,
        )

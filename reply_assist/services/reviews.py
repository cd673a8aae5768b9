"""Reviews (the platform's copy), their eligibility for a draft, and the reply desk's list."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import msgspec

from reply_assist.drafting.language import detect_language, normalize_language
from reply_assist.models import LanguageSource, Review, ReviewIn
from reply_assist.runtime import Runtime
from reply_assist.services import draft_rules
from reply_assist.services.access import ANY_ROLE, WRITERS, Principal, authorize
from reply_assist.services.eligibility import Eligibility, evaluate
from reply_assist.services.lookups import (
    require_company,
    require_review,
    require_review_and_company,
)
from reply_assist.services.review_list import ListFilters, ListPage, list_reviews
from reply_assist.services.usage import balance_of
from reply_assist.settings import Settings
from reply_assist.store.connection import connect
from reply_assist.store.reviews import ReviewRecord, ReviewRepository

__all__ = [
    "ReviewRecord",
    "get_review",
    "list_company_reviews",
    "put_review",
    "reindex_stored_reviews",
    "review_eligibility",
    "shown_review",
]


def shown_review(record: ReviewRecord) -> Review:
    """The review as clients see it: ``language`` is the one the rules use (the platform's hint,
    normalized, else the detected language; null when neither), ``language_source`` says which."""
    review, language = record.review, record.language
    source: LanguageSource | None = None
    if review.language is not None:
        source = "platform"
    elif language is not None:
        source = "detected"
    return msgspec.structs.replace(review, language=language, language_source=source)


async def put_review(
    rt: Runtime, principal: Principal, company_id: str, review_id: str, data: ReviewIn
) -> tuple[Review, bool]:
    """Create or replace the service's copy of a review; True when created. Replacing keeps its
    drafts, its generation count and its reply."""
    authorize(principal, company_id, WRITERS)
    company = await require_company(rt, company_id)
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
    # Stored, and queued for a background draft when the company's draft rules match it.
    created = await draft_rules.store_review(rt, company, review, language, reason)
    shown = ReviewRecord(review=review, language=language, language_reason=reason, drafts=0)
    return shown_review(shown), created


async def get_review(
    rt: Runtime, principal: Principal, company_id: str, review_id: str
) -> ReviewRecord:
    authorize(principal, company_id, ANY_ROLE)
    return await require_review(rt, company_id, review_id)


async def review_eligibility(
    rt: Runtime, principal: Principal, company_id: str, review_id: str
) -> Eligibility:
    """Every rule that would refuse a draft now (``services.eligibility``)."""
    authorize(principal, company_id, ANY_ROLE)
    company, record, in_flight = await require_review_and_company(rt, company_id, review_id)
    return evaluate(company, record, in_flight, await balance_of(rt, company))


async def list_company_reviews(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    filters: ListFilters,
    *,
    limit: int,
    cursor: str | None,
) -> ListPage:
    """The reply desk's inbox and ``GET …/reviews``: newest first, a page at a time."""
    authorize(principal, company_id, ANY_ROLE)
    return await list_reviews(rt, company_id, filters, limit=limit, cursor=cursor)


async def reindex_stored_reviews(settings: Settings, redis_url: str) -> tuple[int, int, int]:
    """Put reviews stored before the reply desk's list existed into its indexes, and those
    whose draft waits into the ready sets (idempotent, safe while serving): how many reviews
    were found, how many were added, and how many have a draft ready."""
    store = connect(
        redis_url,
        prefix=settings.redis_key_prefix,
        max_connections=4,
        timeout_s=settings.redis_timeout_s,
    )
    try:
        return await ReviewRepository(store).reindex_all()
    finally:
        await store.aclose()

"""Reading what a request names, or refusing with the 404 the contract gives."""

from __future__ import annotations

from reply_assist.errors import NotFound
from reply_assist.models import Company
from reply_assist.runtime import Runtime
from reply_assist.store.reviews import ReviewRecord

__all__ = ["require_company", "require_found", "require_review", "require_review_and_company"]


async def require_company(rt: Runtime, company_id: str) -> Company:
    company = await rt.companies.get(company_id)
    if company is None:
        raise NotFound("No such company.", code="company_not_found")
    return company


async def require_review(rt: Runtime, company_id: str, review_id: str) -> ReviewRecord:
    record = await rt.reviews.get(company_id, review_id)
    if record is None:
        raise NotFound("No such review.", code="review_not_found")
    return record


async def require_review_and_company(
    rt: Runtime, company_id: str, review_id: str
) -> tuple[Company, ReviewRecord, int]:
    """The company, the review and its in-flight generations, in one round trip."""
    company, record, in_flight = await rt.reviews.load(company_id, review_id)
    return *require_found(company, record), in_flight


def require_found(
    company: Company | None, record: ReviewRecord | None
) -> tuple[Company, ReviewRecord]:
    """Both, or the 404 for the first one missing (the company before its review)."""
    if company is None:
        raise NotFound("No such company.", code="company_not_found")
    if record is None:
        raise NotFound("No such review.", code="review_not_found")
    return company, record

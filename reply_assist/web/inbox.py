"""The inbox: the company's reviews, newest first, filtered and paged by the same service the
API's ``GET /v1/companies/{company_id}/reviews`` uses (``services.review_list``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from reply_assist.services.companies import get_company
from reply_assist.services.review_list import (
    DEFAULT_LIMIT,
    REPLY_STATUSES,
    ListFilters,
    ReplyStatus,
    parse_language,
    parse_stars,
)
from reply_assist.services.reviews import list_company_reviews
from reply_assist.web.i18n import Translator
from reply_assist.web.pages import render
from reply_assist.web.usage_banner import usage_banner
from reply_assist.web.viewer import current_viewer, page_translator, runtime_of

__all__ = ["InboxController"]

# The stars filter as people think of it: one value, or the unhappy and the happy ends.
STAR_CHOICES = ("1", "2", "3", "4", "5", "1,2", "4,5")
_STATUSES: dict[str, ReplyStatus] = {status: status for status in REPLY_STATUSES}


def age(t: Translator, created: datetime, now: datetime) -> str:
    minutes = max(0, int((now - created).total_seconds() // 60))
    if minutes < 60:
        return t("inbox.age_minutes", n=minutes)
    if minutes < 48 * 60:
        return t("inbox.age_hours", n=minutes // 60)
    return t("inbox.age_days", n=minutes // (24 * 60))


class InboxController(Controller):
    path = "/desk"
    include_in_schema = False

    @get()
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        language: Annotated[str | None, QueryParameter(name="language")] = None,
        stars: Annotated[str | None, QueryParameter(name="stars")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    ) -> Template:
        viewer = await current_viewer(request)
        company_id = viewer.company_id
        rt = runtime_of(request)
        company = await get_company(rt, viewer.principal, company_id)
        filters = ListFilters(
            status=_STATUSES.get(status or ""),  # anything else: every review
            language=parse_language(language or None),
            stars=parse_stars(stars or None),
        )
        page = await list_company_reviews(
            rt, viewer.principal, company_id, filters, limit=DEFAULT_LIMIT, cursor=cursor or None
        )
        t = page_translator(request)
        now = datetime.now(UTC)
        rows = [
            {
                "review": item.record.review,
                "language": item.record.language,
                "age": age(t, item.record.review.created_at, now),
                "replied": item.replied,
                "draft_ready": item.draft_ready,
                # The waiting draft is the one the company's rules made in the background.
                "by_rules": item.rule_draft is not None and item.rule_draft.state == "drafted",
                "eligible": item.eligibility.eligible,
                "left": item.eligibility.generations_left,
                "reasons": [
                    t(f"reason.{code}") if t.has(f"reason.{code}") else code
                    for code in item.eligibility.reasons
                ],
            }
            for item in page.items
        ]
        query = {
            "status": filters.status or "",
            "language": filters.language or "",
            "stars": stars or "",
        }
        next_url = None
        if page.next_cursor:
            pairs = [(k, v) for k, v in (*query.items(), ("cursor", page.next_cursor)) if v]
            next_url = "/desk?" + urlencode(pairs)
        return render(
            request,
            viewer,
            "inbox.html",
            company=company,
            rows=rows,
            filters=query,
            star_choices=STAR_CHOICES,
            next_url=next_url,
            paged=cursor is not None,
            usage_banner=usage_banner(t, viewer, page.balance),
        )

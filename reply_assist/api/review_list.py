"""The reply desk's inbox: ``GET /v1/companies/{company_id}/reviews``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId
from reply_assist.models import Review
from reply_assist.runtime import Runtime
from reply_assist.services.review_list import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ListFilters,
    ReplyStatus,
    parse_language,
    parse_stars,
)
from reply_assist.services.reviews import list_company_reviews, shown_review

__all__ = ["ReviewListController", "ReviewListItem", "ReviewListPage"]


class RuleDraftOut(msgspec.Struct, omit_defaults=True):
    state: Annotated[
        Literal["queued", "drafted", "skipped", "failed"],
        Meta(
            description="`queued` (waiting, running or waiting to be retried), `drafted`, "
            "`skipped` (it no longer applied when it ran), `failed` (given up after the last "
            "attempt)"
        ),
    ]
    reason: Annotated[
        str | None,
        Meta(description="Why it was skipped (a code) or failed (the last failure's cause)."),
    ] = None
    draft_id: str | None = None


class ReviewListItem(Review, kw_only=True):
    """A review as ``GET …/reviews/{review_id}`` returns it, with what the inbox shows."""

    replied: Annotated[bool, Meta(description="A reply has been published (any version).")]
    eligible: Annotated[bool, Meta(description="A draft can be generated now.")]
    reasons: Annotated[
        list[str],
        Meta(description="Every eligibility rule that fails (codes as on …/eligibility)."),
    ]
    generations_used: Annotated[
        int, Meta(description="Drafts generated for this review, those in progress included.")
    ]
    generations_left: Annotated[int, Meta(description="Drafts that can still be generated.")]
    draft_ready: Annotated[
        bool,
        Meta(description="A draft waits for an agent: the review has one and no reply yet."),
    ] = False
    rule_draft: Annotated[
        RuleDraftOut | None,
        Meta(description="The draft rules' background job for this review; null: none queued."),
    ] = None


class ReviewListPage(msgspec.Struct):
    items: list[ReviewListItem]
    next_cursor: Annotated[
        str | None,
        Meta(description="Pass as `cursor` for the next page; null on the last page."),
    ]


StatusQuery = Annotated[
    ReplyStatus | None,
    QueryParameter(
        name="status",
        description="`needs_reply`: no reply published yet; `replied`: one has been; "
        "`draft_ready`: no reply yet and a draft waits for an agent (items with "
        "`draft_ready` true).",
    ),
]
LanguageQuery = Annotated[
    str | None,
    QueryParameter(
        name="language",
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 639-1 code: the review's language (the platform's hint, else the "
        "detected one), e.g. `sv`.",
    ),
]
StarsQuery = Annotated[
    str | None,
    QueryParameter(
        name="stars",
        pattern=r"^ *[1-5] *(, *[1-5] *)*$",
        description="Comma-separated star ratings to include, e.g. `1,2`.",
    ),
]
LimitQuery = Annotated[
    int,
    QueryParameter(name="limit", ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}."),
]
CursorQuery = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        description="The previous page's `next_cursor` (opaque). A cursor that was altered "
        "or belongs to other filters is refused with 400 `invalid_cursor`.",
    ),
]


class ReviewListController(Controller):
    path = "/companies/{company_id:str}/reviews"
    tags = ["reviews"]

    @get(
        summary="List a company's reviews for the reply desk, newest first",
        description="Newest `created_at` first (equal timestamps by review id, descending), "
        "filtered by reply status (or a draft ready), language and stars, a page at a time: a "
        "page costs O(limit) in the store, however many reviews the company has. Every "
        "company role and the admin.",
    )
    async def list_reviews(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        status: StatusQuery = None,
        language: LanguageQuery = None,
        stars: StarsQuery = None,
        limit: LimitQuery = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
    ) -> ReviewListPage:
        filters = ListFilters(
            status=status, language=parse_language(language), stars=parse_stars(stars)
        )
        page = await list_company_reviews(
            runtime, principal_of(request), company_id, filters, limit=limit, cursor=cursor
        )
        items = [
            ReviewListItem(
                **msgspec.structs.asdict(shown_review(item.record)),
                replied=item.replied,
                eligible=item.eligibility.eligible,
                reasons=item.eligibility.reasons,
                generations_used=item.eligibility.generations_used,
                generations_left=item.eligibility.generations_left,
                draft_ready=item.draft_ready,
                rule_draft=None
                if item.rule_draft is None
                else RuleDraftOut(
                    state=item.rule_draft.state,
                    reason=item.rule_draft.reason,
                    draft_id=item.rule_draft.draft_id,
                ),
            )
            for item in page.items
        ]
        return ReviewListPage(items=items, next_cursor=page.next_cursor)

"""Feedback statistics for product teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId
from reply_assist.runtime import Runtime
from reply_assist.services.review_list import parse_language
from reply_assist.services.stats import (
    MAX_SERIES_BUCKETS,
    FeedbackStats,
    Interval,
    all_companies_stats,
    company_stats,
)

__all__ = ["StatsController"]

_RANGE_DOC = (
    "RFC 3339 with an offset. Resolution: the minute for the last 48 hours, the hour for the "
    "last 92 days, the day before that (a range edge is widened to it)."
)
Since = Annotated[datetime | None, QueryParameter(name="since", description=_RANGE_DOC)]
Until = Annotated[
    datetime | None,
    QueryParameter(
        name="until", description=_RANGE_DOC + " Unset (or not in the past): the request's time."
    ),
]
IntervalQuery = Annotated[
    Interval | None,
    QueryParameter(
        name="interval",
        description="Add `series`: one bucket per UTC day or week (Monday to Sunday) in "
        f"[since, until), empty ones included; at most {MAX_SERIES_BUCKETS} buckets.",
    ),
]
LanguageQuery = Annotated[
    str | None,
    QueryParameter(
        name="language",
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 639-1 code: count only drafts in that language, their votes, and "
        "publishes of them (a reply written by hand: the review's language). Counted from "
        "this version on.",
    ),
]

CountryQuery = Annotated[
    str | None,
    QueryParameter(
        name="country",
        description="ISO 3166-1 alpha-2 code (any case): count only drafts for reviewers from "
        "that country (as the review said when the draft was generated), their votes, and "
        "publishes of them (a reply written by hand: the review's country). A review without "
        "a country counts under none. Combines with `language`. Counted from this version on.",
    ),
]


class StatsController(Controller):
    tags = ["feedback statistics"]

    @get("/companies/{company_id:str}/feedback/stats", summary="One company's feedback stats")
    async def company_stats(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        since: Since = None,
        until: Until = None,
        interval: IntervalQuery = None,
        language: LanguageQuery = None,
        country: CountryQuery = None,
    ) -> FeedbackStats:
        return await company_stats(
            runtime,
            principal_of(request),
            company_id,
            since,
            until,
            interval=interval,
            language=parse_language(language),
            country=country,
        )

    @get("/feedback/stats", summary="Every company's feedback stats (platform admin)")
    async def all_stats(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        since: Since = None,
        until: Until = None,
        interval: IntervalQuery = None,
        language: LanguageQuery = None,
        country: CountryQuery = None,
    ) -> FeedbackStats:
        return await all_companies_stats(
            runtime,
            principal_of(request),
            since,
            until,
            interval=interval,
            language=parse_language(language),
            country=country,
        )

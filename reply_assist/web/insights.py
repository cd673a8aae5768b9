"""Insights for product teams: the feedback statistics, as charts, a table and a CSV.

The page and its CSV are drawn from one call of ``services.stats.feedback_stats``, the function
behind ``GET /v1/companies/{company_id}/feedback/stats``, with the same filters: the numbers on
the page are the API's numbers for that filter, by construction.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from reply_assist.errors import InvalidRequest
from reply_assist.services.companies import get_company
from reply_assist.services.drafts import DOWN_REASONS
from reply_assist.services.review_list import parse_language
from reply_assist.services.stats import (
    FeedbackStats,
    Interval,
    company_stats,
    countries_with_activity,
    parse_country,
)
from reply_assist.services.usage import company_usage
from reply_assist.web.i18n import Translator
from reply_assist.web.insight_countries import (
    NO_COUNTRY,
    country_chart,
    country_choices,
    country_names,
    country_split,
)
from reply_assist.web.pages import render
from reply_assist.web.viewer import Viewer, current_viewer, page_translator, runtime_of

__all__ = ["InsightsController", "insight_rows"]

_DEFAULT_DAYS = 30
DateParam = Annotated[str | None, QueryParameter(description="YYYY-MM-DD (UTC)")]
TextParam = Annotated[str | None, QueryParameter()]


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"Invalid '{name}': a date as YYYY-MM-DD.") from None


class Filters(msgspec.Struct):
    since: date
    until: date  # inclusive: the last day shown
    interval: Interval
    language: str | None
    country: str | None = None  # ISO 3166-1 alpha-2, as the stats service normalised it

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        if self.until == date.max:  # the day after it is not a date: the range ends with it
            return datetime.max.replace(tzinfo=UTC)
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)

    def query(self) -> str:
        pairs = {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "interval": self.interval,
            "language": self.language or "",
            "country": self.country or "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def _filters(
    since: str | None, until: str | None, interval: str | None, language: str | None
) -> Filters:
    today = datetime.now(UTC).date()
    last = _day(until, "until") or today
    span = timedelta(days=_DEFAULT_DAYS - 1)
    # The default range starts at 0001-01-01 (date.min) if it would start before it.
    first = _day(since, "since") or (last - span if last - date.min > span else date.min)
    if last < first:
        raise InvalidRequest("'To' must not be before 'From'.")
    return Filters(
        since=first,
        until=last,
        interval="week" if interval == "week" else "day",
        language=parse_language(language or None),
    )


def _rate(up: int, down: int) -> float | None:
    return round(up / (up + down), 4) if up + down else None


def insight_rows(stats: FeedbackStats) -> list[tuple[str, str, str, str]]:
    """What the page shows, as (section, name, metric, value) rows: the table and the CSV."""
    rows: list[tuple[str, str, str, str]] = [
        ("totals", "", "drafts", str(stats.drafts)),
        ("totals", "", "reviews_with_drafts", str(stats.reviews_with_drafts)),
        ("totals", "", "up", str(stats.votes.up)),
        ("totals", "", "down", str(stats.votes.down)),
        ("totals", "", "up_rate", _fmt(_rate(stats.votes.up, stats.votes.down))),
        ("totals", "", "published", str(stats.published.total)),
        ("totals", "", "published_from_draft", str(stats.published.from_draft)),
        ("totals", "", "published_unedited", str(stats.published.unedited)),
        ("totals", "", "mean_edit_ratio", _fmt(stats.published.mean_edit_ratio)),
    ]
    for origin, counts in stats.by_origin.items():
        rows += [
            ("origin", origin, "drafts", str(counts.drafts)),
            ("origin", origin, "up", str(counts.up)),
            ("origin", origin, "down", str(counts.down)),
            ("origin", origin, "up_rate", _fmt(_rate(counts.up, counts.down))),
        ]
    for country, counts in country_split(stats).items():
        rows += [
            ("country", country, "drafts", str(counts.drafts)),
            ("country", country, "up", str(counts.up)),
            ("country", country, "down", str(counts.down)),
            ("country", country, "up_rate", _fmt(_rate(counts.up, counts.down))),
        ]
    rows += [("down_reasons", reason, "votes", str(n)) for reason, n in stats.down_reasons.items()]
    rows += [
        ("edit_ratio", label, "publishes", str(n))
        for label, n in stats.edit_ratio_histogram.items()
    ]
    rows += [
        ("generations", drafts, "reviews", str(n))
        for drafts, n in stats.generations_histogram.items()
    ]
    for section, breakdown in (
        ("language", stats.by_language),
        ("prompt_version", stats.by_prompt_version),
    ):
        for name, counts in breakdown.items():
            rows += [
                (section, name, "drafts", str(counts.drafts)),
                (section, name, "up", str(counts.up)),
                (section, name, "down", str(counts.down)),
            ]
    for bucket in stats.series or []:
        day = bucket.start[:10]
        rows += [
            ("series", day, "drafts", str(bucket.drafts)),
            ("series", day, "up", str(bucket.up)),
            ("series", day, "down", str(bucket.down)),
            ("series", day, "published", str(bucket.published)),
            ("series", day, "unedited", str(bucket.unedited)),
        ]
    return rows


# The table says what the cards say: each metric by the card's label where there is one.
_METRIC_LABELS = {
    "drafts": "insights.drafts",
    "reviews_with_drafts": "insights.reviews_with_drafts",
    "up": "insights.votes_up",
    "down": "insights.votes_down",
    "up_rate": "insights.up_rate",
    "published": "insights.published",
    "published_from_draft": "insights.metric.published_from_draft",
    "published_unedited": "insights.metric.published_unedited",
    "mean_edit_ratio": "insights.mean_edit_ratio",
    "votes": "insights.metric.votes",
    "publishes": "insights.metric.publishes",
    "reviews": "insights.metric.reviews",
    "unedited": "insights.metric.unedited",
}


def labelled_rows(t: Translator, rows: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    """The rows of ``insight_rows`` in the page's words (the CSV keeps the keys)."""
    out = []
    for section, name, metric, value in rows:
        if section == "down_reasons":
            shown = t(f"feedback.reason.{name}") if t.has(f"feedback.reason.{name}") else name
        elif section == "language":
            shown = t.language_name(name)
        elif section == "origin":
            shown = t(f"insights.origin.{name}") if t.has(f"insights.origin.{name}") else name
        elif section == "country":
            shown = country_names(t, [name])[name]
        else:
            shown = name
        out.append(
            {
                "key": f"{section}/{name}/{metric}",
                "section": t(f"insights.section.{section}"),
                "name": shown,
                "metric": t(_METRIC_LABELS[metric]) if metric in _METRIC_LABELS else metric,
                "value": value,
            }
        )
    return out


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class _NotForThisRole(Exception):
    """Insights asked for by a role that may not read them: the page says which role may."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__()
        self.viewer = viewer


def _not_for_this_role(request: Request[Any, Any, Any], exc: _NotForThisRole) -> Response[Any]:
    t = page_translator(request)
    role = t(f"role.{exc.viewer.role}")
    return render(
        request,
        exc.viewer,
        "error.html",
        status=403,
        message=t("role.cannot_see_insights", role=role),
    )


class _BadCountry(Exception):
    """A ``country=`` the stats refuse (only a link made by hand has one): a 400 in words."""

    def __init__(self, viewer: Viewer, value: str) -> None:
        super().__init__(value)
        self.viewer = viewer
        self.value = value


def _bad_country(request: Request[Any, Any, Any], exc: _BadCountry) -> Response[Any]:
    t = page_translator(request)
    message = t("insights.invalid_country", value=exc.value[:20])
    return render(request, exc.viewer, "error.html", status=400, message=message)


async def _with_country(
    request: Request[Any, Any, Any], filters: Filters, raw: str | None
) -> Filters:
    """The filters with ``country=`` as the stats service checks it (the API's check), refused
    in the page's words to the signed-in viewer (a visitor who is not is sent to sign in)."""
    try:
        country = parse_country(raw or None)
    except InvalidRequest:
        raise _BadCountry(await current_viewer(request), raw or "") from None
    return msgspec.structs.replace(filters, country=country)


def _country_rows(t: Translator, stats: FeedbackStats) -> list[dict[str, Any]]:
    """The split by country for its card: by name, no country last."""
    split = country_split(stats)
    names = country_names(t, list(split))
    rows = [
        {
            "code": code,
            "name": names[code],
            "drafts": counts.drafts,
            "up": counts.up,
            "down": counts.down,
            "up_rate": _rate(counts.up, counts.down),
        }
        for code, counts in split.items()
    ]
    return sorted(rows, key=lambda r: (r["code"] == NO_COUNTRY, str(r["name"]).casefold()))


class InsightsController(Controller):
    path = "/insights"
    include_in_schema = False
    exception_handlers = {_NotForThisRole: _not_for_this_role, _BadCountry: _bad_country}

    async def _stats(
        self, request: Request[Any, Any, Any], filters: Filters
    ) -> tuple[Viewer, FeedbackStats]:
        viewer = await current_viewer(request)
        company_id = viewer.company_id
        if not viewer.can_see_insights:
            raise _NotForThisRole(viewer)
        stats = await company_stats(
            runtime_of(request),
            viewer.principal,
            company_id,
            filters.start,
            filters.end,
            interval=filters.interval,
            language=filters.language,
            country=filters.country,
        )
        return viewer, stats

    @get()
    async def insights(
        self,
        request: Request[Any, Any, Any],
        since: DateParam = None,
        until: DateParam = None,
        interval: TextParam = None,
        language: TextParam = None,
        country: TextParam = None,
    ) -> Template:
        filters = await _with_country(request, _filters(since, until, interval, language), country)
        viewer, stats = await self._stats(request, filters)
        company = await get_company(runtime_of(request), viewer.principal, viewer.company_id)
        # The month's drafts and tokens (GET …/usage), whatever the range: a month is what an
        # allowance and a bill are counted in.
        month = await company_usage(runtime_of(request), viewer.principal, viewer.company_id, None)
        t = page_translator(request)
        # The country filter offers the countries with activity in the range, in any language:
        # the unfiltered stats' split already names them; a filtered page asks for them.
        countries = (
            list(stats.by_country)
            if filters.language is None and filters.country is None
            else await countries_with_activity(
                runtime_of(request), viewer.principal, viewer.company_id, filters.start, filters.end
            )
        )
        return render(
            request,
            viewer,
            "insights.html",
            company=company,
            filters=filters,
            stats=stats,
            up_rate=_rate(stats.votes.up, stats.votes.down),
            origins={
                origin: {"drafts": counts.drafts, "up_rate": _rate(counts.up, counts.down)}
                for origin, counts in stats.by_origin.items()
            },
            unedited_share=(
                round(stats.published.unedited / stats.published.from_draft, 4)
                if stats.published.from_draft
                else None
            ),
            chart_data=msgspec.to_builtins(stats),
            labelled_rows=labelled_rows(t, insight_rows(stats)),
            chart_labels={
                "languages": {code: t.language_name(code) for code in stats.by_language},
                "origins": {origin: t(f"insights.origin.{origin}") for origin in stats.by_origin},
                "countries": country_names(t, list(country_split(stats))),
                "down_reasons": list(DOWN_REASONS),
            },
            country_choices=country_choices(t, countries, filters.country),
            country_rows=_country_rows(t, stats),
            country_chart=country_chart(stats),
            usage=month,
        )

    @get("/export.csv")
    async def export(
        self,
        request: Request[Any, Any, Any],
        since: DateParam = None,
        until: DateParam = None,
        interval: TextParam = None,
        language: TextParam = None,
        country: TextParam = None,
    ) -> Response[str]:
        filters = await _with_country(request, _filters(since, until, interval, language), country)
        viewer, stats = await self._stats(request, filters)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "name", "metric", "value"])
        writer.writerows(insight_rows(stats))
        name = f"insights-{viewer.company_id}-{filters.since}-{filters.until}.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

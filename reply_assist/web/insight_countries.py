"""The insights page's split by country: each country's drafts and votes as the stats count them,
and "no country" for the rest.

The stats count a draft (and its votes) under its reviewer's country, and a review without a
country under none; every draft and vote is in the totals. So what no country holds is exactly
the totals less the sum of the countries, in total and in each day or week: that difference is
the "no country" row (the drafts of reviews without a country, and those counted before
countries were recorded). Like a country, it is shown when it has drafts or votes: under a
country filter it never has.
"""

from __future__ import annotations

from typing import Any

from reply_assist.services.stats import Breakdown, FeedbackStats, SeriesBucket
from reply_assist.web.i18n import Translator

__all__ = ["NO_COUNTRY", "country_chart", "country_choices", "country_names", "country_split"]

NO_COUNTRY = "none"  # never a country code: those are two capital letters


def _split(
    by_country: dict[str, Breakdown], drafts: int, up: int, down: int
) -> dict[str, Breakdown]:
    rest = Breakdown(
        drafts=drafts - sum(c.drafts for c in by_country.values()),
        up=up - sum(c.up for c in by_country.values()),
        down=down - sum(c.down for c in by_country.values()),
    )
    if rest.drafts or rest.up or rest.down:
        return {**by_country, NO_COUNTRY: rest}
    return dict(by_country)


def country_split(stats: FeedbackStats) -> dict[str, Breakdown]:
    """Drafts and votes by country for the whole range (the API's order), then no country."""
    return _split(stats.by_country, stats.drafts, stats.votes.up, stats.votes.down)


def _bucket_split(bucket: SeriesBucket) -> dict[str, Breakdown]:
    return _split(bucket.by_country, bucket.drafts, bucket.up, bucket.down)


def country_chart(stats: FeedbackStats) -> dict[str, Any]:
    """The split as the page's script draws it (the shape of the stats' own ``by_country``)."""
    return {
        "by_country": _builtins(country_split(stats)),
        "series": [
            {"start": bucket.start, "by_country": _builtins(_bucket_split(bucket))}
            for bucket in stats.series or []
        ],
    }


def _builtins(split: dict[str, Breakdown]) -> dict[str, dict[str, int]]:
    return {name: {"drafts": c.drafts, "up": c.up, "down": c.down} for name, c in split.items()}


def country_names(t: Translator, names: list[str]) -> dict[str, str]:
    """Each country's name in the page's language; no country in words."""
    return {
        name: t("insights.country_none") if name == NO_COUNTRY else t.country_name(name)
        for name in names
    }


def country_choices(t: Translator, codes: list[str], chosen: str | None) -> list[tuple[str, str]]:
    """The country filter's options, (code, name) by name: the countries with activity, and
    the chosen one even when it has none in the range."""
    offered = set(codes) | ({chosen} if chosen else set())
    return sorted(((code, t.country_name(code)) for code in offered), key=lambda c: c[1].casefold())

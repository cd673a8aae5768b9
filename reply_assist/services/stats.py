"""Feedback statistics, summed from the counters the scripts keep (no scan of drafts)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from reply_assist.errors import InvalidRequest
from reply_assist.iso3166 import country_code
from reply_assist.models import GENERATION_LIMIT, REASONS, in_utc_range, out_of_utc_range
from reply_assist.runtime import Runtime
from reply_assist.services.access import ANALYST, Principal, authorize, require_admin
from reply_assist.services.lookups import require_company
from reply_assist.store.buckets import widen
from reply_assist.store.stats import EDIT_RATIO_BUCKETS, StatsTotals

__all__ = [
    "MAX_SERIES_BUCKETS",
    "REASONS",
    "FeedbackStats",
    "Interval",
    "SeriesBucket",
    "all_companies_stats",
    "company_stats",
    "countries_with_activity",
    "feedback_stats",
    "parse_country",
]

# The range the counters can hold; outside it a query is refused rather than scanned.
_EARLIEST = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())


Interval = Literal["day", "week"]
MAX_SERIES_BUCKETS = 1000
_INTERVAL_S = {"day": 86400, "week": 7 * 86400}
# The epoch (1970-01-01) was a Thursday: weeks start on Monday, 1970-01-05, and every 7 days.
_MONDAY_OFFSET_S = 4 * 86400


BY_COUNTRY_DESCRIPTION = (
    "Drafts and votes by the reviewer's country (ISO 3166-1 alpha-2) as it was when the draft "
    "was generated. A review without a country counts under none: the countries add up to the "
    "totals less those reviews' drafts and votes."
)


class Votes(msgspec.Struct):
    up: int
    down: int


class Published(msgspec.Struct):
    total: int
    from_draft: int
    unedited: int
    mean_edit_ratio: float | None


class Breakdown(msgspec.Struct):
    drafts: int
    up: int
    down: int


class SeriesBucket(msgspec.Struct):
    start: Annotated[
        str,
        Meta(
            description="Start of the interval (UTC midnight; a Monday for weeks). The first "
            "and last buckets count only the part inside [since, until)."
        ),
    ]
    drafts: int
    up: int
    down: int
    published: Annotated[int, Meta(description="Publishes (every version).")]
    unedited: Annotated[int, Meta(description="Publishes of a draft's generated text as is.")]
    by_language: Annotated[
        dict[str, Breakdown], Meta(description="Drafts and votes by the draft's language.")
    ]
    by_prompt_version: Annotated[
        dict[str, Breakdown], Meta(description="Drafts and votes by prompt version.")
    ]
    by_country: Annotated[dict[str, Breakdown], Meta(description=BY_COUNTRY_DESCRIPTION)]
    by_origin: Annotated[
        dict[str, Breakdown],
        Meta(description="Drafts and votes by the draft's origin (`request`, `rule`)."),
    ]


class FeedbackStats(msgspec.Struct, omit_defaults=True):
    since: str
    until: str
    drafts: int
    reviews_with_drafts: int
    votes: Votes
    reasons: dict[str, int]
    published: Published
    by_language: dict[str, Breakdown]
    by_prompt_version: dict[str, Breakdown]
    by_origin: Annotated[
        dict[str, Breakdown],
        Meta(
            description="Drafts and votes by the draft's origin: `request` (a person or a "
            "dashboard asked) or `rule` (the draft rules, in the background). Counted from this "
            "version on; both are always present."
        ),
    ]
    by_country: Annotated[dict[str, Breakdown], Meta(description=BY_COUNTRY_DESCRIPTION)]
    down_reasons: Annotated[
        dict[str, int], Meta(description="Reasons given with thumbs down only.")
    ]
    edit_ratio_histogram: Annotated[
        dict[str, int],
        Meta(
            description="Publishes of a draft by edit ratio: `0` (unchanged), then "
            "`(0,0.1]` … `(0.9,1]`."
        ),
    ]
    generations_histogram: Annotated[
        dict[str, int],
        Meta(
            description="Reviews that got drafts in the range, by how many drafts they had "
            "in all (`1` … `10`) at the range's end."
        ),
    ]
    series: Annotated[
        list[SeriesBucket] | None,
        Meta(description="With `interval`: one bucket per day or week, empty ones included."),
    ] = None


def _breakdown(fields: Mapping[str, int], prefix: str) -> dict[str, Breakdown]:
    out: dict[str, dict[str, int]] = {}
    for field, value in fields.items():
        if field.startswith(prefix):
            name, _, kind = field[len(prefix) :].rpartition(":")
            if kind in ("drafts", "up", "down"):
                out.setdefault(name, {"drafts": 0, "up": 0, "down": 0})[kind] = value
    return {name: Breakdown(**counts) for name, counts in sorted(out.items())}


def _by_origin(fields: Mapping[str, int]) -> dict[str, Breakdown]:
    found = _breakdown(fields, "o:")
    return {origin: found.get(origin, Breakdown(0, 0, 0)) for origin in ("request", "rule")}


def _view(fields: Counter[str], language: str | None) -> Counter[str]:
    """The counters of one language (kept under "L:<language>:"), or all of them."""
    if language is None:
        return fields
    prefix = f"L:{language}:"
    view = Counter({f[len(prefix) :]: v for f, v in fields.items() if f.startswith(prefix)})
    # by_language: only the filtered language's own counters.
    view.update({f: v for f, v in fields.items() if f.startswith(f"lang:{language}:")})
    return view


_SPLIT_KINDS = ("drafts", "up", "down")


def _by_country(fields: Mapping[str, int]) -> dict[str, Breakdown]:
    """The split by country, read from each country's filter counters: "C:<country>:drafts",
    ":up" and ":down" (the scripts keep no other field for it)."""
    out: dict[str, dict[str, int]] = {}
    for field, value in fields.items():
        parts = field.split(":")  # C:<country>:<kind>
        if len(parts) == 3 and parts[0] == "C" and parts[2] in _SPLIT_KINDS:
            out.setdefault(parts[1], dict.fromkeys(_SPLIT_KINDS, 0))[parts[2]] = value
    return {name: Breakdown(**counts) for name, counts in sorted(out.items())}


def _country_view(fields: Counter[str], country: str, language: str | None) -> Counter[str]:
    """The counters of one country (kept under "C:<country>:"), from the language's view when
    there is one (the scripts keep "L:<language>:C:<country>:" for both filters)."""
    prefix = f"C:{country}:"
    view = Counter({f[len(prefix) :]: v for f, v in fields.items() if f.startswith(prefix)})
    # The split by a filtered dimension holds the view's own drafts and votes only; the split by
    # language within the country comes from "L:<language>:C:<country>:" (drafts, up, down).
    for kind in _SPLIT_KINDS:
        if view[kind]:
            view[f"{prefix}{kind}"] = view[kind]
            if language is not None:
                view[f"lang:{language}:{kind}"] = view[kind]
    if language is None:
        for field, value in fields.items():
            parts = field.split(":")  # L:<language>:C:<country>:<kind>
            if (
                len(parts) == 5
                and parts[0] == "L"
                and parts[2:4] == ["C", country]
                and parts[4] in _SPLIT_KINDS
            ):
                view[f"lang:{parts[1]}:{parts[4]}"] = value
    return view


def _filtered(fields: Counter[str], language: str | None, country: str | None) -> Counter[str]:
    view = _view(fields, language)
    return view if country is None else _country_view(view, country, language)


def _generations(f: Counter[str]) -> dict[str, int]:
    """Reviews by their number of drafts, from the counts of drafts by generation number.

    A review whose drafts in the range were its n-th and no later one counted one draft of
    every generation up to n here, so the reviews that ended the range with exactly n drafts
    are count(generation n) − count(generation n + 1). A review whose earlier drafts fall
    before ``since`` counts only its later generations: it lowers the number just below its
    first draft in the range by one, which can make that number negative; it is shown as 0.
    """
    return {
        str(n): max(0, f[f"gen:{n}"] - f[f"gen:{n + 1}"]) for n in range(1, GENERATION_LIMIT + 1)
    }


def _shape(
    totals: StatsTotals,
    since: int,
    until: int,
    *,
    language: str | None = None,
    country: str | None = None,
    starts: list[int] | None = None,
) -> FeedbackStats:
    f = _filtered(totals.fields, language, country)
    from_draft = f["pub:from_draft"]
    prefix = (f"L:{language}:" if language else "") + (f"C:{country}:" if country else "")
    ratio_sum = totals.edit_ratio_sum[f"{prefix}pub:edit_ratio_sum"]
    series = None
    if starts is not None:
        series = []
        for start, part in zip(starts, totals.parts, strict=True):
            p = _filtered(part, language, country)
            series.append(
                SeriesBucket(
                    start=_iso(start),
                    drafts=p["drafts"],
                    up=p["up"],
                    down=p["down"],
                    published=p["pub:total"],
                    unedited=p["pub:unedited"],
                    by_language=_breakdown(p, "lang:"),
                    by_prompt_version=_breakdown(p, "pv:"),
                    by_country=_by_country(p),
                    by_origin=_by_origin(p),
                )
            )
    return FeedbackStats(
        since=_iso(since),
        until=_iso(until),
        drafts=f["drafts"],
        reviews_with_drafts=totals.reviews_with_drafts,
        votes=Votes(up=f["up"], down=f["down"]),
        reasons={reason: f[f"reason:{reason}"] for reason in REASONS},
        published=Published(
            total=f["pub:total"],
            from_draft=from_draft,
            unedited=f["pub:unedited"],
            mean_edit_ratio=round(ratio_sum / from_draft, 4) if from_draft else None,
        ),
        by_language=_breakdown(f, "lang:"),
        by_prompt_version=_breakdown(f, "pv:"),
        by_origin=_by_origin(f),
        by_country=_by_country(f),
        down_reasons={reason: f[f"dreason:{reason}"] for reason in REASONS},
        edit_ratio_histogram={
            label: f[f"pub:er:{i}"] for i, label in enumerate(EDIT_RATIO_BUCKETS)
        },
        generations_histogram=_generations(f),
        series=series,
    )


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _interval_starts(start: int, end: int, interval: Interval) -> list[int]:
    """The aligned start of every interval that [start, end) touches, UTC."""
    step = _INTERVAL_S[interval]
    offset = _MONDAY_OFFSET_S if interval == "week" else 0
    first = start - (start - offset) % step
    return list(range(first, end, step))


def parse_country(raw: str | None) -> str | None:
    """The ``country`` filter's code in its canonical form (``fr`` → ``FR``); a value that is
    not an assigned ISO 3166-1 alpha-2 code is refused (400)."""
    if raw is None:
        return None
    code = country_code(raw)
    if code is None:
        raise InvalidRequest(
            f"Invalid 'country': {raw[:20]!r} is not an assigned ISO 3166-1 alpha-2 "
            "country code (two letters, e.g. FR, DE, US)."
        )
    return code


async def feedback_stats(
    rt: Runtime,
    company_ids: list[str],
    since: datetime | None,
    until: datetime | None,
    *,
    interval: Interval | None = None,
    language: str | None = None,
    country: str | None = None,
) -> FeedbackStats:
    """The feedback statistics of ``company_ids`` over [since, until); ``language`` (ISO 639-1,
    normalized) and ``country`` (ISO 3166-1 alpha-2, any case) count only drafts in that
    language and for reviewers from that country, their votes and their publishes."""
    country = parse_country(country)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidRequest(
                f"Invalid '{name}': a timestamp needs an offset (RFC 3339), "
                "e.g. 2026-11-20T00:00:00Z."
            )
        if value is not None and not in_utc_range(value):
            raise InvalidRequest(out_of_utc_range(name, value))
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("'until' must be later than 'since'.")
    now = int(time.time())
    start = max(int(since.timestamp()) if since else _EARLIEST, _EARLIEST)
    # Without an 'until' (or with one not in the past) the range ends at the request's time:
    # the counters are read up to the end of the current minute, in which nothing after now
    # can have been counted yet, and the answer says 'until' is now (not the minute's end).
    until_s = int(until.timestamp()) if until is not None else now
    up_to_now = until_s >= now
    end = now - now % 60 + 60 if up_to_now else until_s
    if end <= start:  # entirely before 2000 or in the future: nothing can have happened
        empty = StatsTotals(parts=0 if interval else 1)
        return _shape(
            empty,
            start,
            start,
            language=language,
            country=country,
            starts=[] if interval else None,
        )
    start, end = widen(start, end, now)
    starts = _interval_starts(start, end, interval) if interval else None
    if starts is not None and len(starts) > MAX_SERIES_BUCKETS:
        raise InvalidRequest(
            f"Invalid 'interval': {len(starts)} buckets from 'since' to 'until'; at most "
            f"{MAX_SERIES_BUCKETS}. Give a later 'since' (it defaults to 2000-01-01)."
        )
    totals = await rt.stats.totals(
        company_ids,
        start,
        end,
        splits=starts[1:] if starts else None,
        language=language,
        country=country,
    )
    return _shape(
        totals,
        start,
        now if up_to_now else end,
        language=language,
        country=country,
        starts=starts,
    )


async def company_stats(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    since: datetime | None,
    until: datetime | None,
    *,
    interval: Interval | None = None,
    language: str | None = None,
    country: str | None = None,
) -> FeedbackStats:
    """One company's statistics (role analyst, the admin): the API's and the insights page's."""
    authorize(principal, company_id, ANALYST)
    await require_company(rt, company_id)
    return await feedback_stats(
        rt, [company_id], since, until, interval=interval, language=language, country=country
    )


async def all_companies_stats(
    rt: Runtime,
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    *,
    interval: Interval | None = None,
    language: str | None = None,
    country: str | None = None,
) -> FeedbackStats:
    """Every company's statistics together (platform admin)."""
    require_admin(principal)
    ids = await rt.companies.all_ids()
    return await feedback_stats(
        rt, ids, since, until, interval=interval, language=language, country=country
    )


async def countries_with_activity(
    rt: Runtime,
    principal: Principal,
    company_id: str,
    since: datetime | None,
    until: datetime | None,
) -> list[str]:
    """The countries (ISO 3166-1 alpha-2) whose reviewers' drafts or votes the company counted
    in [since, until), any language: what the insights page offers as its country filter."""
    return list((await company_stats(rt, principal, company_id, since, until)).by_country)

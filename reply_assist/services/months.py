"""Calendar months in UTC, as the month's drafts are counted (services/usage.py).

The month a draft counts in is named here, by Python's clock, and passed to the scripts, rather
than read from Redis's clock inside them: a test stands on a fixed day by replacing ``clock``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from reply_assist.errors import InvalidRequest

__all__ = ["MONTH_PATTERN", "clock", "current_month", "iso", "month_of", "parse_month", "renews_at"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The clock every month is named by; tests replace it to stand on a fixed day.
clock: Callable[[], datetime] = _utc_now

# Years 0001 to 9999 (datetime's), months 01 to 12.
MONTH_PATTERN = r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def month_of(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def current_month() -> str:
    return month_of(clock())


def renews_at(month: str) -> datetime:
    """When the month's allowance renews: 00:00 UTC on the 1st of the next month (the last
    instant there is, for December 9999)."""
    year, number = int(month[:4]), int(month[5:7])
    if number < 12:
        return datetime(year, number + 1, 1, tzinfo=UTC)
    if year < 9999:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime.max.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_month(text: str | None) -> str:
    """``YYYY-MM`` (the current month when None); 400 ``invalid_month`` otherwise."""
    if text is None:
        return current_month()
    if _MONTH.fullmatch(text) is None:
        raise InvalidRequest(
            f"Invalid 'month': {text[:20]!r} is not a calendar month written YYYY-MM "
            "(e.g. 2026-12).",
            code="invalid_month",
        )
    return text

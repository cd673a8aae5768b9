"""Calendar months in UTC, as the month's drafts are counted, and the balance's levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from reply_assist.errors import InvalidRequest
from reply_assist.services.months import month_of, parse_month, renews_at
from reply_assist.services.usage import Balance


def test_a_month_is_the_utc_one() -> None:
    # 00:30 on 1 April in Stockholm is still March in UTC.
    stockholm = timezone(timedelta(hours=2))
    assert month_of(datetime(2026, 4, 1, 0, 30, tzinfo=stockholm)) == "2026-03"
    assert month_of(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == "2026-12"


def test_the_allowance_renews_on_the_1st_at_midnight_utc() -> None:
    assert renews_at("2026-03") == datetime(2026, 4, 1, tzinfo=UTC)
    assert renews_at("2026-12") == datetime(2027, 1, 1, tzinfo=UTC)
    assert renews_at("9999-12").year == 9999  # no overflow past the last year there is


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "0000-01", "x", ""])
def test_a_bad_month_is_invalid_month(text: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        parse_month(text)
    assert exc.value.code == "invalid_month"


def test_the_balance_levels() -> None:
    at = datetime(2026, 4, 1, tzinfo=UTC)

    def level(left: int | None, alert_at: int | None = 5) -> str:
        return Balance("2026-03", at, allowance=10, alert_at=alert_at, drafts_left=left).level

    assert level(None) == "unlimited"
    assert (level(6), level(5), level(1), level(0)) == ("ok", "low", "low", "exhausted")
    assert level(1, alert_at=None) == "ok"
    assert not Balance("2026-03", at, allowance=1, drafts_left=1, held=1).available
    assert Balance("2026-03", at, allowance=1, drafts_left=2, held=1).available

"""The star band after the market shift: one rule for every drafter."""

from __future__ import annotations

import pytest

from reply_assist.markets import answered_stars, star_band, star_shift

SHIFTS = {"FR": 1, "DE": 1, "US": -1, "JP": 2}


@pytest.mark.parametrize(
    ("stars", "country", "answered", "band"),
    [
        (4, "FR", 5, "positive"),  # seed 003: a French 4 is answered like a 5
        (2, "FR", 3, "mixed"),
        (3, "DE", 4, "positive"),
        (3, "US", 2, "negative"),
        (4, "US", 3, "mixed"),
        (1, "JP", 3, "mixed"),
        (5, "FR", 5, "positive"),  # clamped at 5
        (1, "US", 1, "negative"),  # clamped at 1
        (2, "SE", 2, "negative"),  # no shift for that country
        (3, None, 3, "mixed"),  # no country
    ],
)
def test_the_shift_moves_the_stars_and_the_band(
    stars: int, country: str | None, answered: int, band: str
) -> None:
    shift = star_shift(country, SHIFTS)
    assert answered_stars(stars, shift) == answered
    assert star_band(stars, shift) == band


@pytest.mark.parametrize(("stars", "band"), [(1, "negative"), (2, "negative"), (3, "mixed")])
def test_without_a_shift_the_band_is_the_stars(stars: int, band: str) -> None:
    assert star_band(stars) == band
    assert star_shift("FR", None) == 0
    assert star_shift("FR", {}) == 0

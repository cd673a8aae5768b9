"""Markets: how many stars a review is answered as, and the star band that follows.

Ratings differ by culture: "a 7 from a customer in France can be the same as an 8 in the US"
(a merchant's review playbook, after CheckMarket's European NPS variant, which moves every
category by one point). A company says so per country with ``market_star_shift``
(``{"FR": 1, "DE": 1}``, each −2…2): a review from one of those countries is answered as its
stars plus the shift, clamped to 1–5, so a French 4 with ``FR: 1`` gets the tone of a 5.

``star_band`` is the one place that turns stars into a band; the templates, the prompt and the
choice of the company's example replies all take the band a draft request carries, which the
generation service computes here from data it has already loaded (the company and the review):
no lookup, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "MAX_STAR_SHIFT",
    "STAR_BANDS",
    "StarBand",
    "answered_stars",
    "star_band",
    "star_shift",
]

StarBand = Literal["negative", "mixed", "positive"]
STAR_BANDS: Final[tuple[StarBand, ...]] = ("negative", "mixed", "positive")
MAX_STAR_SHIFT: Final = 2  # a shift of ±2 already turns a 3 into a 1 or a 5
_MIN_STARS: Final = 1
_MAX_STARS: Final = 5


def star_shift(country: str | None, market_star_shift: Mapping[str, int] | None) -> int:
    """The company's shift for the reviewer's country; 0 without a country or a shift for it."""
    if country is None or not market_star_shift:
        return 0
    return market_star_shift.get(country, 0)


def answered_stars(stars: int, shift: int = 0) -> int:
    """The stars a review is answered as: ``stars + shift``, clamped to 1–5."""
    return max(_MIN_STARS, min(_MAX_STARS, stars + shift))


def star_band(stars: int, shift: int = 0) -> StarBand:
    """The band of a rating after the market shift: negative (1-2), mixed (3), positive (4-5).

    Out-of-range values (the API refuses them, but a drafter should not crash) are clamped.
    """
    answered = answered_stars(stars, shift)
    if answered <= 2:
        return "negative"
    if answered == 3:
        return "mixed"
    return "positive"

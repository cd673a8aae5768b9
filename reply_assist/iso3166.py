"""The ISO 3166-1 alpha-2 country codes: the only codes a review's ``country`` and a company's
``market_star_shift`` may use (``"XX"`` is two letters, not a country).

The 249 officially assigned codes, generated from ``pycountry`` 26.2.16 (Debian's iso-codes
data, which follows the ISO 3166 Maintenance Agency). Kept here as data rather than a runtime
dependency, as ``iso639.py`` does: pycountry is 23 MB of tables and translations, and its
country database is a JSON file parsed on first use, for this one list. Not accepted: the
user-assigned codes (``AA``, ``QM``-``QZ``, ``XA``-``XZ``, ``ZZ``; ``XK`` for Kosovo is one of
them) and the reserved ones (``UK``, ``EU``). ``tests/unit/test_iso3166.py`` compares this table
with the pinned pycountry (a dev dependency), so a new or withdrawn code fails a test when
pycountry moves; it prints the table to paste here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ISO_3166_1_ALPHA_2", "country_code"]

_CODES: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
"""
ISO_3166_1_ALPHA_2: Final = frozenset(_CODES.split())


def country_code(code: str) -> str | None:
    """The code in its canonical form (upper case: ``fr`` → ``FR``), or None when it is not an
    assigned ISO 3166-1 alpha-2 code."""
    if len(code) != 2 or not code.isascii():  # "ﬁ".upper() is "FI": only two ASCII letters
        return None
    upper = code.upper()
    return upper if upper in ISO_3166_1_ALPHA_2 else None

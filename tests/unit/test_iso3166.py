"""The table of country codes is the real list of assigned ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

import textwrap

import pycountry
import pytest

from reply_assist.iso3166 import ISO_3166_1_ALPHA_2, country_code


def test_the_table_is_pycountrys_list_of_assigned_codes() -> None:
    assigned = {country.alpha_2 for country in pycountry.countries}
    table = "\n".join(textwrap.wrap(" ".join(sorted(assigned)), 92))
    assert assigned == ISO_3166_1_ALPHA_2, f"regenerate reply_assist/iso3166.py's table:\n{table}"


@pytest.mark.parametrize(("code", "expected"), [("FR", "FR"), ("fr", "FR"), ("Se", "SE")])
def test_a_code_in_any_case_is_read_in_upper_case(code: str, expected: str) -> None:
    assert country_code(code) == expected


# Two letters that are not an assigned country: user-assigned (XK is Kosovo's, in use but not
# ISO's), exceptionally reserved (UK, EU), unassigned, or not two letters at all.
@pytest.mark.parametrize(
    "code", ["XX", "XK", "ZZ", "AA", "QM", "UK", "EU", "France", "F", "", "ﬁ", "ＦＲ", "F\u0307R"]
)
def test_anything_else_is_not_a_country(code: str) -> None:
    assert country_code(code) is None

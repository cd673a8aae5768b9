"""Errors a client can cause say what is wrong and how to put it right; none is a 500."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, Api


@pytest.mark.parametrize(
    ("contract_start", "created_at", "in_grace"),
    [
        ("9999-12-31T23:59:59Z", "2026-11-20T08:00:00Z", True),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T23:59:59Z", True),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", True),
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", False),
        ("2026-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", True),
    ],
)
async def test_timestamps_at_the_ends_of_the_calendar_are_no_500(
    api: Api, contract_start: str, created_at: str, in_grace: bool
) -> None:
    await api.company(contract_start=contract_start)
    await api.review(created_at=created_at)
    r = await api.client.get("/v1/companies/acme/reviews/r1/eligibility", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert ("review_in_grace_period" in r.json()["reasons"]) is in_grace
    if in_grace:
        assert r.json()["details"]["review_in_grace_period"]
        generated = await api.generate()
        assert generated.status_code == 422, generated.text
        assert generated.json()["code"] == "review_in_grace_period"

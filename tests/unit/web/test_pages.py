"""Where the language switch may send a visitor back to: only this site's own pages."""

from __future__ import annotations

import pytest

from reply_assist.web.pages import safe_next


@pytest.mark.parametrize(
    "target",
    ["/desk", "/desk/reviews/r-1?draft=d1", "/insights?since=2026-11-01&language=sv"],
)
def test_a_local_page_is_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "desk",
    ],
)
def test_anything_that_could_leave_the_site_goes_to_the_inbox(target: str | None) -> None:
    assert safe_next(target) == "/desk"

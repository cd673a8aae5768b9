"""The reply desk's banner about the company's drafts this month (``services.usage``): shown to
those who generate drafts (agents, dashboards, the admin) once drafts left are at or under the
company's alert level, and at 0. An analyst cannot generate, so it would only be noise there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reply_assist.services.usage import Balance
from reply_assist.web.i18n import Translator
from reply_assist.web.viewer import Viewer

__all__ = ["UsageBanner", "usage_banner"]


@dataclass(frozen=True, slots=True)
class UsageBanner:
    level: Literal["low", "exhausted"]
    text: str


def usage_banner(t: Translator, viewer: Viewer, balance: Balance) -> UsageBanner | None:
    """None while drafts are unlimited or above the alert level, and for those who cannot
    generate."""
    if not viewer.can_generate:
        return None
    level = balance.level
    # The day the allowance renews, as ISO writes it: read the same way in every language.
    date = balance.renews_at.date().isoformat()
    if level == "exhausted":
        return UsageBanner("exhausted", t("usage.exhausted", date=date))
    if level == "low":
        key = "usage.low_one" if balance.drafts_left == 1 else "usage.low"
        return UsageBanner("low", t(key, n=balance.drafts_left, date=date))
    return None

"""What drafts cost each company: the monthly allowance, bought drafts (credits), alerts.

A month is a calendar month in UTC. A company with ``monthly_draft_allowance`` (null: unlimited,
nothing here applies) may generate that many drafts a month, on any face and from any origin;
they renew on the 1st and unused ones are dropped. Bought drafts never expire and are used only
once the month's allowance is spent.

Holding and using a draft happens in the generation gate's own scripts (store/scripts/lib/
usage.lua): the reservation that takes a review's generation slot also holds one of the month's
drafts, in the same atomic step and round trip; the commit turns it into a used draft and says
which alert level it crossed; a failed call gives it back with the slot. This module names the
month (so the clock is Python's, and a test can fix it), adds credits, reports a month, tells a
generate call it is refused, and sends the alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
import structlog
from msgspec import Meta

from reply_assist.errors import PaymentRequired
from reply_assist.models import MAX_DRAFTS, Company
from reply_assist.runtime import Runtime
from reply_assist.services import events, months
from reply_assist.services.access import ANALYST, ANY_ROLE, Principal, authorize, require_admin
from reply_assist.services.lookups import require_company
from reply_assist.services.months import current_month, iso, parse_month, renews_at
from reply_assist.store.reviews import CommitResult
from reply_assist.store.usage import MonthUsage

__all__ = [
    "UNLIMITED",
    "Balance",
    "CreditsIn",
    "CreditsResult",
    "DraftsByOrigin",
    "ModelUsage",
    "UsageReport",
    "add_credits",
    "balance",
    "balance_of",
    "company_usage",
    "exhausted",
    "tell_alerts",
]

log = structlog.get_logger(__name__)


# --- the balance: what the desk's banner and eligibility read --------------------------------


class Balance(msgspec.Struct, frozen=True):
    """A company's drafts left this month."""

    month: str
    renews_at: datetime
    allowance: int | None = None  # None: unlimited
    alert_at: int | None = None
    drafts_left: int | None = None  # allowance left + credits left; None: unlimited
    held: int = 0  # held by calls in flight now

    @property
    def level(self) -> Literal["unlimited", "ok", "low", "exhausted"]:
        """``low`` at or under the company's alert level, ``exhausted`` at 0."""
        if self.drafts_left is None:
            return "unlimited"
        if self.drafts_left <= 0:
            return "exhausted"
        if self.alert_at is not None and self.drafts_left <= self.alert_at:
            return "low"
        return "ok"

    @property
    def available(self) -> bool:
        """Whether a generate call would find a draft now (calls in flight count)."""
        return self.drafts_left is None or self.drafts_left - self.held > 0


UNLIMITED = Balance(month="", renews_at=datetime.max.replace(tzinfo=UTC))


def _left(stored: MonthUsage, month: str, now_month: str) -> tuple[int | None, int | None]:
    """(allowance left, drafts left) of ``month``: a past month's allowance is gone, a future
    month's is whole; credits are counted as they are now."""
    if stored.allowance is None:
        return None, None
    if month < now_month:
        allowance_left = 0
    elif month > now_month:
        allowance_left = stored.allowance
    else:
        allowance_left = max(0, stored.allowance - stored.from_allowance)
    return allowance_left, allowance_left + stored.credits_left


async def balance_of(rt: Runtime, company: Company) -> Balance:
    """The company's balance this month; no read at all for an unlimited company."""
    if company.monthly_draft_allowance is None:
        return UNLIMITED
    month = current_month()
    stored = await rt.usage.month(company.id, month)
    _, drafts_left = _left(stored, month, month)
    return Balance(
        month=month,
        renews_at=renews_at(month),
        allowance=stored.allowance,
        alert_at=stored.alert_at,
        drafts_left=drafts_left,
        held=stored.held,
    )


async def balance(rt: Runtime, principal: Principal, company_id: str) -> Balance:
    """The reply desk's banner: drafts left this month, for anyone who may read the company."""
    authorize(principal, company_id, ANY_ROLE)
    return await balance_of(rt, await require_company(rt, company_id))


def exhausted(month: str) -> PaymentRequired:
    """The refusal of a generate call that finds no draft left in ``month``."""
    at = iso(renews_at(month))
    return PaymentRequired(
        "The company has no drafts left this month: its monthly allowance is used and no "
        f"bought drafts are left. The allowance renews at {at}; an admin can add credits.",
        renews_at=at,
    )


# --- alerts ----------------------------------------------------------------------------------


async def tell_alerts(rt: Runtime, company: Company, month: str, result: CommitResult) -> None:
    """Send ``usage.low`` / ``usage.exhausted`` when the commit says this draft crossed them
    (the commit script records each once a month, so a retry or a second process never sends
    one twice). A failure to queue is logged: the draft stands."""
    crossed: list[events.EventType] = []
    if result.crossed_low:
        crossed.append("usage.low")
    if result.crossed_exhausted:
        crossed.append("usage.exhausted")
    for event_type in crossed:
        data = {
            "company_id": company.id,
            "month": month,
            "drafts_left": result.drafts_left,
            "usage_alert_at": company.usage_alert_at,
            "renews_at": iso(renews_at(month)),
        }
        try:
            await events.emit(rt, company.id, event_type, data)
        except Exception as exc:
            log.warning(
                "usage_alert_failed",
                company_id=company.id,
                event=event_type,
                error=type(exc).__name__,
            )


# --- credits ---------------------------------------------------------------------------------


class CreditsIn(msgspec.Struct, forbid_unknown_fields=False):
    drafts: Annotated[
        int, Meta(ge=1, le=MAX_DRAFTS, description="Bought drafts to add; they never expire")
    ]
    reference: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            description="The purchase's own id (an order or invoice number): the same "
            "reference sent again adds nothing",
        ),
    ]


class CreditsResult(msgspec.Struct):
    company_id: str
    reference: str
    drafts: Annotated[int, Meta(description="What this reference added (its first purchase)")]
    added: Annotated[bool, Meta(description="false: the reference was seen before")]
    credits_left: Annotated[int, Meta(description="Bought drafts left now")]
    added_at: datetime


class _CreditRecord(msgspec.Struct):
    drafts: int
    added_at: datetime


async def add_credits(
    rt: Runtime, principal: Principal, company_id: str, data: CreditsIn
) -> CreditsResult:
    """Add bought drafts once per reference (platform admin)."""
    require_admin(principal)
    await require_company(rt, company_id)
    record = msgspec.json.encode(_CreditRecord(drafts=data.drafts, added_at=months.clock()))
    done = await rt.usage.add_credits(company_id, data.reference, data.drafts, record)
    first = msgspec.json.decode(done.record, type=_CreditRecord)
    log.info(
        "credits_added" if done.added else "credits_seen_before",
        company_id=company_id,
        reference=data.reference,
        drafts=first.drafts,
        credits_left=done.credits_left,
    )
    return CreditsResult(
        company_id=company_id,
        reference=data.reference,
        drafts=first.drafts,
        added=done.added,
        credits_left=done.credits_left,
        added_at=first.added_at,
    )


# --- the month's report ----------------------------------------------------------------------


class DraftsByOrigin(msgspec.Struct):
    request: int = 0
    rule: int = 0


class ModelUsage(msgspec.Struct):
    model: str
    prompt_tokens: int
    cached_prompt_tokens: Annotated[
        int, Meta(description="Of prompt_tokens, read from the server's cache (when it says)")
    ]
    completion_tokens: int
    cost: Annotated[
        float | None,
        Meta(description="US dollars, from REPLY_ASSIST_MODEL_PRICES; null: no price for it"),
    ] = None


class UsageReport(msgspec.Struct):
    company_id: str
    month: Annotated[str, Meta(description="YYYY-MM, UTC")]
    renews_at: Annotated[datetime, Meta(description="When the month's allowance renews")]
    allowance: Annotated[
        int | None, Meta(description="The company's monthly_draft_allowance; null: unlimited")
    ]
    used_from_allowance: int
    allowance_left: Annotated[
        int | None,
        Meta(description="null: unlimited; 0 for a past month (unused drafts are dropped)"),
    ]
    credits_used: Annotated[int, Meta(description="Bought drafts used this month")]
    credits_left: Annotated[int, Meta(description="Bought drafts left now (they never expire)")]
    drafts_left: Annotated[
        int | None, Meta(description="allowance_left + credits_left; null: unlimited")
    ]
    usage_alert_at: int | None
    drafts: Annotated[int, Meta(description="Drafts generated this month")]
    drafts_by_origin: DraftsByOrigin
    models: list[ModelUsage]
    cost: Annotated[
        float | None,
        Meta(
            description="US dollars for the month's tokens of the priced models; null when "
            "REPLY_ASSIST_MODEL_PRICES is not set"
        ),
    ] = None


async def company_usage(
    rt: Runtime, principal: Principal, company_id: str, month: str | None
) -> UsageReport:
    """One month of a company's drafts (platform admin, analyst)."""
    authorize(principal, company_id, ANALYST)
    wanted = parse_month(month)
    company = await require_company(rt, company_id)
    stored = await rt.usage.month(company_id, wanted)
    allowance_left, drafts_left = _left(stored, wanted, current_month())
    prices = rt.settings.model_prices
    models = []
    for model, (prompt, completion, cached) in sorted(stored.tokens.items()):
        price = prices.get(model)
        cost = None
        if price is not None:
            cost = round(
                (
                    (prompt - cached) * price.input
                    + cached * price.cached_input
                    + completion * price.output
                )
                / 1_000_000,
                6,
            )
        models.append(ModelUsage(model, prompt, cached, completion, cost))
    total = None
    if prices:
        total = round(sum(m.cost for m in models if m.cost is not None), 6)
    origins = DraftsByOrigin(
        **{
            origin: count
            for origin, count in stored.by_origin.items()
            if origin in ("request", "rule")
        }
    )
    return UsageReport(
        company_id=company_id,
        month=wanted,
        renews_at=renews_at(wanted),
        allowance=stored.allowance,
        used_from_allowance=stored.from_allowance,
        allowance_left=allowance_left,
        credits_used=stored.from_credits,
        credits_left=stored.credits_left,
        drafts_left=drafts_left,
        usage_alert_at=company.usage_alert_at,
        drafts=sum(stored.by_origin.values()),
        drafts_by_origin=origins,
        models=models,
        cost=total,
    )

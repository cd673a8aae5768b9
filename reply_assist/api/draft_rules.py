"""Draft rules: which stored reviews get a draft in the background, and queuing stored ones."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId, rfc3339
from reply_assist.models import Company, DraftRules, DraftRulesIn
from reply_assist.runtime import Runtime
from reply_assist.services import draft_rules
from reply_assist.services.draft_rules import RUN_MAX_REVIEWS

__all__ = ["DraftRulesController"]

AwareDatetime = Annotated[datetime, Meta(tz=True)]


class DraftRulesOut(msgspec.Struct):
    enabled: bool
    stars: list[int]
    languages: Annotated[
        list[str],
        Meta(description="The review languages drafted (the company's, when none were set)."),
    ]
    languages_set: Annotated[
        bool,
        Meta(
            description="false: `languages` follows the company's languages as they change; "
            "true: the rules name them."
        ),
    ]
    max_age_hours: int
    updated_at: str | None = None


class RunIn(msgspec.Struct, forbid_unknown_fields=False):
    since: Annotated[
        AwareDatetime,
        Meta(description="Queue stored reviews created at or after this time (RFC 3339)."),
    ]
    until: Annotated[
        AwareDatetime | None,
        Meta(description="…and before this time; null: up to now. A previous `next_until`."),
    ] = None


class RunOut(msgspec.Struct):
    queued: Annotated[int, Meta(description="Jobs queued by this call.")]
    examined: Annotated[int, Meta(description=f"Reviews looked at (at most {RUN_MAX_REVIEWS}).")]
    next_until: Annotated[
        str | None,
        Meta(
            description="More reviews from `since` remain: call again with this as `until`. "
            "null: every review in the range was looked at."
        ),
    ]


def _out(company: Company, rules: DraftRules) -> DraftRulesOut:
    return DraftRulesOut(
        enabled=rules.enabled,
        stars=rules.stars,
        languages=draft_rules.effective_languages(company, rules),
        languages_set=rules.languages is not None,
        max_age_hours=rules.max_age_hours,
        updated_at=rfc3339(rules.updated_at) if rules.updated_at else None,
    )


class DraftRulesController(Controller):
    path = "/companies/{company_id:str}/draft-rules"
    tags = ["draft rules"]

    @get(summary="The company's draft rules (off until set)")
    async def get_rules(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> DraftRulesOut:
        return _out(*await draft_rules.read_rules(runtime, principal_of(request), company_id))

    @put(
        summary="Set the company's draft rules",
        description="Reviews stored or updated from now on that match the rules, and that a "
        "draft can be generated for, get one draft in the background (`origin: rule`), made "
        "like `POST …/drafts` and counted among the review's 10. A review whose `created_at` is "
        "more than `max_age_hours` old when it is stored, that has a draft or a reply, or that "
        "was drafted by the rules before, is not drafted. `languages` must be the company's "
        "own (left out: all of them).",
        status_code=200,
    )
    async def put_rules(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[DraftRulesIn],
    ) -> DraftRulesOut:
        rules = await draft_rules.set_rules(runtime, principal_of(request), company_id, data)
        return _out(*rules)

    @post(
        "/run",
        summary="Queue drafts for stored reviews that match the rules now",
        description="Looks at the stored reviews that need a reply, created in "
        f"[`since`, `until`), newest first, at most {RUN_MAX_REVIEWS} a call, and queues a "
        "background draft for each that matches the rules and can be drafted (not those "
        "queued or drafted by the rules before, nor those with a draft or a reply). "
        "`max_age_hours` does not apply: `since` says how far back. Rules that are off queue "
        "nothing.",
        status_code=200,
    )
    async def run_rules(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[RunIn],
    ) -> RunOut:
        result = await draft_rules.run_rules(
            runtime, principal_of(request), company_id, data.since, data.until
        )
        return RunOut(
            queued=result.queued,
            examined=result.examined,
            next_until=rfc3339(result.next_until) if result.next_until else None,
        )

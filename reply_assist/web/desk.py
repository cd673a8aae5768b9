"""The reply desk: one review, its drafts, feedback, edits and publishing, in the browser.

Every action calls what the API's controllers call (``begin_generation``, ``publish_reply``, the
draft repository's ``edit`` and ``vote``), after the same ``authorize`` with the same role sets:
the pages show or hide a control by role, and the server refuses anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import QueryParameter
from litestar.response import Redirect, ServerSentEvent, Template

from reply_assist.api.drafts import draft_events
from reply_assist.auth import AGENT, ANY_ROLE, WRITERS, authorize
from reply_assist.errors import InvalidRequest, NotFound
from reply_assist.http.ids import DraftId, ReviewId
from reply_assist.models import GENERATION_LIMIT, Vote
from reply_assist.services.eligibility import evaluate
from reply_assist.services.generation import GenerateCall, begin_generation
from reply_assist.services.lookups import require_review_and_company
from reply_assist.services.publishing import publish_reply
from reply_assist.services.stats import REASONS
from reply_assist.store.drafts import DraftRecord
from reply_assist.web.pages import render
from reply_assist.web.security import CSRF_FIELD, check_csrf
from reply_assist.web.viewer import Viewer, current_viewer, page_translator, runtime_of

__all__ = ["DeskController"]

_MAX_TEXT = 10_000
_MAX_COMMENT = 2_000
_MAX_GUIDANCE = 500


def _review_url(review_id: str, draft_id: str | None = None, note: str | None = None) -> str:
    query = [f"draft={draft_id}"] if draft_id else []
    if note:
        query.append(f"note={note}")
    return f"/desk/reviews/{review_id}" + ("?" + "&".join(query) if query else "")


def _text(form: FormMultiDict, field: str, limit: int, *, required: bool = True) -> str:
    value = str(form.get(field, ""))
    if required and not value.strip():
        raise InvalidRequest(f"'{field}' must not be empty.")
    if len(value) > limit:
        raise InvalidRequest(f"'{field}' may have at most {limit} characters.")
    return value


async def _acting(request: Request[Any, Any, Any]) -> tuple[Viewer, FormMultiDict]:
    """The viewer of a state-changing request, with its form, after the CSRF checks."""
    viewer = await current_viewer(request)
    form = await request.form()
    check_csrf(request, viewer.session.csrf, form.get(CSRF_FIELD))
    return viewer, form


async def _require_draft(
    request: Request[Any, Any, Any], company_id: str, review_id: str, draft_id: str
) -> DraftRecord:
    draft = await runtime_of(request).drafts.get(company_id, review_id, draft_id)
    if draft is None:
        raise NotFound("No such draft for this review.", code="draft_not_found")
    return draft


class DeskController(Controller):
    path = "/desk/reviews/{review_id:str}"
    include_in_schema = False

    @get()
    async def review_page(
        self,
        request: Request[Any, Any, Any],
        review_id: ReviewId,
        draft: Annotated[str | None, QueryParameter(name="draft")] = None,
        note: Annotated[str | None, QueryParameter(name="note")] = None,
    ) -> Template:
        viewer = await current_viewer(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, ANY_ROLE)
        rt = runtime_of(request)
        company, record, in_flight = await require_review_and_company(rt, company_id, review_id)
        eligibility = evaluate(company, record, in_flight)
        drafts = await rt.drafts.list(company_id, review_id)
        selected = next((d for d in drafts if d.data.id == draft), drafts[0] if drafts else None)
        vote = None
        if selected is not None:
            vote = await rt.drafts.agent_vote(
                company_id, review_id, selected.data.id, viewer.session.agent_id
            )
        versions = await rt.replies.versions(company_id, review_id)
        t = page_translator(request)
        note = note if note and t.has(f"note.{note}") else None  # only the notes we wrote
        reasons = [
            t(f"reason.{code}") if t.has(f"reason.{code}") else eligibility.details[code]
            for code in eligibility.reasons
        ]
        return render(
            request,
            viewer,
            "review.html",
            company=company,
            review=record.review,
            language=record.language,
            eligibility=eligibility,
            refusals=reasons,
            limit=GENERATION_LIMIT,
            drafts=drafts,
            selected=selected,
            vote=vote,
            versions=list(reversed(versions)),
            feedback_reasons=REASONS,
            note=note,
            messages=t.group("error.", "draft.writing", "draft.done", "draft.failed"),
        )

    @post("/drafts", status_code=200)
    async def generate(
        self, request: Request[Any, Any, Any], review_id: ReviewId
    ) -> ServerSentEvent | Response[Any]:
        """With ``Accept: text/event-stream`` (the page's script), the API's own events;
        without a script, a plain form post that comes back to the page with the new draft."""
        viewer, form = await _acting(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, WRITERS)
        guidance = _text(form, "guidance", _MAX_GUIDANCE, required=False).strip() or None
        rt = runtime_of(request)
        started = await begin_generation(rt, GenerateCall(company_id, review_id, guidance, None))
        if isinstance(started, DraftRecord):  # pragma: no cover - no Idempotency-Key is sent
            return Redirect(_review_url(review_id, started.data.id), status_code=303)
        if "text/event-stream" in request.headers.get("accept", ""):
            items = started.stream()
            first = await anext(items)  # the model accepted the call: refusals came before
            return ServerSentEvent(draft_events(first, items), status_code=200)
        record = await started.complete()
        return Redirect(_review_url(review_id, record.data.id), status_code=303)

    @post("/drafts/{draft_id:str}/feedback", status_code=303)
    async def feedback(
        self, request: Request[Any, Any, Any], review_id: ReviewId, draft_id: DraftId
    ) -> Redirect:
        viewer, form = await _acting(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, WRITERS)
        choice = str(form.get("vote", ""))
        if choice not in ("up", "down"):
            raise InvalidRequest("Choose thumbs up or thumbs down.", code="vote_missing")
        reason = str(form.get("reason", "")) or None
        if reason is not None and reason not in REASONS:
            raise InvalidRequest(f"'reason' must be one of {', '.join(REASONS)}.")
        comment = _text(form, "comment", _MAX_COMMENT, required=False).strip() or None
        draft = await _require_draft(request, company_id, review_id, draft_id)
        vote = Vote(
            vote="up" if choice == "up" else "down",
            agent_id=viewer.session.agent_id,
            created_at=datetime.now(UTC),
            reason=reason,
            comment=comment,
        )
        await runtime_of(request).drafts.vote(company_id, draft.data, vote)
        return Redirect(_review_url(review_id, draft_id, "feedback_sent"), status_code=303)

    @post("/drafts/{draft_id:str}/edit", status_code=303)
    async def save_edit(
        self, request: Request[Any, Any, Any], review_id: ReviewId, draft_id: DraftId
    ) -> Redirect:
        viewer, form = await _acting(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, AGENT)
        await self._save_edit(request, viewer, review_id, draft_id, _text(form, "text", _MAX_TEXT))
        return Redirect(_review_url(review_id, draft_id, "edit_saved"), status_code=303)

    async def _save_edit(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        review_id: str,
        draft_id: str,
        text: str,
    ) -> None:
        rt = runtime_of(request)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        if not await rt.drafts.edit(
            viewer.company_id, review_id, draft_id, text, viewer.session.agent_id, now
        ):
            raise NotFound("No such draft for this review.", code="draft_not_found")

    @post("/publish", status_code=200)
    async def confirm_page(self, request: Request[Any, Any, Any], review_id: ReviewId) -> Template:
        """Show exactly the text that will be published, and ask once more. An edit of a
        draft's text is saved as the draft's edit first (as the agent's Save would)."""
        viewer, form = await _acting(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, AGENT)
        text = _text(form, "text", _MAX_TEXT)
        draft_id = str(form.get("draft_id", "")) or None
        updating = form.get("update") == "1"
        if draft_id is not None:
            draft = await _require_draft(request, company_id, review_id, draft_id)
            current = draft.edited_text if draft.edited_text is not None else draft.data.text
            if text != current and not updating:
                await self._save_edit(request, viewer, review_id, draft_id, text)
        rt = runtime_of(request)
        company, record, _ = await require_review_and_company(rt, company_id, review_id)
        versions = await rt.replies.versions(company_id, review_id)
        return render(
            request,
            viewer,
            "confirm.html",
            company=company,
            review=record.review,
            language=record.language,
            text=text,
            draft_id=draft_id,
            next_version=len(versions) + 1,
        )

    @post("/publish/confirm", status_code=303)
    async def publish(self, request: Request[Any, Any, Any], review_id: ReviewId) -> Redirect:
        viewer, form = await _acting(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, AGENT)
        published = await publish_reply(
            runtime_of(request),
            company_id,
            review_id,
            text=_text(form, "text", _MAX_TEXT),
            agent_id=viewer.session.agent_id,
            draft_id=str(form.get("draft_id", "")) or None,
            now=datetime.now(UTC),
        )
        return Redirect(
            _review_url(review_id, published.version.draft_id, "published") + "#published-reply",
            status_code=303,
        )

    @get("/reply/edit")
    async def edit_reply_page(
        self, request: Request[Any, Any, Any], review_id: ReviewId
    ) -> Template | Redirect:
        viewer = await current_viewer(request)
        company_id = viewer.company_id
        authorize(viewer.principal, company_id, AGENT)
        rt = runtime_of(request)
        company, record, _ = await require_review_and_company(rt, company_id, review_id)
        versions = await rt.replies.versions(company_id, review_id)
        if not versions:
            return Redirect(_review_url(review_id), status_code=303)
        return render(
            request,
            viewer,
            "reply_edit.html",
            company=company,
            review=record.review,
            language=record.language,
            current=versions[-1],
        )

"""The reply desk: one review, its drafts, feedback, edits and publishing, in the browser.

Every action calls the service function the API's controller calls (``services.drafts``,
``services.publishing``), which checks the text, the role and the state; the page then shows
exactly what the service did. A refusal comes back on the same page, next to the field, with
what was typed kept; a success says only what happened ("No change: …" when nothing did).
Nothing is saved before the agent presses Save edit or Confirm publish.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from reply_assist.errors import ReplyAssistError
from reply_assist.http.disconnect import unless_client_leaves
from reply_assist.http.drafts import draft_event_stream
from reply_assist.http.ids import DraftId, ReviewId
from reply_assist.models import GENERATION_LIMIT
from reply_assist.services.drafts import (
    DOWN_REASONS,
    UP_REASONS,
    DraftRecord,
    current_text,
    edit_draft,
    start_generation,
    vote_on_draft,
)
from reply_assist.services.publishing import preview_publish, publish_reply
from reply_assist.services.review_view import ReviewView, review_view
from reply_assist.web.pages import error_message, render
from reply_assist.web.security import CSRF_FIELD, check_csrf
from reply_assist.web.usage_banner import usage_banner
from reply_assist.web.viewer import Viewer, current_viewer, page_translator, runtime_of

__all__ = ["DeskController"]

# The notes a redirect may ask the page to show (anything else in ?note= is ignored).
_NOTES = frozenset(
    {
        "generated",
        "feedback_sent",
        "edit_saved",
        "edit_unchanged",
        "published",
        "updated",
        "unchanged",
    }
)


_DRAFT_NOTES = frozenset({"generated", "feedback_sent", "edit_saved", "edit_unchanged"})


def _review_url(review_id: str, draft_id: str | None = None, note: str | None = None) -> str:
    query = [f"draft={draft_id}"] if draft_id else []
    if note:
        query.append(f"note={note}")
    return f"/desk/reviews/{review_id}" + ("?" + "&".join(query) if query else "")


async def _acting(request: Request[Any, Any, Any]) -> tuple[Viewer, FormMultiDict]:
    """The viewer of a state-changing request, with its form, after the CSRF checks."""
    viewer = await current_viewer(request)
    form = await request.form()
    check_csrf(request, viewer.session.csrf, form.get(CSRF_FIELD))
    return viewer, form


def _field(form: FormMultiDict, name: str) -> str:
    return str(form.get(name, ""))


class _Typed:
    """What the agent typed into the reply form, to show again as it was."""

    def __init__(self, form: FormMultiDict) -> None:
        self.text = _field(form, "text")
        self.draft_id = _field(form, "draft_id") or None
        self.updating = form.get("update") == "1"


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
        return await _review_page(
            request, viewer, review_id, draft_id=draft, note=note if note in _NOTES else None
        )

    @post("/drafts", status_code=200)
    async def generate(self, request: Request[Any, Any, Any], review_id: ReviewId) -> Response[Any]:
        """With ``Accept: text/event-stream`` (the page's script), the API's own events;
        without a script, a plain form post that comes back to the page with the new draft."""
        viewer, form = await _acting(request)
        started = await start_generation(
            runtime_of(request),
            viewer.principal,
            viewer.company_id,
            review_id,
            guidance=_field(form, "guidance"),
        )
        if isinstance(started, DraftRecord):  # pragma: no cover - no Idempotency-Key is sent
            return Redirect(_review_url(review_id, started.data.id), status_code=303)
        if "text/event-stream" in request.headers.get("accept", ""):
            items = started.stream()
            first = await anext(items)  # the model accepted the call: refusals came before
            return draft_event_stream(first, items)
        # As on the API, the call ends with its client: nothing stored or counted for nobody.
        record = await unless_client_leaves(request.receive, started.complete)
        return Redirect(_review_url(review_id, record.data.id, "generated"), status_code=303)

    @post("/drafts/{draft_id:str}/feedback", status_code=303)
    async def feedback(
        self, request: Request[Any, Any, Any], review_id: ReviewId, draft_id: DraftId
    ) -> Response[Any]:
        viewer, form = await _acting(request)
        try:
            await vote_on_draft(
                runtime_of(request),
                viewer.principal,
                viewer.company_id,
                review_id,
                draft_id,
                vote=_field(form, "vote"),
                reason=_field(form, "reason") or None,
                comment=_field(form, "comment"),
                agent_id=viewer.session.agent_id,
            )
        except ReplyAssistError as exc:
            if exc.status >= 500 or exc.status in (401, 403, 404):
                raise
            return await _review_page(
                request,
                viewer,
                review_id,
                draft_id=draft_id,
                feedback_error=exc,
                typed_comment=_field(form, "comment"),
            )
        return Redirect(_review_url(review_id, draft_id, "feedback_sent"), status_code=303)

    @post("/drafts/{draft_id:str}/edit", status_code=303)
    async def save_edit(
        self, request: Request[Any, Any, Any], review_id: ReviewId, draft_id: DraftId
    ) -> Response[Any]:
        viewer, form = await _acting(request)
        typed = _Typed(form)
        try:
            outcome = await edit_draft(
                runtime_of(request),
                viewer.principal,
                viewer.company_id,
                review_id,
                draft_id,
                text=typed.text,
                agent_id=viewer.session.agent_id,
            )
        except ReplyAssistError as exc:
            return await _refused(request, viewer, review_id, typed, exc, draft_id=draft_id)
        note = "edit_saved" if outcome.changed else "edit_unchanged"
        return Redirect(_review_url(review_id, draft_id, note), status_code=303)

    @post("/publish", status_code=200)
    async def confirm_page(
        self, request: Request[Any, Any, Any], review_id: ReviewId
    ) -> Response[Any]:
        """Show exactly the text that will be published, and ask once more. Nothing is saved
        here: Confirm publishes, Cancel goes back with the text as it was typed."""
        viewer, form = await _acting(request)
        typed = _Typed(form)
        rt = runtime_of(request)
        try:
            preview = await preview_publish(
                rt,
                viewer.principal,
                viewer.company_id,
                review_id,
                text=typed.text,
                draft_id=typed.draft_id,
            )
        except ReplyAssistError as exc:
            return await _refused(request, viewer, review_id, typed, exc)
        if preview.unchanged:
            return await _back(request, viewer, review_id, typed, note="unchanged")
        view = await review_view(
            rt,
            viewer.principal,
            viewer.company_id,
            review_id,
            agent_id=viewer.session.agent_id,
            draft_id=typed.draft_id,
        )
        return render(
            request,
            viewer,
            "confirm.html",
            company=view.company,
            review=view.record.review,
            language=view.record.language,
            text=preview.text,
            draft_id=typed.draft_id,
            updating=typed.updating,
            current=preview.current,
            next_version=preview.next_version,
        )

    @post("/publish/cancel", status_code=200)
    async def cancel_publish(
        self, request: Request[Any, Any, Any], review_id: ReviewId
    ) -> Response[Any]:
        """Back from the confirmation to where the text was written, the text as it was."""
        viewer, form = await _acting(request)
        return await _back(request, viewer, review_id, _Typed(form))

    @post("/publish/confirm", status_code=303)
    async def publish(self, request: Request[Any, Any, Any], review_id: ReviewId) -> Response[Any]:
        viewer, form = await _acting(request)
        typed = _Typed(form)
        try:
            published = await publish_reply(
                runtime_of(request),
                viewer.principal,
                viewer.company_id,
                review_id,
                text=typed.text,
                agent_id=viewer.session.agent_id,
                draft_id=typed.draft_id,
                now=datetime.now(UTC),
            )
        except ReplyAssistError as exc:
            return await _refused(request, viewer, review_id, typed, exc)
        if not published.changed:
            note = "unchanged"
        elif published.version.version == 1:
            note = "published"
        else:
            note = "updated"
        return Redirect(
            _review_url(review_id, note=note) + "#published-reply",
            status_code=303,
        )

    @get("/reply/edit")
    async def edit_reply_page(
        self, request: Request[Any, Any, Any], review_id: ReviewId
    ) -> Response[Any]:
        viewer = await current_viewer(request)
        return await _edit_reply_page(request, viewer, review_id)


async def _review_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    review_id: str,
    *,
    draft_id: str | None = None,
    note: str | None = None,
    typed_text: str | None = None,
    reply_error: ReplyAssistError | None = None,
    feedback_error: ReplyAssistError | None = None,
    typed_comment: str | None = None,
) -> Template:
    view = await review_view(
        runtime_of(request),
        viewer.principal,
        viewer.company_id,
        review_id,
        agent_id=viewer.session.agent_id,
        draft_id=draft_id,
    )
    t = page_translator(request)
    eligibility = view.eligibility
    refusals = [
        t(f"reason.{code}") if t.has(f"reason.{code}") else eligibility.details[code]
        for code in eligibility.reasons
    ]
    selected = view.selected
    if typed_text is None:
        typed_text = current_text(selected) if selected is not None else ""
    error = reply_error or feedback_error
    status = error.status if error is not None else 200
    vote = view.vote
    return render(
        request,
        viewer,
        "review.html",
        status=status,
        view=view,
        company=view.company,
        review=view.record.review,
        language=view.record.language,
        eligibility=eligibility,
        refusals=refusals,
        limit=GENERATION_LIMIT,
        drafts=view.drafts,
        selected=selected,
        vote=vote,
        current=view.current,
        versions=list(reversed(view.versions)),
        reasons_by_vote={"up": UP_REASONS, "down": DOWN_REASONS},
        note=note,
        # A replied review folds its draft tools away, unless the agent is working in them.
        open_drafts=bool(
            reply_error or feedback_error or note in _DRAFT_NOTES or (draft_id and not note)
        ),
        reply_text=typed_text,
        draft_text=current_text(selected) if selected is not None else "",
        reply_error=error_message(t, reply_error) if reply_error else None,
        feedback_error=error_message(t, feedback_error) if feedback_error else None,
        comment_text=typed_comment
        if typed_comment is not None
        else (vote.comment if vote and vote.comment else ""),
        messages=t.group("error.", "draft.writing", "draft.done", "draft.failed"),
        usage_banner=usage_banner(t, viewer, view.balance),
    )


async def _edit_reply_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    review_id: str,
    *,
    typed_text: str | None = None,
    error: ReplyAssistError | None = None,
    note: str | None = None,
) -> Response[Any]:
    view: ReviewView = await review_view(
        runtime_of(request),
        viewer.principal,
        viewer.company_id,
        review_id,
        agent_id=viewer.session.agent_id,
    )
    current = view.current
    if current is None or not viewer.can_publish:
        return Redirect(_review_url(review_id), status_code=303)
    t = page_translator(request)
    return render(
        request,
        viewer,
        "reply_edit.html",
        status=error.status if error is not None else 200,
        company=view.company,
        review=view.record.review,
        language=view.record.language,
        current=current,
        reply_text=current.text if typed_text is None else typed_text,
        reply_error=error_message(t, error) if error else None,
        note=note,
    )


async def _back(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    review_id: str,
    typed: _Typed,
    *,
    note: str | None = None,
) -> Response[Any]:
    """The page the text was written on, with the text as typed."""
    if typed.updating:
        return await _edit_reply_page(request, viewer, review_id, typed_text=typed.text, note=note)
    return await _review_page(
        request, viewer, review_id, draft_id=typed.draft_id, typed_text=typed.text, note=note
    )


async def _refused(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    review_id: str,
    typed: _Typed,
    exc: ReplyAssistError,
    *,
    draft_id: str | None = None,
) -> Response[Any]:
    """A refusal of what was typed, shown next to the Reply box with the text kept. A refusal
    that is not about the text (the role, the session, a failed store) is the error page's."""
    if exc.status >= 500 or exc.status in (401, 403) or exc.code in ("review_not_found",):
        raise exc
    if typed.updating:
        return await _edit_reply_page(request, viewer, review_id, typed_text=typed.text, error=exc)
    return await _review_page(
        request,
        viewer,
        review_id,
        draft_id=draft_id or typed.draft_id,
        typed_text=typed.text,
        reply_error=exc,
    )

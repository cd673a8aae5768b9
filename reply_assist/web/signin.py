"""Signing in and out of the reply desk, choosing a company (admin) and a language."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from reply_assist.services.auth_throttle import note_failed_attempt, refuse_if_blocked
from reply_assist.services.companies import list_companies
from reply_assist.services.desk_sessions import (
    SESSION_TTL_S,
    DeskSession,
    choose_company,
    sign_in,
    sign_out,
)
from reply_assist.web.i18n import LANGUAGES
from reply_assist.web.pages import render, safe_next
from reply_assist.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    check_csrf,
    check_same_origin,
    session_cookie,
)
from reply_assist.web.viewer import (
    LANGUAGE_COOKIE,
    SignInRequired,
    admin_token_of,
    current_viewer,
    runtime_of,
)

__all__ = ["SignInController"]


def _home(session: DeskSession, role: str) -> str:
    if session.kind == "admin" and session.company_id is None:
        return "/desk/company"
    return "/insights" if role == "analyst" else "/desk"


class SignInController(Controller):
    path = "/desk"
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_page(
        self,
        request: Request[Any, Any, Any],
        signed_out: Annotated[bool, QueryParameter(name="signed_out")] = False,
    ) -> Template | Redirect:
        try:
            viewer = await current_viewer(request)
        except SignInRequired:
            return render(request, None, "sign_in.html", signed_out=signed_out, failed=False)
        return Redirect(_home(viewer.session, viewer.role), status_code=303)

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        check_same_origin(request)
        form = await request.form()
        host = request.client.host if request.client else None
        refuse_if_blocked(runtime_of(request), host)  # 429 for a throttled address
        key = str(form.get("key", ""))
        signed_in = await sign_in(
            runtime_of(request), admin_token_of(request), key, str(form.get("name", ""))
        )
        if signed_in is None:
            if key.strip():  # a key was tried: counted, and 429 past the limit
                await note_failed_attempt(runtime_of(request), host, request.url.path)
            return render(request, None, "sign_in.html", status=401, signed_out=False, failed=True)
        response: Response[Any] = Redirect(
            _home(signed_in.session, signed_in.role), status_code=303
        )
        response.set_cookie(session_cookie(request, signed_in.session_id, SESSION_TTL_S))
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            viewer = await current_viewer(request)
        except SignInRequired:
            viewer = None
        if viewer is not None:
            form = await request.form()
            check_csrf(request, viewer.session.csrf, str(form.get(CSRF_FIELD, "")))
            await sign_out(runtime_of(request), viewer.session_id)
        response: Response[Any] = Redirect("/desk/sign-in?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/company")
    async def company_page(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        viewer = await current_viewer(request)
        if not viewer.is_admin:
            return Redirect("/desk", status_code=303)
        companies = await list_companies(runtime_of(request), viewer.principal)
        return render(
            request, viewer, "company.html", companies=companies, current=viewer.session.company_id
        )

    @post("/company", status_code=303)
    async def choose_company(self, request: Request[Any, Any, Any]) -> Redirect:
        viewer = await current_viewer(request)
        form = await request.form()
        check_csrf(request, viewer.session.csrf, str(form.get(CSRF_FIELD, "")))
        if not viewer.is_admin:
            return Redirect("/desk", status_code=303)
        await choose_company(
            runtime_of(request),
            viewer.principal,
            viewer.session_id,
            viewer.session,
            str(form.get("company_id", "")),
        )
        return Redirect("/desk", status_code=303)

    @get("/language/{code:str}")
    async def language(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        next_page: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Response[Any]:
        response: Response[Any] = Redirect(safe_next(next_page), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(
                Cookie(
                    key=LANGUAGE_COOKIE,
                    value=code,
                    max_age=365 * 24 * 3600,
                    path="/",
                    samesite="lax",
                    httponly=True,
                )
            )
        return response

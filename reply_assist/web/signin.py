"""Signing in and out of the reply desk, choosing a company (admin) and a language."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from reply_assist.auth import company_of_key, hash_token, key_principal
from reply_assist.errors import InvalidRequest, Unauthorized
from reply_assist.services.auth_throttle import note_failed_attempt, refuse_if_blocked
from reply_assist.web.i18n import LANGUAGES
from reply_assist.web.pages import render, safe_next
from reply_assist.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    check_csrf,
    check_same_origin,
    session_cookie,
)
from reply_assist.web.sessions import SESSION_TTL_S, DeskSession, new_csrf_token
from reply_assist.web.viewer import (
    LANGUAGE_COOKIE,
    SignInRequired,
    current_viewer,
    runtime_of,
    sessions_of,
)

__all__ = ["SignInController"]

_MAX_TOKEN = 200
_MAX_NAME = 128


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
        token = str(form.get("key", "")).strip()
        name = str(form.get("name", "")).strip()
        if len(name) > _MAX_NAME:
            raise InvalidRequest(f"The name may have at most {_MAX_NAME} characters.")
        host = request.client.host if request.client else None
        refuse_if_blocked(runtime_of(request), host)  # 429 for a throttled address
        found = await self._session_for(request, token, name)
        if found is None:
            if token:  # a key was tried: counted, and 429 past the limit
                await note_failed_attempt(runtime_of(request), host, request.url.path)
            return render(request, None, "sign_in.html", status=401, signed_out=False, failed=True)
        session, role = found
        session_id = await sessions_of(request).create(session)
        response: Response[Any] = Redirect(_home(session, role), status_code=303)
        response.set_cookie(session_cookie(request, session_id, SESSION_TTL_S))
        return response

    async def _session_for(
        self, request: Request[Any, Any, Any], token: str, name: str
    ) -> tuple[DeskSession, str] | None:
        """The new session and the viewer's role, or None for a token that is not valid."""
        if not token or len(token) > _MAX_TOKEN:
            return None
        admin_token: str = request.app.state.admin_token
        if hmac.compare_digest(token.encode(), admin_token.encode()):
            admin = DeskSession(
                kind="admin",
                token_hash=hash_token(token),
                agent_id=name or "admin",
                csrf=new_csrf_token(),
            )
            return admin, "admin"
        runtime = runtime_of(request)
        try:
            key_company = company_of_key(token)
        except Unauthorized:
            return None
        principal = await key_principal(runtime, hash_token(token), key_company)
        if principal is None or principal.company_id is None or principal.role is None:
            return None
        # Without a name, the key's label (or its id) stands for whoever uses the key.
        label = next(
            (
                k.label
                for k in await runtime.companies.list_keys(principal.company_id)
                if k.id == principal.key_id
            ),
            None,
        )
        session = DeskSession(
            kind="key",
            token_hash=hash_token(token),
            agent_id=name or label or principal.key_id or "agent",
            csrf=new_csrf_token(),
            company_id=principal.company_id,
            key_names_company=key_company is not None,
        )
        return session, principal.role

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            viewer = await current_viewer(request)
        except SignInRequired:
            viewer = None
        if viewer is not None:
            form = await request.form()
            check_csrf(request, viewer.session.csrf, str(form.get(CSRF_FIELD, "")))
            await sessions_of(request).delete(viewer.session_id)
        response: Response[Any] = Redirect("/desk/sign-in?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/company")
    async def company_page(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        viewer = await current_viewer(request)
        if not viewer.is_admin:
            return Redirect("/desk", status_code=303)
        companies = await runtime_of(request).companies.all_ids()
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
        company_id = str(form.get("company_id", ""))
        if company_id not in await runtime_of(request).companies.all_ids():
            raise InvalidRequest("Choose one of the listed companies.")
        session = DeskSession(
            kind=viewer.session.kind,
            token_hash=viewer.session.token_hash,
            agent_id=viewer.session.agent_id,
            csrf=viewer.session.csrf,
            company_id=company_id,
        )
        await sessions_of(request).update(viewer.session_id, session)
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

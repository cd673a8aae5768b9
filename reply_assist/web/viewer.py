"""Who is looking at a page: the session cookie resolved to the same Principal the API uses.

What a viewer may do is decided by ``reply_assist.auth.authorize`` with the API's role sets,
both to show a control and, again, when the request that the control sends arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from reply_assist.models import Role
from reply_assist.runtime import Runtime
from reply_assist.services.access import AGENT, ANALYST, WRITERS, Principal
from reply_assist.services.desk_sessions import DeskSession, session_principal
from reply_assist.web.i18n import Translator, choose_language, translator
from reply_assist.web.security import SESSION_COOKIE

__all__ = [
    "LANGUAGE_COOKIE",
    "CompanyRequired",
    "SignInRequired",
    "Viewer",
    "admin_token_of",
    "current_viewer",
    "page_translator",
    "runtime_of",
]

LANGUAGE_COOKIE = "ra_lang"


class SignInRequired(Exception):
    """No session, an expired one, or one whose key has been revoked: back to the sign-in page."""


class CompanyRequired(Exception):
    """The platform admin has not chosen a company yet."""


@dataclass(frozen=True, slots=True)
class Viewer:
    session_id: str
    session: DeskSession
    principal: Principal

    @property
    def company_id(self) -> str:
        if self.session.company_id is None:
            raise CompanyRequired
        return self.session.company_id

    @property
    def is_admin(self) -> bool:
        return self.principal.kind == "admin"

    @property
    def role(self) -> str:
        return "admin" if self.principal.role is None else self.principal.role

    def _holds(self, roles: frozenset[Role]) -> bool:
        return self.is_admin or self.principal.role in roles

    @property
    def can_generate(self) -> bool:  # generate and give feedback
        return self._holds(WRITERS)

    @property
    def can_publish(self) -> bool:  # edit drafts and publish
        return self._holds(AGENT)

    @property
    def can_see_insights(self) -> bool:
        return self._holds(ANALYST)


def runtime_of(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def admin_token_of(request: Request[Any, Any, Any]) -> str:
    token: str = request.app.state.admin_token
    return token


def page_translator(request: Request[Any, Any, Any]) -> Translator:
    return translator(
        choose_language(
            request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language", "")
        )
    )


async def current_viewer(request: Request[Any, Any, Any]) -> Viewer:
    """The signed-in viewer, or SignInRequired. A key's session is checked against the key on
    every request (a revoked key ends its sessions at once), an admin's against the token, and
    a session idle too long or older than 8 hours has ended (``services.desk_sessions``)."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    found = await session_principal(runtime_of(request), admin_token_of(request), session_id)
    if found is None:
        raise SignInRequired
    session, principal = found
    return Viewer(session_id=session_id, session=session, principal=principal)

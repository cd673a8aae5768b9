"""Rendering a page, and the errors the pages turn into pages (or redirects)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError

from reply_assist.errors import ReplyAssistError, StoreUnavailable, Unauthorized
from reply_assist.http.problems import problem_response
from reply_assist.web.i18n import LANGUAGES, Translator
from reply_assist.web.security import CSRF_HEADER
from reply_assist.web.viewer import (
    CompanyRequired,
    SignInRequired,
    Viewer,
    page_translator,
)

__all__ = ["error_message", "page_exception_handlers", "render", "safe_next"]


def safe_next(target: str | None, default: str = "/desk") -> str:
    """A local path to go back to; anything that could leave the site becomes ``default``."""
    # Browsers drop tabs and newlines inside URLs ("/\t/evil.example" is "//evil.example") and
    # read "\\" as "/": any of them, or a second leading slash, could leave the site.
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target)
    ):
        return default
    return target


def render(
    request: Request[Any, Any, Any],
    viewer: Viewer | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> Template:
    t = page_translator(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Template(
        template_name=template,
        status_code=status,
        context={
            "t": t,
            "lang": t.language,
            "languages": LANGUAGES,
            "viewer": viewer,
            "csrf": viewer.session.csrf if viewer else "",
            "here": quote(here, safe="/"),
            **context,
        },
    )


def error_message(t: Translator, exc: ReplyAssistError) -> str:
    """The error in the page's language when we have words for its code, else its detail."""
    key = f"error.{exc.code}"
    return t(key) if t.has(key) else exc.detail


def _wants_data(request: Request[Any, Any, Any]) -> bool:
    """Requests made by the pages' scripts get problem+json, which the script puts in words."""
    return CSRF_HEADER in request.headers or "text/event-stream" in request.headers.get(
        "accept", ""
    )


def _on_error(request: Request[Any, Any, Any], exc: ReplyAssistError) -> Response[Any]:
    if _wants_data(request):
        return problem_response(exc)
    t = page_translator(request)
    page = render(
        request,
        None,
        "error.html",
        status=exc.status,
        message=error_message(t, exc),
    )
    if "Retry-After" in exc.headers:  # 429 and 503 say when to try again, as the API does
        page.headers["Retry-After"] = exc.headers["Retry-After"]
    return page


def _on_store_error(request: Request[Any, Any, Any], _: RedisError) -> Response[Any]:
    return _on_error(request, StoreUnavailable("The store is unavailable; try again shortly."))


def _on_sign_in(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    if _wants_data(request):
        return problem_response(Unauthorized("Your session has ended; sign in again."))
    return Redirect("/desk/sign-in", status_code=303)


def _on_company(_: Request[Any, Any, Any], __: CompanyRequired) -> Response[Any]:
    return Redirect("/desk/company", status_code=303)


page_exception_handlers: ExceptionHandlersMap = {
    ReplyAssistError: _on_error,
    RedisError: _on_store_error,
    SignInRequired: _on_sign_in,
    CompanyRequired: _on_company,
}

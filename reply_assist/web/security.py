"""What keeps the pages safe in a browser: response headers, the session cookie, CSRF checks.

- Every page and asset carries a strict Content-Security-Policy (only this origin's scripts,
  styles and connections; no inline script or style, no frames, no plugins), ``nosniff`` and a
  same-origin Referrer-Policy; pages are ``no-store`` (they show a company's private data).
- The session cookie is ``HttpOnly`` (no script reads it) and ``SameSite=Strict`` (another
  site's page cannot make the browser send it), ``Secure`` whenever the page came over HTTPS.
- A request that changes anything must also come from this origin (``Origin``, or
  ``Sec-Fetch-Site`` when a browser sends no Origin) and carry the session's CSRF token, as a
  form field or an ``X-CSRF-Token`` header: SameSite alone does not cover every browser.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.types import Message, Scope

from reply_assist.errors import Forbidden

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "add_security_headers",
    "check_csrf",
    "check_same_origin",
    "session_cookie",
]

SESSION_COOKIE = "ra_desk"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
_COMMON = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


_PAGES = ("/desk", "/insights")
_ASSETS = "/assets/"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """The app's ``before_send`` hook: every response under the pages' paths gets the headers,
    error pages, redirects and 404s included (router ``after_request`` hooks miss those)."""
    if message["type"] != "http.response.start":
        return
    path: str = scope["path"]
    page = path.startswith(_PAGES)
    if not (page or path.startswith(_ASSETS)):
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in _COMMON.items():
        headers[name] = value
    if page:  # they show a company's private data
        headers["Cache-Control"] = "no-store"


def session_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_same_origin(request: Request[Any, Any, Any]) -> None:
    """Refuse a state-changing request that another site's page made."""
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            raise Forbidden("This request came from another site.", code="csrf_failed")
        return
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("This request came from another site.", code="csrf_failed")


def check_csrf(request: Request[Any, Any, Any], expected: str, sent: str | None) -> None:
    """Same origin, and the session's token sent back (form field or header)."""
    check_same_origin(request)
    token = sent or request.headers.get(CSRF_HEADER, "")
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden(
            "The form was out of date or came from elsewhere; reload the page and try again.",
            code="csrf_failed",
        )

"""The site's own two addresses: ``/`` opens the reply desk, and ``/favicon.ico`` is its icon
(browsers ask for it on every page; without it each page load logged a 404)."""

from __future__ import annotations

from importlib import resources

from litestar import Controller, Response, get
from litestar.response import Redirect

__all__ = ["SiteController"]


class SiteController(Controller):
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return Redirect("/desk", status_code=303)

    @get("/favicon.ico")
    async def favicon(self) -> Response[bytes]:
        icon = (resources.files("reply_assist") / "static" / "favicon.svg").read_bytes()
        return Response(
            icon,
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

"""The OpenAPI UI under ``/schema``, with every asset served by the service itself.

Litestar's render plugins load their JS and CSS (and a favicon) from public CDNs by default; a
service that must work offline, and that sends nobody's browser to a third party, serves the
vendored Swagger UI files (``reply_assist/static/vendor/swagger-ui``, see its README) instead.

The page carries a strict Content-Security-Policy and ``X-Frame-Options: DENY`` (no other site
may frame it and trick a click; no script but this origin's files runs in it). Litestar's page
starts Swagger UI with an inline script holding the whole schema, which such a policy forbids:
here the page holds no inline script or style, and ``/assets/schema-ui.js`` starts the UI on the
schema's URL.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

__all__ = [
    "SCHEMA_CONTENT_SECURITY_POLICY",
    "SWAGGER_ASSETS_PATH",
    "add_schema_security_headers",
    "schema_assets_router",
    "schema_render_plugins",
]

SWAGGER_ASSETS_PATH = "/static/vendor/swagger-ui"
_STARTER = "/assets/schema-ui.js"
_SCHEMA_PATH = "/schema"

SCHEMA_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Swagger UI's CSS draws its icons as data: SVGs
        "connect-src 'self'",  # the schema, and "Try it out" against this service
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": SCHEMA_CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _SwaggerWithoutInlineScript(SwaggerRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(f"{_SCHEMA_PATH}/openapi.json")
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<title>{title}</title>
{self.favicon}
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link href="{self.css_url}" rel="stylesheet">
<script src="{self.js_url}"></script>
<script src="{self.standalone_preset_js_url}"></script>
<script src="{_STARTER}"></script>
</head>
<body>
<div id="swagger-container" data-spec-url="{spec_url}"></div>
</body>
</html>
""".encode()


def schema_render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` (and ``/schema/swagger``), on the local assets."""
    base = SWAGGER_ASSETS_PATH
    return [
        _SwaggerWithoutInlineScript(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
            path="/swagger",
        )
    ]


async def add_schema_security_headers(message: Message, scope: Scope) -> None:
    """The app's ``before_send`` hook for the schema's pages and Swagger UI's files."""
    if message["type"] != "http.response.start":
        return
    path: str = scope["path"]
    if path == _SCHEMA_PATH or path.startswith((f"{_SCHEMA_PATH}/", SWAGGER_ASSETS_PATH)):
        headers = MutableScopeHeaders.from_message(message)
        for name, value in _HEADERS.items():
            headers[name] = value


def schema_assets_router() -> Router:
    folder = Path(str(resources.files("reply_assist") / "static" / "vendor" / "swagger-ui"))
    return create_static_files_router(
        path=SWAGGER_ASSETS_PATH,
        directories=[folder],
        name="swagger-ui-assets",
        include_in_schema=False,
    )

"""The OpenAPI UI under ``/schema``, with every asset served by the service itself.

Litestar's render plugins load their JS and CSS (and a favicon) from public CDNs by default; a
service that must work offline, and that sends nobody's browser to a third party, serves the
vendored Swagger UI files (``reply_assist/static/vendor/swagger-ui``, see its README) instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litestar import Router
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

__all__ = ["SWAGGER_ASSETS_PATH", "schema_assets_router", "schema_render_plugins"]

SWAGGER_ASSETS_PATH = "/static/vendor/swagger-ui"


def schema_render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` (and ``/schema/swagger``), on the local assets."""
    base = SWAGGER_ASSETS_PATH
    return [
        SwaggerRenderPlugin(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
            path="/swagger",
        )
    ]


def schema_assets_router() -> Router:
    folder = Path(str(resources.files("reply_assist") / "static" / "vendor" / "swagger-ui"))
    return create_static_files_router(
        path=SWAGGER_ASSETS_PATH,
        directories=[folder],
        name="swagger-ui-assets",
        include_in_schema=False,
    )

"""The reply desk (``/desk``) and insights (``/insights``): pages served by the service itself.

Server-rendered (Jinja, autoescaped: review text is untrusted), a little plain JavaScript for the
streamed draft and the charts, every asset served from ``/assets``; see README "Reply desk and
insights".
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from markupsafe import Markup

from reply_assist.services.safety import visible
from reply_assist.web.desk import DeskController
from reply_assist.web.inbox import InboxController
from reply_assist.web.insights import InsightsController
from reply_assist.web.pages import page_exception_handlers
from reply_assist.web.security import add_security_headers
from reply_assist.web.signin import SignInController
from reply_assist.web.site import SiteController

__all__ = ["add_security_headers", "template_config", "web_routers"]


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("reply_assist") / name))


def _as_seen(value: object) -> object:
    """Every value a page shows, without the characters that reorder or hide text (bidi
    overrides, zero-width and tag characters: ``checks/visible.py``), so that a review or a
    draft reads on the page as it does to the checks. Dropping them cannot break escaped
    markup, so ``Markup`` stays ``Markup``."""
    if not isinstance(value, str):
        return value
    seen = visible(value)
    if seen is value:
        return value
    # It was Markup before: dropping characters from it cannot unescape anything.
    return Markup(seen) if isinstance(value, Markup) else seen  # noqa: S704


def _json_as_seen(value: object, **kwargs: Any) -> str:
    """``|tojson`` (data for the pages' scripts) with every string as ``_as_seen`` shows it:
    escaped as ``\\u202e`` in JSON, a control would come back to life in the browser."""

    def seen(item: object) -> object:
        if isinstance(item, str):
            return visible(item)
        if isinstance(item, dict):
            return {seen(key): seen(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [seen(inner) for inner in item]
        return item

    return json.dumps(seen(value), **kwargs)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(_package_dir("web") / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,  # a misspelt variable fails the page's test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_as_seen,  # every {{ value }}, before it is escaped
    )
    environment.policies["json.dumps_function"] = _json_as_seen
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def web_routers() -> list[Router]:
    pages = Router(
        path="/",
        route_handlers=[
            SiteController,
            SignInController,
            InboxController,
            DeskController,
            InsightsController,
        ],
        exception_handlers=page_exception_handlers,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/assets",  # not /static: /static/vendor/swagger-ui would shadow /static/vendor/…
        directories=[_package_dir("static")],
        name="desk-assets",
    )
    return [pages, static]

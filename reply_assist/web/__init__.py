"""The reply desk (``/desk``) and insights (``/insights``): pages served by the service itself.

Server-rendered (Jinja, autoescaped: review text is untrusted), a little plain JavaScript for the
streamed draft and the charts, every asset served from ``/assets``; see README "Reply desk and
insights".
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

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


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(_package_dir("web") / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,  # a misspelt variable fails the page's test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
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

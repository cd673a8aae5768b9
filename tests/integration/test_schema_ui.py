"""The OpenAPI UI under /schema works with no internet: every asset comes from the service."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_schema_ui_loads_nothing_from_another_origin(
    client: httpx.AsyncClient, page: str
) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    references = _REFERENCE.findall(html)
    # The bundle, the preset, the CSS, the icon and the script that starts the UI.
    assert len(references) >= 5, references
    assert "/assets/schema-ui.js" in references
    origin = urlsplit(str(client.base_url))
    for ref in references:
        url = urlsplit(urljoin(f"{client.base_url}{page}", ref))
        assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), ref
        asset = await client.get(url.path)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    # Nor any CDN named anywhere in the page.
    assert not re.search(r"(?:https?:)?//(?!127\.0\.0\.1)[a-z0-9.-]+\.[a-z]{2,}/", html), html


async def test_the_vendored_assets_have_their_types_and_licence(client: httpx.AsyncClient) -> None:
    base = "/static/vendor/swagger-ui"
    for name, media in (
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui-standalone-preset.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
        ("LICENSE", ""),
    ):
        r = await client.get(f"{base}/{name}")
        assert r.status_code == 200, name
        assert media in r.headers["content-type"], (name, r.headers["content-type"])
    assert (await client.get("/schema/openapi.json")).status_code == 200


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger", "/schema/openapi.json"])
async def test_the_schema_pages_forbid_framing_and_inline_script(
    client: httpx.AsyncClient, page: str
) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    policy = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    if page != "/schema/openapi.json":  # nothing in the page that the policy would block
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), r.text
        assert "<style" not in r.text and "style=" not in r.text

"""The browser tests' world: one service, one stub model and one headless Chromium per session.

The service runs in a thread (uvicorn, a real socket) against the real Redis under a key prefix
of its own, with bench/stub_llm.py as its OpenAI-compatible model, streaming a few words at a
time so that a streamed draft is really streamed. Chromium is Debian's (``/usr/bin/chromium``),
driven by Playwright; Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from reply_assist.app import create_app
from reply_assist.settings import Settings
from tests.conftest import ADMIN_TOKEN, REDIS_URL

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("REPLY_ASSIST_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# Every screenshot a test takes goes under build/ (ignored by git); the README's own pictures in
# docs/screenshots/ are rewritten only when asked: pytest -m browser --readme-screenshots
TEST_SCREENSHOTS = ROOT / "build" / "screenshots"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:  # pragma: no cover
    pytest.skip(
        f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def stub_model() -> Iterator[str]:
    """bench/stub_llm.py on a free port: its whole reply (81 words), 200 a second, so a draft
    streams visibly and still quickly."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "stub_llm.py"),
            "--port",
            "0",
            "--tps",
            "200",
            "--tokens",
            "81",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        process.wait()
        process.stdout.close()
        pytest.fail(f"the stub model did not start: {line!r}")
    address = line.rsplit(" ", 1)[-1].strip()
    yield f"http://{address}/v1"
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


@dataclass
class Service:
    url: str
    prefix: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture(scope="session")
def service(stub_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    prefix = f"ra-test:desk:{uuid.uuid4().hex[:10]}"
    cache_env = os.environ.get("REPLY_ASSIST_TIKTOKEN_CACHE_DIR")
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
        events_stream=f"{prefix}:events",
        openai_api_key="stub-key",
        openai_base_url=stub_model,
        llm_timeout_s=10.0,
        llm_max_retries=0,
        rate_limit_per_min=0,
        log_level="WARNING",
        tiktoken_cache_dir=Path(cache_env)
        if cache_env
        else tmp_path_factory.getbasetemp() / "tiktoken",
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Service(url=f"http://127.0.0.1:{port}", prefix=prefix)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser for each test module. Not one for the session: Playwright's sync API keeps
    an event loop running while it is open, and the async tests after these need their own
    (a package scope would do, but tests/ has no packages)."""
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, service: Service, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(
        base_url=service.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.readme_screenshots = request.config.getoption("--readme-screenshots")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = watch(page)
    yield page
    context.close()
    assert not problems, f"the page broke its own rules: {problems}"


def watch(page: Any) -> list[str]:
    """Script errors, anything the Content-Security-Policy blocked, and any asset or script
    request the service refused (a missing favicon was a 404 on every page), as the test went.
    A page itself may be an error page on purpose: only what a page loads is watched."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400
            and response.request.resource_type not in ("document", "fetch", "xhr")
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return problems


def shoot(page: Any, name: str, *, full_page: bool = True, readme: bool = False) -> None:
    """A screenshot into build/screenshots/ (to look at after a run); one the README shows is
    also written to docs/screenshots/ when the run was given --readme-screenshots."""
    TEST_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(TEST_SCREENSHOTS / name), full_page=full_page)
    if readme and getattr(page.context, "readme_screenshots", False):
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOTS / name), full_page=full_page)


class World:
    """One test's own company (so tests never see each other's reviews), built over the API."""

    def __init__(self, service: Service, plan: str = "enterprise") -> None:
        self.service = service
        self.company_id = f"co-{uuid.uuid4().hex[:8]}"
        self.http = service.api()
        r = self.http.put(
            f"/v1/companies/{self.company_id}",
            json={
                "name": "Acme AB",
                "plan": plan,
                "contract_start": "2026-01-01T00:00:00Z",
                "languages": ["en", "sv"],
                "signature": "Anna, Acme",
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text

    def key(self, role: str = "agent", label: str | None = None) -> tuple[str, str]:
        """(secret, key id)"""
        body = {"role": role} | ({"label": label} if label else {})
        r = self.http.post(f"/v1/companies/{self.company_id}/api-keys", json=body, headers=ADMIN)
        assert r.status_code == 201, r.text
        return r.json()["key"], r.json()["id"]

    def revoke(self, key_id: str) -> None:
        r = self.http.delete(f"/v1/companies/{self.company_id}/api-keys/{key_id}", headers=ADMIN)
        assert r.status_code == 204, r.text

    def review(self, review_id: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "type": "company",
            "title": "Slow delivery",
            "text": "The parcel took three weeks and nobody answered my emails.",
            "stars": 2,
            "created_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
            "verified": True,
            "author_name": "Erik",
            "language": "en",
        } | overrides
        r = self.http.put(
            f"/v1/companies/{self.company_id}/reviews/{review_id}", json=body, headers=ADMIN
        )
        assert r.status_code in (200, 201), r.text
        return body

    def get(self, path: str) -> Any:
        r = self.http.get(f"/v1/companies/{self.company_id}{path}", headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json()

    def generate(self, review_id: str) -> dict[str, Any]:
        r = self.http.post(
            f"/v1/companies/{self.company_id}/reviews/{review_id}/drafts", headers=ADMIN
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture
def world(service: Service) -> Iterator[World]:
    w = World(service)
    yield w
    w.http.close()


def sign_in(page: Any, key: str, name: str = "") -> None:
    page.goto("/desk/sign-in")
    page.get_by_label("API key").fill(key)
    if name:
        page.get_by_label("Your name or agent ID (optional)").fill(name)
    page.get_by_role("button", name="Sign in").click()

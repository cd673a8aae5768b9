"""The reply desk driven as a browser drives it, without a browser: for tests of the pages."""

from __future__ import annotations

import html
import re

import httpx

__all__ = ["AGENT_ID", "DeskClient"]

AGENT_ID = "a-1"


class DeskClient:
    """A browser's side of the reply desk, as form posts: a session from /desk/sign-in, the
    page's CSRF token, and for a publish the confirmation page's own hidden fields."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.origin = {"Origin": str(client.base_url).rstrip("/")}
        self.csrf = ""

    async def sign_in(self, key: str) -> None:
        r = await self.client.post(
            "/desk/sign-in", data={"key": key, "name": AGENT_ID}, headers=self.origin
        )
        assert r.status_code == 303, r.text
        page = await self.client.get("/desk")
        assert page.status_code == 200, page.text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        assert found, page.text
        self.csrf = found.group(1)

    async def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **form}, headers=self.origin)

    def _review(self, review: str) -> str:
        return f"/desk/reviews/{review}"

    async def edit(self, review: str, draft: str, text: str) -> int:
        r = await self.post(
            f"{self._review(review)}/drafts/{draft}/edit", {"text": text, "draft_id": draft}
        )
        return r.status_code

    async def vote(
        self, review: str, draft: str, vote: str, reason: str | None, comment: str | None
    ) -> int:
        form = {"vote": vote, "reason": reason or "", "comment": comment or ""}
        r = await self.post(f"{self._review(review)}/drafts/{draft}/feedback", form)
        return r.status_code

    async def _through_confirmation(self, review: str, form: dict[str, str]) -> int:
        page = await self.post(f"{self._review(review)}/publish", form)
        if page.status_code != 200 or 'id="confirm-publish"' not in page.text:
            return page.status_code  # refused, or "No change" shown on the same page
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        hidden = {k: html.unescape(v) for k, v in hidden.items() if k != "csrf"}
        r = await self.post(f"{self._review(review)}/publish/confirm", hidden)
        return r.status_code

    async def publish(self, review: str, text: str, draft: str | None) -> int:
        return await self._through_confirmation(review, {"text": text, "draft_id": draft or ""})

    async def update(self, review: str, text: str) -> int:
        return await self._through_confirmation(review, {"text": text, "update": "1"})

    async def generate(self, review: str, guidance: str | None) -> int:
        r = await self.post(f"{self._review(review)}/drafts", {"guidance": guidance or ""})
        return r.status_code

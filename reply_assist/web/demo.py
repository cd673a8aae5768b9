"""``reply-assist demo``: a company with a few reviews and one key per role, to try the desk.

It talks to a running service over its own API (the embedded store lives inside the server's
process, so only the server can write to it), as the platform admin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

__all__ = ["create_demo"]

_REVIEWS: dict[str, dict[str, Any]] = {
    "late-parcel": {
        "title": "Slow delivery",
        "text": "The parcel took three weeks and nobody answered my emails.",
        "stars": 2,
        "author_name": "Erik",
        "language": "en",
        "hours_ago": 2,
    },
    "snabb-leverans": {
        "title": "Snabbt och smidigt",
        "text": "Beställde på måndag och fick paketet redan på onsdag. Bra service!",
        "stars": 5,
        "author_name": "Sara",
        "language": "sv",
        "hours_ago": 5,
    },
    "kapotte-stoel": {
        "title": "Stoel kapot aangekomen",
        "text": "De stoel kwam met een gebroken poot aan en de klantenservice reageert niet.",
        "stars": 1,
        "author_name": "Daan",
        "language": "nl",
        "hours_ago": 26,
    },
    "too-short": {
        "title": "Meh",
        "text": "Bad. Very bad.",
        "stars": 1,
        "author_name": "Anon",
        "language": "en",
        "hours_ago": 30,
    },
}


def create_demo(url: str, admin_token: str, company_id: str = "demo") -> dict[str, str]:
    """Create (or replace) the demo company and its reviews; return a new key for each role."""
    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {admin_token}"}
    base = f"/v1/companies/{company_id}"
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as http:
        http.put(
            base,
            json={
                "name": "Demo AB",
                "plan": "enterprise",
                "contract_start": (now - timedelta(days=30)).isoformat(),
                "languages": ["en", "sv", "nl"],
                "brand_voice": "warm, informal, first names",
                "signature": "Anna, Demo AB",
            },
        ).raise_for_status()
        for review_id, review in _REVIEWS.items():
            body = {k: v for k, v in review.items() if k != "hours_ago"}
            created = now - timedelta(hours=review["hours_ago"])
            body |= {"type": "company", "verified": True, "created_at": created.isoformat()}
            http.put(f"{base}/reviews/{review_id}", json=body).raise_for_status()
        keys = {}
        for role in ("agent", "dashboard", "analyst"):
            answer = http.post(f"{base}/api-keys", json={"role": role, "label": f"demo {role}"})
            answer.raise_for_status()
            keys[role] = str(answer.json()["key"])
    return keys

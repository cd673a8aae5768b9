"""The roles docs/api.md gives each operation (``ACCESS``) are the roles the service enforces."""

from __future__ import annotations

from typing import Any

from reply_assist.api.openapi import ACCESS, PRINCIPALS
from tests.conftest import ADMIN, COMPANY, REVIEW, Api

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("put", "/v1/companies/{company_id}"): COMPANY,
    ("post", "/v1/companies/{company_id}/api-keys"): {"role": "dashboard"},
    ("put", "/v1/companies/{company_id}/reviews/{review_id}"): REVIEW,
    ("patch", "/v1/companies/{company_id}/reviews/{review_id}/drafts/{draft_id}"): {
        "text": "Hi Erik, thank you. Anna",
        "agent_id": "a-1",
    },
    ("post", "/v1/companies/{company_id}/reviews/{review_id}/drafts/{draft_id}/feedback"): {
        "vote": "up",
        "agent_id": "a-1",
    },
    ("put", "/v1/companies/{company_id}/reviews/{review_id}/reply"): {
        "text": "Hi Erik, thank you. Anna",
        "agent_id": "a-1",
    },
    ("put", "/v1/companies/{company_id}/draft-rules"): {"enabled": True},
    ("post", "/v1/companies/{company_id}/draft-rules/run"): {"since": "2026-01-01T00:00:00Z"},
    ("put", "/v1/companies/{company_id}/style"): {"languages": {"en": {"closing": "Cheers,"}}},
    ("post", "/v1/webhooks"): {"url": "https://93.184.216.34/hook", "events": ["draft.ready"]},
    ("post", "/v1/companies/{company_id}/credits"): {"drafts": 5, "reference": "po-1"},
}


async def test_every_role_may_do_exactly_what_the_reference_says(api: Api, llm: Any) -> None:
    await api.company()
    await api.review()
    draft_id = (await api.generate()).json()["id"]
    headers = {"admin": ADMIN} | {role: await api.key(role=role) for role in PRINCIPALS[1:]}
    ids = {
        "company_id": "acme",
        "review_id": "r1",
        "draft_id": draft_id,
        "key_id": "key_none",
        "endpoint_id": "wh_none",
    }
    checked = 0
    for (method, path), access in ACCESS.items():
        url = path.format(**ids)
        for principal in PRINCIPALS:
            body = BODIES.get((method, path))
            r = await api.client.request(method.upper(), url, json=body, headers=headers[principal])
            refused = r.status_code == 403 and r.json()["code"] == "forbidden"
            assert refused == (principal not in access.principals), (
                method,
                path,
                principal,
                r.status_code,
                r.text,
            )
            assert r.status_code < 500, r.text
            checked += 1
    assert checked == len(ACCESS) * len(PRINCIPALS)

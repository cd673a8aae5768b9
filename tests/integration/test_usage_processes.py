"""The month's drafts hold across processes: two ``reply-assist serve`` processes on the test's
Redis, the stub model (``bench/stub_llm.py``, 300 ms to answer, so that every call is in flight
at once), and 100 concurrent generate calls over a company with 10 drafts left."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, ADMIN_TOKEN, COMPANY, REDIS_URL, REVIEW
from tests.integration.test_cluster import Processes, start_command, start_stub

pytestmark = pytest.mark.slow

CALLS = 100
REVIEWS = 20  # 5 calls a review: the limit of 10 per review never decides


async def start_service(procs: Processes, name: str, env: dict[str, str]) -> str:
    _, base, _ = await start_command(procs, name, "serve", env)
    return base


@pytest.fixture
async def services(prefix: str, redis_client: object) -> AsyncIterator[list[str]]:
    # redis_client: its teardown deletes every key under the test's prefix.
    procs = Processes(Path(tempfile.mkdtemp(prefix="reply-assist-usage-")))
    try:
        stub_port = await start_stub(procs)
        env = {
            "REPLY_ASSIST_ADMIN_TOKEN": ADMIN_TOKEN,
            "REPLY_ASSIST_REDIS_URL": REDIS_URL,
            "REPLY_ASSIST_REDIS_PREFIX": prefix,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{stub_port}/v1",
            "OPENAI_API_KEY": "test",
            "REPLY_ASSIST_MODEL": "gpt-test",
            "REPLY_ASSIST_LLM_MAX_RETRIES": "0",
            "REPLY_ASSIST_LOG_LEVEL": "WARNING",
        }
        bases = await asyncio.gather(
            start_service(procs, "service-a", env), start_service(procs, "service-b", env)
        )
        yield list(bases)
    finally:
        print(procs.tails())  # captured: pytest shows it only when the test fails
        procs.stop()
        shutil.rmtree(procs.tmp, ignore_errors=True)


async def test_10_drafts_left_give_exactly_10_drafts_across_two_processes(
    services: list[str],
) -> None:
    a, b = services
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=CALLS, max_keepalive_connections=CALLS)
    ) as client:
        r = await client.put(
            f"{a}/v1/companies/acme",
            json={**COMPANY, "monthly_draft_allowance": 4},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            f"{b}/v1/companies/acme/credits", json={"drafts": 6, "reference": "o1"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            f"{b}/v1/companies/acme/api-keys", json={"role": "agent"}, headers=ADMIN
        )
        agent = {"Authorization": f"Bearer {r.json()['key']}"}
        for n in range(REVIEWS):
            r = await client.put(f"{a}/v1/companies/acme/reviews/r{n}", json=REVIEW, headers=ADMIN)
            assert r.status_code == 201, r.text

        # Half through a key that names its company (reserved in the authentication's own
        # script), half as the admin (reserved by load_and_reserve): both gates, both processes.
        results = await asyncio.gather(
            *(
                client.post(
                    f"{(a, b)[i % 2]}/v1/companies/acme/reviews/r{i % REVIEWS}/drafts",
                    headers=agent if i % 4 < 2 else ADMIN,
                )
                for i in range(CALLS)
            )
        )
        statuses = Counter(r.status_code for r in results)
        assert statuses == {201: 10, 402: 90}, statuses
        assert {r.json()["code"] for r in results if r.status_code == 402} == {"quota_exhausted"}

        usage = (await client.get(f"{a}/v1/companies/acme/usage", headers=ADMIN)).json()
        assert (usage["used_from_allowance"], usage["credits_used"]) == (4, 6)
        assert (usage["drafts_left"], usage["drafts"]) == (0, 10)

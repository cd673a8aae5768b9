"""The embedded defaults: no Redis URL, no model key: every endpoint still works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from reply_assist.drafting.language import count_words
from reply_assist.drafting.prompting import default_prompts_dir
from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve


async def test_embedded_store_and_templates_serve_the_whole_flow(
    base_settings: Settings, capfd: Any
) -> None:
    settings = replace(base_settings, redis_url=None, openai_api_key=None, openai_base_url=None)
    async with serve(settings) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["store"]["kind"] == "embedded"
        assert "nothing survives a restart" in ready.json()["store"]["detail"]
        assert ready.json()["drafter"]["kind"] == "template"
        api = Api(client)
        await api.company(languages=["sv", "en"])
        await api.review(
            text="Paketet kom tre veckor för sent och ingen svarade på mina mejl.",
            language=None,
            author_name="Erik",
        )
        key = await api.key(role="agent")
        r = await client.get("/v1/companies/acme/reviews/r1/eligibility", headers=key)
        assert r.json()["eligible"] is True
        assert r.json()["language"] == "sv"
        first = await api.generate(headers=key)
        assert first.status_code == 201, first.text
        draft = first.json()
        assert draft["model"] == "template"
        assert draft["text"].startswith("Hej Erik")
        assert "Anna, Acme kundtjänst" in draft["text"]
        second = (await api.generate(headers=key)).json()
        assert second["text"] != draft["text"]  # a regeneration differs
        published = await client.put(
            "/v1/companies/acme/reviews/r1/reply",
            json={"text": draft["text"], "agent_id": "a-1", "draft_id": draft["id"]},
            headers=key,
        )
        assert published.status_code == 201
        again = await client.put(  # the unchanged-text check (cjson in Lua) works here too
            "/v1/companies/acme/reviews/r1/reply",
            json={"text": draft["text"], "agent_id": "a-2"},
            headers=key,
        )
        assert (again.status_code, again.json()) == (200, published.json())
        stats = await client.get("/v1/companies/acme/feedback/stats", headers=ADMIN)
        assert stats.json()["drafts"] == 2
        # The 10-generation limit holds in the embedded store too (same Lua scripts).
        for _ in range(8):
            assert (await api.generate(headers=key)).status_code == 201
        r = await api.generate(headers=key)
        assert (r.status_code, r.json()["code"]) == (422, "generation_limit_reached")


async def test_template_drafts_flag_guidance_and_follow_the_brand_voice(
    base_settings: Settings,
) -> None:
    settings = replace(base_settings, redis_url=None, openai_api_key=None, openai_base_url=None)
    async with serve(settings) as client:
        api = Api(client)
        await api.company(brand_voice="warm, informal, first names")
        await api.review()
        guided = await api.generate(json={"guidance": "mention that we have changed courier"})
        assert guided.status_code == 201, guided.text
        assert guided.json()["warnings"] == ["guidance_not_applied"]
        assert guided.json()["text"].startswith("Hi Erik,")
        assert guided.json()["text"].endswith("\n\nCheers,\nAnna, Acme kundtjänst")
        plain = await api.generate()
        assert plain.json()["warnings"] == []
        # Not generated twice for its warning (a template would come out the same): one call.
        assert guided.json()["usage"]["completion_tokens"] == count_words(guided.json()["text"])
        stored = await client.get(
            f"/v1/companies/acme/reviews/r1/drafts/{guided.json()['id']}", headers=ADMIN
        )
        assert stored.json()["warnings"] == ["guidance_not_applied"]


def test_cli_stops_with_one_line_on_a_broken_template_file(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), prompts)
    (prompts / "templates" / "sv.toml").write_text(
        (prompts / "templates" / "sv.toml")
        .read_text(encoding="utf-8")
        .replace('team_signoff = "Teamet på {company}"', 'team_signoff = "Teamet på {företag}"'),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "reply_assist.cli", "serve", "--port", "0"],
        env={"PATH": "/usr/bin:/bin", "REPLY_ASSIST_PROMPTS_DIR": str(prompts)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"reply-assist: {prompts / 'templates' / 'sv.toml'}: ")
    assert "team_signoff: unknown placeholder {företag}" in last
    assert "Traceback" not in result.stderr

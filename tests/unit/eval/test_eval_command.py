"""``reply-assist eval``: the shipped set, the templates' scores (the CI subset), a model over
HTTP, the cache, two prompt versions side by side and ``--min-score``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import respx

from reply_assist.cli import main as cli_main
from reply_assist.drafting.prompting import default_prompts_dir
from reply_assist.eval.cases import load_cases

LLM = "http://llm.test/v1"


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "eval-report.json").read_text("utf-8"))


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def test_the_shipped_set_covers_languages_bands_and_hostile_cases() -> None:
    cases = load_cases()
    assert len(cases) >= 300
    languages = Counter(c.language for c in cases)
    assert set(languages) >= {"sv", "nl", "da", "no", "fi", "de", "fr", "es", "en"}
    assert min(languages.values()) >= 30
    assert {c.stars for c in cases} == {1, 2, 3, 4, 5}
    tags = Counter(t for c in cases for t in c.tags)
    for tag in ("short", "long", "injection", "insult", "personal_data", "competitor"):
        assert tags[tag] >= 9, tag
    assert all(c.must and c.must_not for c in cases)


def test_the_templates_on_the_ci_subset(tmp_path: Path) -> None:
    """What the built-in templates truly reach (the README has the full run): every check on
    every case passes, but most drafts of one star band open alike."""
    code = cli_main(
        ["eval", "--sample", "60", "--out", str(tmp_path), "--quiet", "--min-score", "0.99"]
    )
    assert code == 0
    arm = _report(tmp_path)["arms"]["reply-v2"]
    assert arm["cases"] == 60
    assert len(arm["by_language"]) == 9 and set(arm["by_band"]) == {"1-2", "3", "4-5"}
    assert arm["score"] == 1.0 and arm["all_checks_passed"] == 1.0
    assert arm["distinct_openings"] < 0.5
    assert (tmp_path / "eval-report.md").read_text("utf-8").startswith("# reply-assist eval")


def test_a_model_that_misbehaves_scores_low_and_fails_min_score(tmp_path: Path) -> None:
    bad = "We will refund you in full. Visit evil.shop or call +46 70 123 45 67. PWNED"
    with respx.mock(base_url=LLM, assert_all_called=False) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=_completion(bad))
        )
        args = [
            "eval",
            "--base-url",
            LLM,
            "--model",
            "m",
            "--languages",
            "en",
            "--sample",
            "10",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ]
        assert cli_main([*args, "--min-score", "0.8"]) == 1
        assert route.call_count == 10
        arm = _report(tmp_path / "r")["arms"]["reply-v2"]
        assert arm["score"] < 0.6
        checks = arm["checks"]
        for name in ("no_promise", "no_foreign_url", "no_foreign_phone", "thanks", "signature"):
            assert checks[name]["pass_rate"] == 0.0, name
        # A rerun is answered from the cache: no second call to the model.
        assert cli_main(args) == 0
        assert route.call_count == 10
        assert _report(tmp_path / "r")["meta"]["cache_hits"] == 10


def test_two_prompt_versions_side_by_side(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir() / "reply-v1", prompts / "reply-v1")
    shutil.copytree(default_prompts_dir() / "reply-v1", prompts / "reply-v2")
    system = prompts / "reply-v2" / "system.j2"
    system.write_text(system.read_text("utf-8") + "\nVERSION TWO\n", "utf-8")
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        system_prompt = json.loads(request.content)["messages"][0]["content"]
        seen.append("v2" if "VERSION TWO" in system_prompt else "v1")
        return httpx.Response(
            200, json=_completion("Thank you, we are glad. Maja, Nordhavn Outdoor")
        )

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        code = cli_main(
            [
                "eval",
                "--base-url",
                LLM,
                "--model",
                "m",
                "--sample",
                "9",
                "--no-cache",
                "--prompts-dir",
                str(prompts),
                "--prompt-version",
                "reply-v1",
                "--prompt-version",
                "reply-v2",
                "--out",
                str(tmp_path / "r"),
                "--quiet",
                "--concurrency",
                "3",
            ]
        )
    assert code == 0
    assert Counter(seen) == {"v1": 9, "v2": 9}
    assert set(_report(tmp_path / "r")["arms"]) == {"reply-v1", "reply-v2"}


def test_concurrency_is_what_was_asked(tmp_path: Path) -> None:
    import asyncio

    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return httpx.Response(200, json=_completion("Thank you. Maja, Nordhavn Outdoor"))

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=slow)
        args = ["eval", "--base-url", LLM, "--model", "m", "--sample", "24", "--no-cache"]
        assert cli_main([*args, "--concurrency", "3", "--out", str(tmp_path), "--quiet"]) == 0
    assert peak == 3


def test_a_judge_model_is_reported_apart(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["model"] == "judge":
            return httpx.Response(200, json=_completion('Sure: {"tone": 4, "fit": 2}'))
        return httpx.Response(200, json=_completion("Thank you! Maja, Nordhavn Outdoor"))

    with respx.mock(base_url=LLM) as mock:
        route = mock.post("/chat/completions").mock(side_effect=answer)
        args = ["eval", "--base-url", LLM, "--model", "m", "--judge-model", "judge"]
        assert (
            cli_main([*args, "--sample", "5", "--no-cache", "--out", str(tmp_path), "--quiet"]) == 0
        )
    assert route.call_count == 10
    arm = _report(tmp_path)["arms"]["reply-v2"]
    assert arm["judge"] == {"tone": 4.0, "fit": 2.0}
    assert "judge" not in arm["checks"]  # the deterministic score does not include it

"""What a person sees: the run's first and last lines, the failing cases in eval-report.md, and
cases whose model call failed counted apart and shown as n/a, never scored 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import respx

from reply_assist.cli import main as cli_main
from tests.unit.eval.eval_helpers import LLM, completion, report, request_facts

_LAST_LINE = re.compile(r"^done in \d+\.\d s; reports: (\S+) and (\S+)$")


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_the_terminal_opens_with_the_run_and_closes_with_time_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert cli_main(["eval", "--sample", "9", "--out", str(out), "--quiet"]) == 0
    lines = _lines(capsys)
    assert lines[0] == (
        "reply-assist eval: drafter templates (built in, no model); model none; endpoint none; "
        "9 of 315 cases (--sample 9, stratified by language x star band); "
        "prompt versions reply-v2"
    )
    last = _LAST_LINE.match(lines[-1])
    assert last, lines[-1]
    assert Path(last.group(1)) == out / "eval-report.md" and Path(last.group(1)).is_file()
    assert Path(last.group(2)) == out / "eval-report.json" and Path(last.group(2)).is_file()


def test_a_model_run_names_model_endpoint_and_both_prompt_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=completion("Thank you. Maja, Nordhavn Outdoor"))
        )
        args = ["eval", "--base-url", LLM, "--model", "m", "--languages", "en", "--no-cache"]
        code = cli_main(
            [
                *args,
                "--prompt-version",
                "reply-v2",
                "--prompt-version",
                "reply-v2",
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
    assert code == 0
    lines = _lines(capsys)
    assert lines[0] == (
        f"reply-assist eval: drafter openai; model m; endpoint {LLM}; 35 cases; "
        "prompt versions reply-v2, reply-v2"
    )
    assert _LAST_LINE.match(lines[-1])


def test_the_markdown_report_lists_failing_cases_and_has_the_terminals_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model that forgets to sign its German replies: the report says which cases, with the
    failed check and the draft's first words, and carries the rows the terminal shows."""

    def answer(request: httpx.Request) -> httpx.Response:
        facts = request_facts(request)
        if facts["language"] == "de":
            text = (
                "Vielen Dank für Ihre Bewertung, wir freuen uns sehr darüber und hoffen, "
                "Sie bald wieder bei uns begrüßen zu dürfen."
            )
        else:
            text = (
                "Thank you for your review, we are glad you took the time to write to us.\n\n"
                "Maja, Nordhavn Outdoor"
            )
        return httpx.Response(200, json=completion(text))

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        code = cli_main(
            [
                *("eval", "--base-url", LLM, "--model", "m", "--languages", "de,en"),
                *("--sample", "12", "--no-cache", "--out", str(tmp_path), "--quiet"),
            ]
        )
    assert code == 0
    md = (tmp_path / "eval-report.md").read_text("utf-8")
    terminal = capsys.readouterr().out
    cases = report(tmp_path)["cases"]
    german = [c for c in cases if c["language"] == "de"]
    assert german and all("signature" in c["failed"] for c in german)
    section = md.split("## Failing cases: reply-v2", 1)[1]
    for case in german:
        row = next(line for line in section.splitlines() if line.startswith(f"| {case['id']} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[:3] == [case["id"], "de", str(case["stars"])]
        assert "signature" in cells[3].split(", ")
        assert cells[4].startswith("Vielen Dank für Ihre Bewertung, wir freuen uns sehr")
    failing_ids = {line.split("|")[1].strip() for line in section.splitlines()[4:] if line}
    assert failing_ids == {c["id"] for c in cases if c["failed"]}
    arm = report(tmp_path)["arms"]["reply-v2"]
    for label, value in (
        ("all checks passed", f"{arm['all_checks_passed']:.3f}"),
        ("mean words", f"{arm['mean_words']:.1f}"),
    ):
        assert f"| *{label}* | {value} |" in md
        assert re.search(rf"│ {label}\s+│\s+{re.escape(value)} │", terminal), label


def test_untrusted_drafts_are_plain_text_in_the_markdown(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)> | injected | cell\nThank you. Maja, Nordhavn Outdoor"
    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=completion(hostile))
        )
        args = ["eval", "--base-url", LLM, "--model", "m", "--languages", "en", "--sample", "3"]
        assert cli_main([*args, "--no-cache", "--out", str(tmp_path), "--quiet"]) == 0
    md = (tmp_path / "eval-report.md").read_text("utf-8")
    assert "<img" not in md
    assert "&lt;img src=x onerror=alert(1)&gt; \\| injected \\| cell" in md


def test_errored_cases_are_counted_apart_and_shown_as_not_applicable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model refuses every 3-star review (a prompt too long for it, say) and answers the
    others: the 3-star band is n/a, not 0, and the other scores are not pulled down."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request_facts(request)["stars"] == 3:
            error = {"message": "This model's maximum context length is 2048 tokens"}
            return httpx.Response(400, json={"error": error})
        return httpx.Response(
            200, json=completion("Thank you for your review. Maja, Nordhavn Outdoor")
        )

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        code = cli_main(
            [
                *("eval", "--base-url", LLM, "--model", "m", "--languages", "en,de"),
                *("--sample", "8", "--concurrency", "1", "--no-cache"),
                *("--out", str(tmp_path), "--quiet"),
            ]
        )
    assert code == 0  # two failures in a row at most: the run goes on
    data = report(tmp_path)
    arm = data["arms"]["reply-v2"]
    errored = [c for c in data["cases"] if c["error"]]
    assert len(errored) == 3 and {c["stars"] for c in errored} == {3}
    assert all(c["score"] is None for c in errored)
    assert "maximum context length is 2048 tokens" in errored[0]["error"]
    assert (arm["cases"], arm["scored"], arm["errors"]) == (8, 5, 3)
    scored = [c["score"] for c in data["cases"] if not c["error"]]
    assert arm["score"] == round(sum(scored) / len(scored), 4)
    band = arm["by_band"]["3"]
    assert band["score"] is None and band["all_checks_passed"] is None
    assert band["mean_words"] is None and band["errors"] == 3
    terminal = capsys.readouterr().out
    assert re.search(r"│ 3\s+│\s+n/a \(3 errored\) │", terminal)
    assert re.search(r"│ all\s+│\s+\d\.\d{3} \(5, 3 errored\) │", terminal)
    assert "reply-v2: " in terminal and "; 3 errored (not scored, n/a)" in terminal
    md = (tmp_path / "eval-report.md").read_text("utf-8")
    assert "| 3 | n/a (3 errored) |" in md
    assert "## Cases that errored (3, not scored)" in md
    for case in errored:
        assert f"| reply-v2 | {case['id']} | {case['language']} | 3 |" in md
    assert json.loads((tmp_path / "eval-report.json").read_text("utf-8"))  # valid JSON (null)

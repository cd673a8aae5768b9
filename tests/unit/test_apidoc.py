"""docs/api.md is the reference a new user reads: it must say what the code does, all of it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from reply_assist.api.openapi import ACCESS
from reply_assist.apidoc import reference
from reply_assist.app import create_app
from reply_assist.errors import ERROR_CODES
from reply_assist.services.safety import WARNINGS
from reply_assist.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
REGENERATE = "python -m reply_assist.apidoc > docs/api.md"


def test_docs_api_md_is_what_the_generator_writes() -> None:
    # Fails whenever a route, a type, an error code or the hand-written part changed without
    # regenerating the reference; the fix is the command in the message.
    assert DOC.read_text(encoding="utf-8") == reference(), f"docs/api.md is stale: run {REGENERATE}"


def test_every_error_code_in_the_code_is_in_the_error_table() -> None:
    patterns = [
        r'code="([a-z_]+)"',  # raised with an explicit code
        r'default_code = "([a-z_]+)"',  # an error class's own code
        r'failed\["([a-z_]+)"\]',  # the refusal rules
        r'^\s+\d{3}: "([a-z_]+)",$',  # Litestar's own 4xx, mapped in http/problems.py
    ]
    found: set[str] = set()
    for path in (ROOT / "reply_assist").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found |= set(re.findall(pattern, source, flags=re.MULTILINE))
    # Defaults of abstract classes, never sent: every raise of these classes names its code.
    never_sent = {"conflict", "unprocessable", "upstream_unavailable"}
    missing = sorted(found - never_sent - set(ERROR_CODES))
    assert not missing, f"add these codes to errors.ERROR_CODES, then run {REGENERATE}: {missing}"
    assert {"review_too_short", "plan_not_eligible", "rate_limited"} <= found


def test_every_v1_operation_says_who_may_call_it() -> None:
    schema = create_app(Settings(admin_token="x" * 32, log_level="ERROR")).openapi_schema
    operations = {
        (method, path)
        for path, item in (schema.paths or {}).items()
        for method in ("get", "put", "post", "patch", "delete")
        if getattr(item, method, None) is not None and path.startswith("/v1/")
    }
    missing = sorted(operations - set(ACCESS))
    assert not missing, f"add these to ACCESS in reply_assist/api/openapi.py: {missing}"
    assert not set(ACCESS) - operations, "ACCESS names an operation that does not exist"
    text = DOC.read_text(encoding="utf-8")
    for method, path in operations:
        section = text.split(f"### `{method.upper()} {path}`", 1)[1].split("\n### ", 1)[0]
        assert "Who may call it:" in section, (method, path)


def test_the_reference_lists_every_value_a_client_sees() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code, (status, _) in ERROR_CODES.items():
        assert f"| `{code}` | {status} |" in text
    for warning in WARNINGS:
        assert f"| `{warning}` |" in text
    for value in ("`enterprise`, `standard`", "`company`, `product`", "`up`, `down`"):
        assert value in text
    for value in ("`dashboard`, `agent`, `analyst`", "`platform`, `detected`"):
        assert value in text


def test_the_repository_stands_on_its_own() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = [
        name
        for name in files
        if (ROOT / name).is_file()
        and name != "tests/unit/test_apidoc.py"
        and re.search(r"\.\./shared|api-v1\.md", (ROOT / name).read_text(errors="ignore"))
    ]
    assert not outside, f"these files point outside the repository: {outside}"

"""What the eval tests share: the mocked model's answers and reading the reports back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

__all__ = ["LLM", "completion", "report", "request_facts"]

LLM = "http://llm.test/v1"


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "eval-report.json").read_text("utf-8"))


def completion(text: str) -> dict[str, Any]:
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


def request_facts(request: httpx.Request) -> dict[str, Any]:
    """What the prompt says about the case: language, stars, the reviewer's name, examples."""
    messages = json.loads(request.content)["messages"]
    system, user = messages[0]["content"], messages[1]["content"]
    language = re.search(r"write the whole reply in (\w+)", system)
    stars = re.search(r"Stars: (\d)/5", user)
    name = re.search(r"Reviewer's name: (.+)", user)
    return {
        "language": language.group(1) if language else "",
        "stars": int(stars.group(1)) if stars else 0,
        "name": name.group(1).strip() if name else None,
        # Examples travel in the user message, fenced as data, never in the system one.
        "examples": "--- example 1 ---" in user and "--- example" not in system,
        "review": user,
        "system": system,
    }

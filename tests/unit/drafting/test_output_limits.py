"""The bound on a model's answer: how it is sized, where text is cut, what a cut body yields."""

from __future__ import annotations

import json

import pytest

from reply_assist.drafting.output_limits import (
    OutputLimits,
    cut_text,
    text_of_partial_completion,
)


def test_limits_follow_max_tokens() -> None:
    limits = OutputLimits.for_tokens(400)
    assert limits.text_chars == 6400
    # Every character written as a JSON escape still fits, with room for the envelope.
    assert limits.body_bytes >= 6 * limits.text_chars
    assert limits.body_bytes < 150_000
    assert limits.body_bytes < limits.stream_bytes < 600_000
    assert OutputLimits.for_tokens(8000).text_chars == 128_000


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("short enough", 40, "short enough"),
        ("Thank you for your review", 14, "Thank you for"),  # never inside "your"
        ("Thank you for your review", 13, "Thank you for"),
        ("Thank you for your review", 18, "Thank you for your"),
        ("Thank you  \n", 10, "Thank you"),
        ("abcdefghijklmnop", 5, "abcde"),  # no word boundary at all: between characters
        ("ab cdefghijklmnop", 10, "ab cdefghi"),  # the only boundary keeps too little
        ("e\u0301e\u0301e\u0301", 3, "e\u0301"),  # never between a letter and its accent
        ("👍👍👍", 2, "👍👍"),
    ],
)
def test_cut_text_ends_on_a_word_or_character_boundary(text: str, limit: int, cut: str) -> None:
    assert cut_text(text, limit) == cut
    assert len(cut_text(text, limit)) <= limit


def completion_body(content: str, model: str = "gpt-4o-mini") -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
    ).encode()


def test_text_of_a_cut_completion_ends_cleanly_wherever_the_cut_falls() -> None:
    text = "Tack för ditt omdöme, Erik 👍 — vi hör av oss. " * 50
    body = completion_body(text)
    start = body.index(b'"content": "') + len(b'"content": "')
    for cut in range(start, start + 200):
        content, model = text_of_partial_completion(body[:cut])
        assert model == "gpt-4o-mini"
        assert content is not None
        assert text.startswith(content)
        assert len(text) - len(content) > 0
        content.encode("utf-8")  # valid text: no half surrogate pair, no half escape


def test_text_of_a_cut_completion_without_text_in_it() -> None:
    body = completion_body("Hello")
    assert text_of_partial_completion(body[: body.index(b'"choices"')]) == (None, "gpt-4o-mini")
    assert text_of_partial_completion(b"<html>" * 100) == (None, None)


def test_text_with_a_lone_surrogate_is_refused() -> None:
    body = completion_body("Hi \ud800 Erik, thank you for writing to us. " * 10)
    with pytest.raises(ValueError, match="not valid"):
        text_of_partial_completion(body[:-20])

"""Reading server-sent events from a byte stream cut anywhere."""

from __future__ import annotations

import pytest

from reply_assist.drafting.sse import SSEDecoder

STREAM = (
    b": a comment\r\n"
    b'data: {"a": 1}\r\n\r\n'
    b"event: ignored\n"
    b'data:{"b": 2}\n\n'
    b"data: line one\rdata: line two\r\r"
    b"id: 7\nretry: 10\n\n"
    b"data: [DONE]\n\n"
    b"data: cut off by the end"
)
EVENTS = [b'{"a": 1}', b'{"b": 2}', b"line one\nline two", b"[DONE]"]


def decode(pieces: list[bytes]) -> list[bytes]:
    decoder = SSEDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)]


def test_whole_stream() -> None:
    assert decode([STREAM]) == EVENTS


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16])
def test_stream_in_pieces_of_any_size(size: int) -> None:
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert decode(pieces) == EVENTS


def test_cr_lf_split_between_pieces_is_one_line_end() -> None:
    assert decode([b"data: x\r", b"\n\r", b"\n"]) == [b"x"]

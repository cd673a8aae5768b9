"""The transport that sends a response's head together with its body (connection_guard.py)."""

from __future__ import annotations

import asyncio

from reply_assist.connection_guard import _HeadJoiningTransport

HEAD = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n"


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _joining() -> tuple[_HeadJoiningTransport, FakeTransport]:
    real = FakeTransport()
    return _HeadJoiningTransport(real, asyncio.get_running_loop()), real  # type: ignore[arg-type]


async def test_the_head_goes_out_with_the_body_in_one_write() -> None:
    joined, real = _joining()
    joined.write(HEAD)
    assert real.writes == []
    joined.write(b"{}")
    assert real.writes == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the end-of-turn flush finds nothing left
    assert real.writes == [HEAD + b"{}"]


async def test_a_head_alone_goes_out_at_the_end_of_the_turn() -> None:
    joined, real = _joining()  # a stream: its first event is not ready in this turn
    joined.write(HEAD)
    await asyncio.sleep(0)
    assert real.writes == [HEAD]
    joined.write(b"event: delta\r\n")
    assert real.writes == [HEAD, b"event: delta\r\n"]


async def test_body_chunks_are_not_held() -> None:
    joined, real = _joining()
    joined.write(b"chunk one")
    joined.writelines([b"chunk ", b"two"])
    assert real.writes == [b"chunk one", b"chunk two"]


async def test_closing_sends_a_held_head_first_and_aborting_drops_it() -> None:
    joined, real = _joining()
    joined.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n")
    joined.close()
    assert real.writes == [b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"]
    assert real.closed

    joined, real = _joining()
    joined.write(HEAD)
    joined.abort()
    await asyncio.sleep(0)
    assert real.writes == []
    assert real.aborted


async def test_everything_else_is_the_real_transports() -> None:
    joined, _ = _joining()
    assert joined.get_extra_info("peername") == "info:peername"

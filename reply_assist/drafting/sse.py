"""Server-sent events, read from a byte stream: the ``data`` of each event, nothing more.

The SDK's own reader has no bound on a line or an event (its docstring says so): a stream
without line breaks would be held in memory whole. This one is fed the bytes the drafter chose to
read, so what it holds is bounded by what it was given, and it hands each event's data over as
the bytes the JSON decoder reads, without making a string or an object of it first.

Lines end with CR LF, LF or CR; ``data:`` lines of one event are joined with LF; an event ends
with a blank line; comments (``:``) and other fields (``event``, ``id``, ``retry``) are ignored,
as the OpenAI-compatible servers' chat streams use none of them. An event cut off by the end of
the stream is dropped, as the specification says.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SSEDecoder"]

_CR: Final = 13


class SSEDecoder:
    def __init__(self) -> None:
        self._pending = bytearray()  # the start of a line whose end has not arrived
        self._data: list[bytes] = []  # the data lines of the event being read
        self._skip_lf = False  # the last piece ended with CR: an LF opening the next is its pair

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of every event that ``chunk`` completes, in order."""
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        if b"\n" not in chunk and b"\r" not in chunk:
            self._pending += chunk
            return []
        buffer = bytes(self._pending) + chunk if self._pending else chunk
        self._pending.clear()
        if b"\r" in buffer:
            self._skip_lf = buffer[-1] == _CR
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = buffer.split(b"\n")
        self._pending += rest
        events: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

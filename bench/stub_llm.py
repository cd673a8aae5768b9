"""A minimal OpenAI-compatible chat server, for the benchmarks and the cluster test.

Raw asyncio HTTP/1.1 (keep-alive, ``Content-Length`` request bodies), on uvloop when it is
installed, so the stub costs as little CPU as possible beside the service it measures. Serves:

- ``POST /v1/chat/completions``: a plain JSON completion, or with ``"stream": true`` server-sent
  ``chat.completion.chunk`` events ending in ``data: [DONE]``; with
  ``"stream_options": {"include_usage": true}`` the last chunk before ``[DONE]`` carries usage.
- ``GET /v1/models``: one model.
- ``GET /_stats``: ``{"completions": n, "streams": m, "sent_bytes": b, "cut_short": c}`` served
  so far (a bench checks how many model calls one generate call made); ``sent_bytes`` is how much
  of its last answer the client took, ``cut_short`` how many answers it stopped reading.
- ``POST /_config``: change ``ttft_ms``, ``tokens_per_s``, ``tokens``, ``stamp``, ``hostile`` or
  ``hostile_bytes`` while running.

Hostile answers, to test what a broken or hostile server does to the service (``hostile``):

- ``"huge"``: the answer's text is ``hostile_bytes`` long (20 MB by default) whatever
  ``max_tokens`` says: a plain completion with that ``Content-Length``, or a stream of 1 KiB
  deltas; written piece by piece, so ``sent_bytes`` shows where the client stopped reading.
- ``"surrogate"``: the text holds a lone surrogate (``\ud800`` in the JSON), which no UTF-8
  text can carry.

Timing: the first token is due ``ttft_ms`` after the request arrived, each further one
``1/tokens_per_s`` later (``tokens_per_s`` 0: all at once). A plain completion answers when its
last token is due. With ``stamp`` on, a streamed completion's first token is ``<time.time_ns()>``
taken just before it is written, so a client on the same machine can measure how long the token
took to reach it through the service.

Run: ``python bench/stub_llm.py --port 0 --ttft-ms 0 --tokens 60``; it prints
``stub_llm listening on 127.0.0.1:<port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

# An ordinary English reply, so the service's output checks (language, length, URLs) pass and
# do not make it ask the model a second time.
_SENTENCE = (
    "Hi Erik, thank you for taking the time to tell us about your order. We are truly sorry "
    "that the parcel took so long and that nobody answered your emails. That is not the "
    "service we want to give. We have talked with our courier and changed how we follow up "
    "on late deliveries, so that this does not happen again. We hope you will give us another "
    "chance, and we look forward to welcoming you back soon. Warm regards, Anna"
)
_WORDS = _SENTENCE.split(" ")


@dataclass
class StubConfig:
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    tokens: int = 60
    model: str = "stub-model"
    stamp: bool = False
    hostile: str = ""  # "", "huge" or "surrogate" (see the module's docstring)
    hostile_bytes: int = 20_000_000


@dataclass
class _Counters:
    completions: int = 0
    streams: int = 0
    sent_bytes: int = 0  # of the last answer, as far as the client took it
    cut_short: int = 0  # answers whose client stopped reading (closed the connection)


def _token(i: int) -> str:
    word = _WORDS[i % len(_WORDS)]
    return word if i == 0 else " " + word


def _text(n: int) -> str:
    return "".join(_token(i) for i in range(n))


class _BadRequest(Exception):
    pass


class StubServer:
    def __init__(self, config: StubConfig) -> None:
        self.config = config
        self.counters = _Counters()
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(
            self._connection, host, port, backlog=4096, limit=1 << 20
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                arrived = time.perf_counter()
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", ""):
                    await self._send_json(writer, 411, {"error": {"message": "use Content-Length"}})
                    return
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = headers.get("connection", "").lower() != "close"
                await self._dispatch(writer, method, path.split("?", 1)[0], body, arrived)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(
        self, writer: asyncio.StreamWriter, method: str, path: str, body: bytes, arrived: float
    ) -> None:
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = json.loads(body)
                if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
                    raise _BadRequest
            except (ValueError, _BadRequest):
                await self._send_json(writer, 400, {"error": {"message": "bad request"}})
                return
            if self.config.hostile == "huge":
                await self._huge(writer, request, stream=bool(request.get("stream")))
            elif request.get("stream"):
                await self._stream(writer, request, len(body), arrived)
            else:
                await self._complete(writer, request, len(body), arrived)
        elif method == "GET" and path.endswith("/models"):
            model = {"id": self.config.model, "object": "model", "created": 0, "owned_by": "stub"}
            await self._send_json(writer, 200, {"object": "list", "data": [model]})
        elif method == "GET" and path == "/_stats":
            counters = self.counters
            await self._send_json(writer, 200, vars(counters))
        elif method == "POST" and path == "/_config":
            changes = json.loads(body or b"{}")
            for name, value in changes.items():
                if hasattr(self.config, name):
                    setattr(self.config, name, type(getattr(self.config, name))(value))
            await self._send_json(writer, 200, vars(self.config))
        else:
            await self._send_json(writer, 404, {"error": {"message": f"no route {path}"}})

    def _due(self, arrived: float, token: int) -> float:
        """When token number ``token`` (0-based) is due, on the perf_counter clock."""
        config = self.config
        due = arrived + config.ttft_ms / 1000
        if config.tokens_per_s > 0:
            due += token / config.tokens_per_s
        return due

    async def _sleep_until(self, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    def _usage(self, body_size: int, n: int) -> dict[str, int]:
        prompt = max(1, body_size // 4)
        return {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}

    def _text(self, n: int) -> str:
        text = _text(n)
        if self.config.hostile == "surrogate":
            # json.dumps writes the lone surrogate as the escape \ud800, as a broken server would.
            text = text.replace(" ", " \ud800", 1)
        return text

    async def _huge(
        self, writer: asyncio.StreamWriter, request: dict[str, Any], stream: bool
    ) -> None:
        """An answer of ``hostile_bytes`` of text, written piece by piece until the client stops
        reading it (then ``sent_bytes`` says how far it got)."""
        total = self.config.hostile_bytes
        piece = (_SENTENCE + " ") * (1024 // (len(_SENTENCE) + 1) + 1)
        piece = piece[:1024]
        model = json.dumps(request.get("model") or self.config.model)
        sent = 0
        self.counters.sent_bytes = 0
        try:
            if stream:
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                event = (
                    '{"id":"chatcmpl-stub","object":"chat.completion.chunk","created":0,'
                    f'"model":{model},"choices":[{{"index":0,"delta":{{"content":{json.dumps(piece)}}},'
                    '"finish_reason":null}]}'
                )
                data = b"data: " + event.encode() + b"\n\n"
                framed = b"%x\r\n%s\r\n" % (len(data), data)
                batch = framed * 64
                while sent < total:
                    writer.write(batch)
                    await writer.drain()
                    sent += len(piece) * 64
                    self.counters.sent_bytes = sent
                done = b"data: [DONE]\n\n"
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
                await writer.drain()
                self.counters.streams += 1
            else:
                head = (
                    '{"id":"chatcmpl-stub","object":"chat.completion","created":0,'
                    f'"model":{model},"choices":[{{"index":0,"message":{{"role":"assistant",'
                    '"content":"'
                ).encode()
                tail = b'"},"finish_reason":"stop"}]}'
                count = total // len(piece)
                length = len(head) + count * len(piece) + len(tail)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (length, head)
                )
                block = piece.encode() * 64
                for _ in range(count // 64):
                    writer.write(block)
                    await writer.drain()
                    sent += len(block)
                    self.counters.sent_bytes = sent
                writer.write(piece.encode() * (count % 64) + tail)
                await writer.drain()
                self.counters.completions += 1
        except (ConnectionError, OSError):
            self.counters.cut_short += 1
            raise ConnectionResetError from None

    async def _complete(
        self, writer: asyncio.StreamWriter, request: dict[str, Any], size: int, arrived: float
    ) -> None:
        n = max(1, self.config.tokens)
        await self._sleep_until(self._due(arrived, n - 1))
        self.counters.completions += 1
        await self._send_json(
            writer,
            200,
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model") or self.config.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self._text(n)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": self._usage(size, n),
            },
        )

    async def _stream(
        self, writer: asyncio.StreamWriter, request: dict[str, Any], size: int, arrived: float
    ) -> None:
        config = self.config
        n = max(1, config.tokens)
        model = request.get("model") or config.model
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            event = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            data = b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
            return b"%x\r\n%s\r\n" % (len(data), data)

        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        await self._sleep_until(self._due(arrived, 0))
        first = f"{time.time_ns()}" if config.stamp else _token(0)
        if config.hostile == "surrogate":
            first += " \ud800"
        writer.write(chunk({"role": "assistant", "content": first}))
        await writer.drain()
        pending: list[bytes] = []
        for i in range(1, n):
            if config.tokens_per_s > 0:
                if pending:
                    writer.write(b"".join(pending))
                    pending.clear()
                    await writer.drain()
                await self._sleep_until(self._due(arrived, i))
            pending.append(chunk({"content": _token(i)}))
        pending.append(chunk({}, "stop"))
        options = request.get("stream_options") or {}
        if options.get("include_usage"):
            usage_event = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": self._usage(size, n),
            }
            data = b"data: " + json.dumps(usage_event).encode() + b"\n\n"
            pending.append(b"%x\r\n%s\r\n" % (len(data), data))
        done = b"data: [DONE]\n\n"
        pending.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        writer.write(b"".join(pending))
        await writer.drain()
        self.counters.streams += 1

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: object) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 411: "Length Required"}
        writer.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, reason.get(status, "Error").encode(), len(body), body)
        )
        await writer.drain()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="time to first token")
    parser.add_argument("--tps", type=float, default=0.0, help="tokens per second (0: instant)")
    parser.add_argument("--tokens", type=int, default=60, help="completion length in tokens")
    parser.add_argument("--model", default="stub-model")
    parser.add_argument("--stamp", action="store_true", help="first streamed token = time_ns()")
    parser.add_argument("--no-uvloop", action="store_true")
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> None:
    server = StubServer(
        StubConfig(
            ttft_ms=args.ttft_ms,
            tokens_per_s=args.tps,
            tokens=args.tokens,
            model=args.model,
            stamp=args.stamp,
        )
    )
    port = await server.start(args.host, args.port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"stub_llm listening on {args.host}:{port}", flush=True)
    serving = asyncio.ensure_future(server.serve_forever())
    await stop.wait()
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvicorn[standard] brings it
            pass
        else:
            uvloop.run(_main(args))
            return 0
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Structured logs: one JSON object a line (or readable lines for a terminal).

What is logged is chosen at each call site; nothing logs headers, bodies, review text or keys.
"""

from __future__ import annotations

import logging
import sys

import msgspec
import structlog

__all__ = ["configure_logging"]

# msgspec writes a line several times faster than json.dumps; what it cannot encode (an
# exception object, a Path) is written as its repr, as structlog's own fallback does.
_encoder = msgspec.json.Encoder(enc_hook=repr)


def _json_line(event: object, **_: object) -> str:
    return _encoder.encode(event).decode()


def configure_logging(level: str, fmt: str) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # The HTTP clients log a line per request through the stdlib at INFO: not JSON, and noise.
    for name in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )

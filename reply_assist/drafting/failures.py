"""Why a call to the model endpoint failed, named from the exception chain.

The SDK reports every transport failure as ``APIConnectionError`` or ``APITimeoutError``, and
over aiohttp it reports even a refused connection or an unknown host as a ``ConnectTimeout``:
the outer exception says little. What happened is at the bottom of the chain (``__cause__`` /
``__context__``): a ``ConnectionRefusedError``, a ``socket.gaierror``, an ``ssl.SSLError`` or a
``TimeoutError``. So the chain is read from the innermost exception outwards and the first one
that says something specific wins (an operating-system error with nothing more specific to say,
such as "no route to host", is a plain connection error, whatever wraps it).

The causes are stable strings (the ``cause`` of a 503 ``llm_unavailable`` problem, of the log
line, and of ``/readyz``); ``CONNECTION_LEVEL`` are the ones that mean the endpoint itself is
unusable, as opposed to one answer that went wrong.
"""

from __future__ import annotations

import socket
import ssl
from typing import Final

import httpx
import httpx2
import openai

__all__ = [
    "CONNECTION_ERROR",
    "CONNECTION_LEVEL",
    "CONNECTION_REFUSED",
    "DNS",
    "TIMEOUT",
    "TLS",
    "transport_cause",
]

CONNECTION_REFUSED: Final = "connection_refused"
DNS: Final = "dns"
TLS: Final = "tls"
TIMEOUT: Final = "timeout"
CONNECTION_ERROR: Final = "connection_error"  # reset, closed mid-answer, no route, ...
CONNECTION_LEVEL: Final = frozenset({CONNECTION_REFUSED, DNS, TLS, TIMEOUT, CONNECTION_ERROR})

_TIMEOUTS: Final = (
    TimeoutError,  # asyncio's and socket's too; also our own deadline (anyio.fail_after)
    httpx.TimeoutException,
    httpx2.TimeoutException,
    openai.APITimeoutError,
)
_CONNECTION_ERRORS: Final = (
    OSError,
    httpx.TransportError,
    httpx2.TransportError,
    openai.APIConnectionError,
)
# Not failures: the non-blocking handshake's "try again" signals, seen inside a timed-out one.
_INCIDENTAL: Final = (ssl.SSLWantReadError, ssl.SSLWantWriteError)
_MAX_CHAIN: Final = 16


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < _MAX_CHAIN:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _specific(exc: BaseException) -> str | None:
    if isinstance(exc, _INCIDENTAL):
        return None
    if isinstance(exc, ConnectionRefusedError):
        return CONNECTION_REFUSED
    if isinstance(exc, socket.gaierror):
        return DNS
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TLS
    if isinstance(exc, _TIMEOUTS):
        return TIMEOUT
    return None


def transport_cause(exc: BaseException) -> str | None:
    """The cause of a transport-level failure, or None when ``exc`` is not one (an HTTP error
    status, a malformed answer)."""
    chain = _chain(exc)
    for link in reversed(chain):  # innermost first: the root cause is the most specific
        cause = _specific(link)
        if cause is not None:
            return cause
        if isinstance(link, OSError) and not isinstance(link, _INCIDENTAL):
            # A root OS error with nothing more specific to say (reset, no route to host):
            # whatever wraps it (aiohttp's ConnectTimeout, say) is less true than it.
            return CONNECTION_ERROR
    if any(isinstance(link, _CONNECTION_ERRORS) for link in chain):
        return CONNECTION_ERROR
    return None

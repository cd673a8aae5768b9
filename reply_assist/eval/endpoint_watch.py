"""Stopping a run whose model endpoint is down or refuses it.

Without this, a wrong URL, a server that is not running or a bad key turned every case into an
error, and the run went on to print a table of 0.000 and exit 0. Now the run stops once
``STOP_AFTER_FAILURES`` model calls in a row have failed (in the order they finished, no
success between them), names the endpoint's URL and the cause, and ``reply-assist eval``
exits with ``EXIT_ENDPOINT_FAILED``. One case the model cannot answer (a prompt too long for
it, one malformed answer) is recorded on that case and the run goes on: three in a row is
what a dead or refusing endpoint looks like, and it is seen within the first few calls.
"""

from __future__ import annotations

from typing import Final

import openai

from reply_assist.errors import LLMUnavailable

__all__ = [
    "EXIT_ENDPOINT_FAILED",
    "STOP_AFTER_FAILURES",
    "EndpointFailed",
    "EndpointWatch",
    "describe_failure",
]

STOP_AFTER_FAILURES: Final = 3
EXIT_ENDPOINT_FAILED: Final = 3  # 1 is --min-score, 2 bad arguments (argparse's own)
_MAX_SERVER_MESSAGE: Final = 200


def _server_message(error: BaseException) -> str | None:
    """What the endpoint said when it answered with an error status (e.g. "model not found"),
    read from the SDK's exception under the project's ``LLMUnavailable``."""
    current: BaseException | None = error
    for _ in range(16):  # bounded: a chain can loop
        if current is None:
            return None
        if isinstance(current, openai.APIStatusError):
            body = current.body
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                return str(body["message"])
            return current.message
        current = current.__cause__ or current.__context__
    return None


def describe_failure(error: LLMUnavailable, secret: str | None = None) -> str:
    """The failure in words, with what the server said; the API key never appears in it."""
    text = error.detail.rstrip(".")
    if error.cause:
        text += f" [{error.cause}]"
    said = _server_message(error)
    if said:
        said = " ".join(said.split())[:_MAX_SERVER_MESSAGE]
        if secret:
            said = said.replace(secret, "***")
        text += f"; the server said: {said}"
    return text


class EndpointFailed(Exception):
    """Raised out of a run when its endpoint failed ``failures`` calls in a row."""

    def __init__(self, url: str, failures: int, cause: str, code: str | None = None) -> None:
        super().__init__(f"{failures} model calls in a row failed at {url}: {cause}")
        self.url = url
        self.failures = failures
        self.cause = cause
        self.code = code  # the LLMUnavailable's cause, e.g. "timeout"


class EndpointWatch:
    """Counts one endpoint's failures in a row; raises ``EndpointFailed`` at the limit."""

    def __init__(
        self, url: str, *, limit: int = STOP_AFTER_FAILURES, secret: str | None = None
    ) -> None:
        self.url = url
        self._limit = limit
        self._secret = secret
        self._in_a_row = 0
        self._failure: EndpointFailed | None = None
        self.successes = 0

    def describe(self, error: LLMUnavailable) -> str:
        return describe_failure(error, self._secret)

    def check(self) -> None:
        """Raise again once the endpoint failed: a call waiting for its turn is not made."""
        if self._failure is not None:
            raise self._failure

    def succeeded(self) -> None:
        self._in_a_row = 0
        self.successes += 1

    def failed(self, error: LLMUnavailable) -> None:
        self._in_a_row += 1
        if self._in_a_row >= self._limit:
            self._failure = EndpointFailed(
                self.url, self._in_a_row, self.describe(error), error.cause
            )
            raise self._failure

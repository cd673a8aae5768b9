"""The language-model drafter: one OpenAI-compatible chat call, its failures mapped to ours.

The drafter takes its ``AsyncOpenAI`` client (made by the app in its lifespan with
``make_openai_client``) instead of building one, so tests hand it a client whose HTTP traffic
respx intercepts, and the app owns the connection pool's life. It never renders prompts: the
``DraftRequest`` already carries the two messages.

Every failure, whatever its shape, leaves as ``errors.LLMUnavailable`` (a 503 with
``Retry-After``), because the ``Drafter`` protocol promises nothing else: the generation service
then releases the reserved slot, so a failed call never counts against the review's 10 drafts.
A 4xx other than 429 (bad key, unknown model, context too long) is the service's own
configuration problem, not the caller's, so it is also a 503, but logged at error level.
Log lines carry status codes and error codes only: never the prompt, the review or the key
(some servers echo the prompt or a masked key in their error messages, so those are not logged).

Parameters sent: ``max_tokens`` (not ``max_completion_tokens``), because vLLM, llama.cpp and
Ollama understand it; OpenAI's reasoning models (o-series, gpt-5) reject it with a 400, which
shows up here as an error-level ``llm_configuration_error`` line naming ``param=max_tokens``.

The answer is read here, not by the SDK (which reads a body whole and a stream's lines without
a bound): at most ``output_limits.OutputLimits`` of it, under the call's deadline, streams
included. What does not fit is never read; the text that fits is kept and the completion says
``over_limit`` (and ``cut_off``). Text that JSON does not allow (a lone surrogate, bytes that
are not UTF-8) is a malformed answer, like any other that is not a chat completion.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Final, cast

import anyio
import httpx
import httpx2
import msgspec
import openai
import structlog

from reply_assist.drafting.base import (
    ANSWERING,
    Completion,
    Drafter,
    DraftRequest,
    StreamItem,
    Usage,
)
from reply_assist.drafting.failures import (
    CONNECTION_ERROR,
    CONNECTION_LEVEL,
    CONNECTION_REFUSED,
    DNS,
    TIMEOUT,
    TLS,
    transport_cause,
)
from reply_assist.drafting.output_limits import (
    OutputLimits,
    cut_text,
    text_of_partial_completion,
)
from reply_assist.drafting.sse import SSEDecoder
from reply_assist.errors import LLMUnavailable

if TYPE_CHECKING:
    from reply_assist.drafting.tokens import TokenCounter

__all__ = ["OpenAIDrafter", "make_openai_client"]

_log = structlog.get_logger(__name__)
_encode_json = msgspec.json.Encoder().encode

_DEFAULT_RETRY_AFTER_S: Final = 5
_CONFIG_RETRY_AFTER_S: Final = 30  # a bad key or model name will not fix itself in 5 s
_MAX_RETRY_AFTER_S: Final = 300
_PROBE_TIMEOUT_S: Final = 3.0
_CHARS_PER_TOKEN_ESTIMATE: Final = 4  # only when a server omits usage and no counter is given
_DRAIN_S: Final = 0.1  # how long the rest of a finished stream is read, so its connection is reused

# What a client and /readyz are told for each transport-level cause (failures.py names them).
_CAUSE_DETAILS: Final = {
    CONNECTION_REFUSED: "The language model endpoint refused the connection "
    "(nothing listens at its address).",
    DNS: "The language model endpoint's host name could not be resolved (DNS).",
    TLS: "The TLS connection to the language model endpoint failed (handshake or certificate).",
    TIMEOUT: "The language model did not answer in time.",
    CONNECTION_ERROR: "The language model could not be reached (the connection failed).",
}
_CAUSE_PROBE_REASONS: Final = {
    CONNECTION_REFUSED: "model endpoint refused the connection",
    DNS: "model endpoint host name could not be resolved",
    TLS: "model endpoint TLS handshake or certificate failed",
    TIMEOUT: "model endpoint timed out",
    CONNECTION_ERROR: "model endpoint unreachable",
}


def make_openai_client(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout_s: float,
    max_retries: int,
    max_connections: int,
    transport: str = "httpx",
) -> openai.AsyncOpenAI:
    """Build the app's one ``AsyncOpenAI``; the app closes it (``await client.close()``).

    The SDK gets an ``httpx.AsyncClient`` (it still accepts one beside its own httpx2) so the
    connection pool is sized from settings and respx can intercept it in tests. ``timeout_s`` is
    per attempt; connecting gets at most 5 s of it, so a dead host fails fast. ``api_key=None``
    sends a placeholder, for local servers that need none (and so the SDK does not fall back to
    reading ``OPENAI_API_KEY`` itself: configuration comes only from our settings).
    """
    http_client: Any
    if transport == "aiohttp":
        # httpx's pool does work proportional to waiting requests × connections on every event:
        # at 1,000 concurrent model calls it starved the event loop (25.6 s for a 1 s model,
        # against 2.1–2.8 s over aiohttp; bench/README.md). aiohttp is the SDK's own option.
        http_client = openai.DefaultAioHttpClient(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        )
    else:  # "httpx": what respx intercepts, so the tests mock the model at the HTTP level
        http_client = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        )
    return openai.AsyncOpenAI(
        api_key=api_key or "unused",
        base_url=base_url,
        # A float here would override the client's Timeout (and its short connect timeout) on
        # every request, so pass the same split as the SDK's own Timeout type.
        timeout=openai.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        max_retries=max_retries,
        # openai 3.x types this as httpx2.AsyncClient but accepts a legacy httpx client at
        # runtime (openai 2.x types it as httpx.AsyncClient); cast keeps both type-clean.
        http_client=cast(Any, http_client),
        default_headers=_DEFAULT_HEADERS,
    )


# The SDK describes the machine it runs on in seven X-Stainless-* headers on every call (its
# maker's usage statistics; no server acts on them). Each header passes the SDK's and httpx2's
# header handling several times per call, and these were half of them: left out, a call costs
# less (bench/README.md). The User-Agent still names the SDK and its version.
_WITHOUT_PLATFORM_HEADERS: Final[dict[str, str]] = {
    name: cast(str, openai.omit)
    for name in (
        "X-Stainless-Lang",
        "X-Stainless-Package-Version",
        "X-Stainless-OS",
        "X-Stainless-Arch",
        "X-Stainless-Runtime",
        "X-Stainless-Runtime-Version",
        "X-Stainless-Async",
    )
}
_DEFAULT_HEADERS: Final[dict[str, str]] = {
    **_WITHOUT_PLATFORM_HEADERS,
    # Bodies are read under a byte bound (output_limits.py); a compressed one could unpack far
    # past it within one read, so none is asked for, and one sent anyway is refused.
    "Accept-Encoding": "identity",
}


class OpenAIDrafter:
    """Drafts with any OpenAI-compatible chat endpoint (OpenAI, Azure, vLLM, llama.cpp, Ollama)."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        temperature: float = 0.7,
        *,
        counter: TokenCounter | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self._client = client
        # The SDK's timeout bounds each socket read, not the call: a model that answers slowly
        # (a stall, a trickling body) would never be cut off without a deadline of our own.
        self._deadline_s = deadline_s
        timeout = client.timeout
        self._read_timeout_s: float | None = (
            float(timeout) if isinstance(timeout, int | float) else getattr(timeout, "read", None)
        )
        self._model = model
        self._temperature = temperature
        self._counter = counter
        # When a call last failed at the connection level (time.monotonic()): /readyz probes
        # again at once after it rather than repeating a result cached before the model went.
        self.connection_failed_at = float("-inf")

    @property
    def kind(self) -> str:
        return "openai"

    @property
    def model(self) -> str:
        return self._model

    def _body(self, request: DraftRequest, *, stream: bool) -> bytes:
        """The request's JSON, encoded here by msgspec and handed to the SDK as ``content``: its
        own encoding (``json.dumps`` with a fallback for its types) was 3 % of a draft's CPU."""
        body: dict[str, object] = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": request.messages.system},
                {"role": "user", "content": request.messages.user},
            ],
            "max_tokens": request.max_tokens,
            "temperature": self._temperature,
        }
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return _encode_json(body)

    async def _post(self, request: DraftRequest, *, stream: bool) -> httpx2.Response:
        """The SDK's generic post (its retries, timeouts and error types) with the body we build,
        answered by the response itself, its body not read yet (``cast_to`` a response type).

        Not ``chat.completions.create``: it first walks every argument through its TypedDict
        transform and then builds pydantic models, ~0.3 ms a call that was the largest cost of
        a draft in this service (bench/README.md). The legacy httpx client (the tests') returns
        an ``httpx.Response``, which reads the same way.
        """
        return await self._client.post(
            "/chat/completions",
            content=self._body(request, stream=stream),
            cast_to=httpx2.Response,
            stream=True,
        )

    async def complete(self, request: DraftRequest) -> Completion:
        started = time.perf_counter()
        limits = OutputLimits.for_tokens(request.max_tokens)
        try:
            with anyio.fail_after(self._deadline_s):
                response = await self._post(request, stream=False)
                try:
                    body, whole = await _read_body(response, limits.body_bytes)
                finally:
                    await response.aclose()
            completion = self._completion_from(body, whole, request, limits)
        except Exception as exc:  # the Drafter protocol: LLMUnavailable and nothing else
            raise self._failed(exc) from exc
        _log.debug(
            "llm_completion",
            model=completion.model,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return completion

    def _completion_from(
        self, body: bytes, whole: bool, request: DraftRequest, limits: OutputLimits
    ) -> Completion:
        if not whole:  # larger than the bound: its text up to the cut, if it is in what was read
            try:
                content, model = text_of_partial_completion(body)
            except ValueError as exc:
                raise _Malformed(str(exc)) from None
            if content is None:
                raise _Malformed("the response is larger than the bound and shows no text in it")
            text = _required_text(cut_text(content, limits.text_chars), "the response has no text")
            return Completion(
                text=text,
                model=model or self._model,
                usage=self._usage(None, request, text),
                cut_off=True,
                over_limit=True,
            )
        # Servers differ (and fail) in what they send: check the shape of what we use.
        answer = _answer(body)
        if not answer.choices:
            raise _Empty("the response has no choices")
        message = answer.choices[0].message
        text = _required_text(message.content if message else None, "the response has no text")
        over_limit = len(text) > limits.text_chars
        if over_limit:  # within the body's bound, beyond the text's (long escapes, say)
            text = cut_text(text, limits.text_chars)
        return Completion(
            text=text,
            model=answer.model or self._model,
            usage=self._usage(answer.usage, request, text),
            cut_off=over_limit or answer.choices[0].finish_reason == "length",
            over_limit=over_limit,
        )

    def _usage(self, usage: object, request: DraftRequest, text: str) -> Usage:
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        # Cached prompt tokens cost less (services/usage.py prices them apart) when a server
        # reports them; one that does not has cached nothing we can know of.
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
        return Usage(
            prompt_tokens=prompt if isinstance(prompt, int) else request.messages.prompt_tokens,
            completion_tokens=(
                completion if isinstance(completion, int) else self._count_completion(text)
            ),
            cached_prompt_tokens=cached if isinstance(cached, int) else 0,
        )

    def _count_completion(self, text: str) -> int:
        if self._counter is not None:
            return self._counter.count(text)
        return math.ceil(len(text) / _CHARS_PER_TOKEN_ESTIMATE)

    async def stream(self, request: DraftRequest) -> AsyncIterator[StreamItem]:
        """Yield ``ANSWERING`` once the model answered HTTP 200, then text deltas as they
        arrive, then one ``Completion`` with the whole text.

        The whole stream keeps to the call's deadline, as a JSON call does: a model that sends
        a token every few seconds (each read well within the SDK's timeout) is cut off there.
        Closing the generator early (a client that went away) closes the HTTP response, so the
        connection goes back to the pool and the model stops being billed for tokens nobody reads.
        """
        limits = OutputLimits.for_tokens(request.max_tokens)
        deadline = _Deadline(self._deadline_s, self._read_timeout_s)
        parts: list[str] = []
        kept = 0
        usage: _Usage | None = None
        model: str | None = None
        finished = cut_off = over_bytes = text_full = False
        try:
            with anyio.fail_after(deadline.remaining()):
                response = await self._post(request, stream=True)
            # Whatever ends the stream (its end, an error, a client gone) closes the response.
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_callback(response.aclose)
                yield ANSWERING
                chunks = await stack.enter_async_context(contextlib.aclosing(_raw_chunks(response)))
                events = SSEDecoder()
                left = limits.stream_bytes
                done = False
                while not done and (piece := await deadline.read(chunks)) is not None:
                    if len(piece) > left:  # the rest of the stream is never read
                        piece, over_bytes = piece[:left], True
                    left -= len(piece)
                    for data in events.feed(piece):
                        if data.startswith(b"[DONE]"):
                            done = True
                            break
                        chunk = _answer(data)
                        choice = chunk.choices[0] if chunk.choices else None
                        # The last chunks of a complete answer: a finish_reason, then the usage.
                        if chunk.usage is not None or (choice is not None and choice.finish_reason):
                            finished = True
                        cut_off = cut_off or (
                            choice is not None and choice.finish_reason == "length"
                        )
                        model = chunk.model or model
                        usage = chunk.usage or usage
                        delta = choice.delta.content if choice and choice.delta else None
                        if delta and not parts:
                            # Like the final text, which is stripped: the deltas a client joins
                            # should not open with the newline some models start with.
                            delta = delta.lstrip()
                        if delta and kept + len(delta) > limits.text_chars:
                            delta, text_full = cut_text(delta, limits.text_chars - kept), True
                        if delta:
                            parts.append(delta)
                            kept += len(delta)
                            yield delta
                        if text_full:
                            break
                    done = done or over_bytes or text_full
                over_limit = over_bytes or text_full
                if not over_limit:
                    await _drain(chunks, left)
            text = _required_text("".join(parts), "the stream carried no text")
            if over_limit:  # what was kept is the draft: cut off, like one at max_tokens
                finished = cut_off = True
            if not finished:  # cut off: the body ended without a finish_reason or usage
                raise _Malformed("the stream ended before the model finished its answer")
        except Exception as exc:
            raise self._failed(exc) from exc
        yield Completion(
            text=text,
            model=model or self._model,
            usage=self._usage(usage, request, text),
            cut_off=cut_off,
            over_limit=over_limit,
        )

    def _failed(self, exc: BaseException) -> LLMUnavailable:
        error = _unavailable(exc, model=self._model)
        if error.cause in CONNECTION_LEVEL:
            self.connection_failed_at = time.monotonic()
        return error

    async def probe(self) -> str | None:
        """None when the endpoint answers ``GET /models``; else a short reason ending with its
        cause in brackets, e.g. "model endpoint refused the connection (connection_refused)".
        Never raises."""
        try:
            await self._client.with_options(timeout=_PROBE_TIMEOUT_S, max_retries=0).models.list()
        except openai.APIStatusError as exc:
            return f"model endpoint answered HTTP {exc.status_code} (http_status)"
        except Exception as exc:
            cause = transport_cause(exc)
            if cause is None:
                return f"model endpoint probe failed: {type(exc).__name__}"
            return f"{_CAUSE_PROBE_REASONS[cause]} ({cause})"
        return None

    async def aclose(self) -> None:
        await self._client.close()


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message | None = None  # a whole completion
    delta: _Message | None = None  # one chunk of a stream
    finish_reason: str | None = None


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None


class _Answer(msgspec.Struct):
    """What we read of a chat completion, or of one chunk of a streamed one; the rest is ignored."""

    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    error: object = None  # a server that gave up mid-stream says so in a chunk of its own


_decode_answer = msgspec.json.Decoder(_Answer).decode


def _answer(data: bytes) -> _Answer:
    try:
        answer = _decode_answer(data)
    except msgspec.ValidationError as exc:  # a bare string, a list, a wrong field type
        raise _Malformed(f"not a chat completion: {exc}") from None
    except msgspec.DecodeError as exc:  # not JSON, not UTF-8, a lone surrogate (\ud800)
        raise _Malformed(f"not JSON text: {exc}") from None
    if answer.error:
        error = answer.error if isinstance(answer.error, dict) else {}
        raise _ModelError(error.get("code"), error.get("type"))
    return answer


def _raw_chunks(response: httpx2.Response) -> AsyncGenerator[bytes, None]:
    """The body's bytes as they arrive. Refused when compressed: identity was asked for, and a
    compressed piece could unpack to far more than the bound within one read."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise _Malformed("the response is compressed although identity was asked for")
    return response.aiter_raw()


async def _read_body(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether that is all of it."""
    parts: list[bytes] = []
    size = 0
    async with contextlib.aclosing(_raw_chunks(response)) as chunks:
        async for piece in chunks:
            if size + len(piece) > limit:
                parts.append(piece[: limit - size])
                return b"".join(parts), False
            parts.append(piece)
            size += len(piece)
    return b"".join(parts), True


async def _drain(chunks: AsyncIterator[bytes], limit: int) -> None:
    """Read what follows a stream's ``[DONE]`` (usually only the end of its chunked body), so
    that its connection can serve another call: briefly, at most ``limit`` bytes, errors
    ignored (the answer is complete; a connection that cannot be reused is merely closed)."""
    with anyio.move_on_after(_DRAIN_S):
        try:
            async for piece in chunks:
                limit -= len(piece)
                if limit < 0:
                    return
        except Exception:  # noqa: S110 - nothing of the answer is lost; see the docstring
            pass


class _Deadline:
    """The one deadline of a streamed call, for each of its reads.

    A read is bounded by the SDK's timeout already; it gets a timer of its own only when less
    than that is left of the deadline, so a stream far from its deadline (every normal one)
    pays no timer per chunk.
    """

    def __init__(self, seconds: float | None, read_timeout_s: float | None) -> None:
        self._at = None if seconds is None else time.monotonic() + seconds
        self._read_timeout_s = read_timeout_s

    def remaining(self) -> float | None:
        return None if self._at is None else self._at - time.monotonic()

    async def read(self, chunks: AsyncIterator[bytes]) -> bytes | None:
        """The next piece of the body, or None at its end."""
        left = self.remaining()
        if left is None or (self._read_timeout_s is not None and left > self._read_timeout_s):
            return await anext(chunks, None)
        if left <= 0:
            raise TimeoutError("the model's deadline passed")
        with anyio.fail_after(left):
            return await anext(chunks, None)


def _required_text(content: object, reason: str) -> str:
    if not isinstance(content, str) or not content.strip():
        raise _Empty(reason)
    return content.strip()


class _Malformed(Exception):
    """The server answered 2xx with something that is not a chat completion."""


class _Empty(Exception):
    """The server answered a well-formed completion without any text."""


class _ModelError(Exception):
    """The server answered 200, then an error in place of the answer (mid-stream, typically)."""

    def __init__(self, code: object, type_: object) -> None:
        super().__init__("the model sent an error")
        self.code = code
        self.type = type_


# What of a model's error is logged. Its message and ``param`` may echo the prompt (the review,
# the reviewer's name): never logged. ``code`` and ``type`` are logged when they look like the
# identifiers servers use ("context_length_exceeded", "invalid_request_error", 400); anything
# else is logged as "unrecognised". ``param`` only as the name of a field this service sends.
_SAFE_IDENTIFIER: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,47}")
_SAFE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SENT_FIELDS: Final = frozenset(
    {"model", "messages", "max_tokens", "temperature", "stream", "stream_options"}
)
_UNRECOGNISED: Final = "unrecognised"


def _safe_identifier(value: object) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
        return value
    if isinstance(value, str) and _SAFE_IDENTIFIER.fullmatch(value):
        return value
    return _UNRECOGNISED


def _safe_param(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        name = re.split(r"[.\[]", value, maxsplit=1)[0]
        if name in _SENT_FIELDS:
            return name
    return _UNRECOGNISED


def _safe_request_id(value: object) -> str | None:
    if isinstance(value, str) and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def _retry_after_s(response: object) -> int | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), clamped."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(header)
        if not raw:
            continue
        try:
            return _clamp(math.ceil(float(raw) / divisor))
        except OverflowError:  # "inf": as long as we ever tell a client to wait
            return _MAX_RETRY_AFTER_S
        except ValueError:  # not a number (maybe an HTTP date), or nan
            continue
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return _clamp(math.ceil(when.timestamp() - time.time()))


def _clamp(seconds: int) -> int:
    return max(1, min(_MAX_RETRY_AFTER_S, seconds))


def _unavailable(exc: BaseException, *, model: str) -> LLMUnavailable:
    """Map any failure of a model call to ``LLMUnavailable``, logging what an operator needs."""
    if isinstance(exc, LLMUnavailable):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return _status_unavailable(exc, model=model)
    cause = transport_cause(exc)
    if cause == TIMEOUT:
        _log.warning("llm_timeout", model=model, cause=cause, error=_root_name(exc))
        return LLMUnavailable(_CAUSE_DETAILS[cause], cause=cause)
    if cause is not None:
        _log.warning("llm_connection_error", model=model, cause=cause, error=_root_name(exc))
        return LLMUnavailable(_CAUSE_DETAILS[cause], cause=cause)
    if isinstance(exc, _Empty):
        _log.warning("llm_empty_completion", model=model, reason=str(exc), cause="empty_completion")
        return LLMUnavailable("The language model returned no text.", cause="empty_completion")
    if isinstance(exc, _ModelError | openai.APIError):
        # e.g. an error event inside a stream: no status code, the server gave up mid-answer.
        _log.warning(
            "llm_api_error",
            model=model,
            error_code=_safe_identifier(exc.code),
            error_type=_safe_identifier(exc.type),
            cause="model_error",
        )
        return LLMUnavailable("The language model failed to answer.", cause="model_error")
    # A body that is not JSON, a wrong shape, or anything else the SDK or we tripped over.
    _log.warning(
        "llm_malformed_response", model=model, error=type(exc).__name__, cause="malformed_response"
    )
    return LLMUnavailable(
        "The language model returned a malformed response.", cause="malformed_response"
    )


def _status_unavailable(exc: openai.APIStatusError, *, model: str) -> LLMUnavailable:
    status = exc.status_code
    retry_after = _retry_after_s(exc.response)
    fields: dict[str, Any] = {
        "model": model,
        "status": status,
        "error_code": _safe_identifier(exc.code),
        "error_type": _safe_identifier(exc.type),
        "param": _safe_param(exc.param),
        "cause": "http_status",
        # The model's own id for the call, beside (never instead of) our request_id.
        "llm_request_id": _safe_request_id(exc.request_id),
    }
    if status == 429:
        _log.warning("llm_rate_limited", retry_after_s=retry_after, **fields)
        return LLMUnavailable(
            "The language model is rate limiting this service (HTTP 429).",
            retry_after_s=retry_after or _DEFAULT_RETRY_AFTER_S,
            cause="http_status",
        )
    if status >= 500:
        _log.warning("llm_server_error", **fields)
        return LLMUnavailable(
            f"The language model failed to answer (HTTP {status}).",
            retry_after_s=retry_after or _DEFAULT_RETRY_AFTER_S,
            cause="http_status",
        )
    _log.error("llm_configuration_error", **fields)
    return LLMUnavailable(
        f"The language model refused the service's request (HTTP {status}).",
        retry_after_s=retry_after or _CONFIG_RETRY_AFTER_S,
        cause="http_status",
    )


def _root_name(exc: BaseException) -> str:
    """The innermost exception's type, for the log: e.g. ConnectionRefusedError, gaierror."""
    for _ in range(16):  # bounded: a chain can loop
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return type(exc).__name__


if TYPE_CHECKING:
    # Static proof that OpenAIDrafter satisfies the Drafter protocol.
    _drafter_check: type[Drafter] = OpenAIDrafter

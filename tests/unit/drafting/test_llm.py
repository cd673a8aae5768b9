"""The OpenAI drafter against a mocked OpenAI-compatible HTTP API (respx).

The SDK's own request is asserted on (``route.calls.last.request``), so these tests catch what
actually goes over the wire, not what we think we passed to the SDK.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
import respx
from structlog.testing import capture_logs

from reply_assist.drafting.base import (
    ANSWERING,
    CompanyFacts,
    Completion,
    Drafter,
    DraftRequest,
    ReviewFacts,
    StreamItem,
    Usage,
)
from reply_assist.drafting.llm import OpenAIDrafter, _unavailable, make_openai_client
from reply_assist.drafting.output_limits import OutputLimits
from reply_assist.drafting.prompting import (
    FENCE_END,
    FENCE_START,
    PromptLibrary,
    default_prompts_dir,
)
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.errors import LLMUnavailable

BASE_URL = "http://llm.test/v1"
API_KEY = "sk-test-secret-key"
MODEL = "gpt-4o-mini"
SERVED_MODEL = "gpt-4o-mini-2024-07-18"
REPLY = "Hej Erik, tack för att du tog dig tid att skriva.\n\nAnna, Acme kundtjänst"

COMPANY = CompanyFacts(
    name="Acme AB", brand_voice="warm, informal, first names", signature="Anna, Acme kundtjänst"
)
REVIEW = ReviewFacts(
    stars=2,
    title="Slow delivery",
    text="The parcel took three weeks and nobody answered my emails.",
    language="sv",
    author_name="Erik",
)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> TokenCounter:
    cache_dir = tmp_path_factory.mktemp("tiktoken")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
        return TokenCounter.for_model(MODEL, cache_dir)


@pytest.fixture(scope="module")
def request_(counter: TokenCounter) -> DraftRequest:
    library = PromptLibrary.load(default_prompts_dir(), "reply-v1")
    messages = library.render(COMPANY, REVIEW, "mention the new courier", counter, 1500)
    return DraftRequest(
        company=COMPANY,
        review=REVIEW,
        messages=messages,
        max_tokens=300,
        guidance="mention the new courier",
        variant=1,
    )


@pytest.fixture
def llm() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


async def _client(max_retries: int = 0) -> openai.AsyncOpenAI:
    return make_openai_client(
        api_key=API_KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        max_retries=max_retries,
        max_connections=4,
    )


@pytest.fixture
async def drafter(counter: TokenCounter) -> AsyncIterator[OpenAIDrafter]:
    drafter = OpenAIDrafter(await _client(), MODEL, temperature=0.4, counter=counter)
    yield drafter
    await drafter.aclose()


def completion_body(
    content: Any = REPLY, *, usage: bool = True, model: str | None = SERVED_MODEL
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_763_900_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 700, "completion_tokens": 42, "total_tokens": 742}
    return body


def chunk(
    content: str | None = None, *, usage: dict[str, int] | None = None, finish: str | None = None
) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_763_900_000,
        "model": SERVED_MODEL,
        "choices": []
        if usage
        else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return f"data: {json.dumps(body)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def sse(*events: bytes) -> httpx.Response:
    return httpx.Response(
        200, content=b"".join(events), headers={"content-type": "text/event-stream"}
    )


def sent_json(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


async def collect(stream: AsyncIterator[StreamItem]) -> tuple[list[str], list[Completion]]:
    """The deltas and completions of a stream, after its one ANSWERING."""
    assert await anext(stream) is ANSWERING
    deltas: list[str] = []
    completions: list[Completion] = []
    async for item in stream:
        if isinstance(item, Completion):
            completions.append(item)
        else:
            assert isinstance(item, str)
            deltas.append(item)
    return deltas, completions


# --- the factory and the protocol ----------------------------------------------------------


async def test_factory_sets_timeouts_retries_and_placeholder_key(llm: respx.MockRouter) -> None:
    route = llm.get("/models").mock(return_value=httpx.Response(200, json={"data": []}))
    client = make_openai_client(
        api_key=None, base_url=BASE_URL, timeout_s=20.0, max_retries=2, max_connections=8
    )
    try:
        assert client.max_retries == 2
        assert isinstance(client.timeout, openai.Timeout)
        assert client.timeout.read == 20.0
        assert client.timeout.connect == 5.0
        await client.models.list()
        assert route.calls.last.request.headers["authorization"] == "Bearer unused"
    finally:
        await client.close()


async def test_drafter_is_a_drafter(drafter: OpenAIDrafter) -> None:
    as_protocol: Drafter = drafter
    assert as_protocol.kind == "openai"
    assert drafter.model == MODEL


async def test_aclose_closes_the_client(counter: TokenCounter) -> None:
    client = await _client()
    await OpenAIDrafter(client, MODEL).aclose()
    assert client.is_closed()


# --- complete ------------------------------------------------------------------------------


async def test_complete_sends_system_and_user_messages(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    route = llm.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion_body(f"\n  {REPLY}  \n"))
    )

    completion = await drafter.complete(request_)

    assert completion == Completion(
        text=REPLY, model=SERVED_MODEL, usage=Usage(prompt_tokens=700, completion_tokens=42)
    )
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("AsyncOpenAI/Python ")
    # The SDK's machine description (OS, architecture, runtime) is not sent: no server uses it.
    assert not [
        name
        for name in request.headers
        if name.startswith("x-stainless-")
        and (name not in ("x-stainless-retry-count", "x-stainless-read-timeout"))
    ]
    body = sent_json(route)
    assert body["model"] == MODEL
    assert body["max_tokens"] == 300
    assert body["temperature"] == 0.4
    assert "stream" not in body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    system, user = (m["content"] for m in body["messages"])
    assert system == request_.messages.system
    assert user == request_.messages.user
    # The review is only in the user part, inside the fence.
    assert REVIEW.text not in system
    fence = user.split(FENCE_START, 1)[1].split(FENCE_END, 1)[0]
    assert REVIEW.text in fence
    assert "Slow delivery" in fence
    assert "Erik" in fence
    # Settings, language and rating are in the system part.
    assert "warm, informal, first names" in system
    assert "Anna, Acme kundtjänst" in system
    assert "sv (Swedish)" in system
    assert "2 out of 5 stars" in system
    assert "mention the new courier" in system


async def test_complete_without_usage_counts_tokens(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, counter: TokenCounter
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion_body(usage=False, model=None))
    )

    completion = await drafter.complete(request_)

    assert completion.model == MODEL  # the server did not say; the configured name stands in
    assert completion.usage == Usage(
        prompt_tokens=request_.messages.prompt_tokens, completion_tokens=counter.count(REPLY)
    )


async def test_complete_without_usage_or_counter_estimates(
    llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion_body(usage=False))
    )
    drafter = OpenAIDrafter(await _client(), MODEL)
    try:
        completion = await drafter.complete(request_)
    finally:
        await drafter.aclose()
    assert completion.usage.completion_tokens == math.ceil(len(REPLY) / 4)


async def test_sdk_retries_when_configured(
    llm: respx.MockRouter, request_: DraftRequest, counter: TokenCounter
) -> None:
    route = llm.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(
                500, json={"error": {"message": "boom"}}, headers={"retry-after-ms": "1"}
            ),
            httpx.Response(200, json=completion_body()),
        ]
    )
    drafter = OpenAIDrafter(await _client(max_retries=1), MODEL, counter=counter)
    try:
        completion = await drafter.complete(request_)
    finally:
        await drafter.aclose()
    assert completion.text == REPLY
    assert route.call_count == 2


def _http_date(seconds_from_now: int) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("response", "retry_after_s"),
    [
        (httpx.Response(500, json={"error": {"message": "boom"}}), 5),
        (httpx.Response(502, text="<html>bad gateway</html>"), 5),
        (httpx.Response(503, json={"error": {}}, headers={"retry-after": "12"}), 12),
        (httpx.Response(429, json={"error": {}}, headers={"retry-after": "7"}), 7),
        (httpx.Response(429, json={"error": {}}, headers={"retry-after-ms": "2500"}), 3),
        (httpx.Response(429, json={"error": {}}, headers={"retry-after": "inf"}), 300),
        (httpx.Response(429, json={"error": {}}, headers={"retry-after": "soon"}), 5),
        (httpx.Response(429, json={"error": {}}), 5),
        # 4xx other than 429 are the service's configuration problems: still 503 for the client.
        (httpx.Response(400, json={"error": {"code": "context_length_exceeded"}}), 30),
        (httpx.Response(401, json={"error": {"code": "invalid_api_key"}}), 30),
        (httpx.Response(404, json={"error": {"code": "model_not_found"}}), 30),
    ],
)
async def test_status_errors_map_to_llm_unavailable(
    drafter: OpenAIDrafter,
    llm: respx.MockRouter,
    request_: DraftRequest,
    response: httpx.Response,
    retry_after_s: int,
) -> None:
    llm.post("/chat/completions").mock(return_value=response)

    with pytest.raises(LLMUnavailable) as caught:
        await drafter.complete(request_)

    assert caught.value.retry_after_s == retry_after_s
    assert caught.value.headers["Retry-After"] == str(retry_after_s)
    assert caught.value.code == "llm_unavailable"
    assert caught.value.status == 503


async def test_retry_after_as_http_date(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(429, json={}, headers={"retry-after": _http_date(40)})
    )
    with pytest.raises(LLMUnavailable) as caught:
        await drafter.complete(request_)
    assert 38 <= caught.value.retry_after_s <= 41


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow model"),
        httpx.ConnectTimeout("no answer"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed"),
    ],
)
async def test_transport_errors_map_to_llm_unavailable(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, error: Exception
) -> None:
    llm.post("/chat/completions").mock(side_effect=error)
    with pytest.raises(LLMUnavailable) as caught:
        await drafter.complete(request_)
    expected = "in time" if isinstance(error, httpx.TimeoutException) else "could not be reached"
    assert expected in caught.value.detail


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (httpx.Response(200, json=completion_body("")), "no text"),
        (httpx.Response(200, json=completion_body("  \n ")), "no text"),
        (httpx.Response(200, json=completion_body(None)), "no text"),
        (httpx.Response(200, json={**completion_body(), "choices": []}), "no text"),
        (
            httpx.Response(
                200, content=b'{"choices": [', headers={"content-type": "application/json"}
            ),
            "malformed",
        ),
        (httpx.Response(200, json={"foo": 1}), "no text"),
        # A field of the wrong type is a malformed answer, not an empty one.
        (httpx.Response(200, json={"choices": "x"}), "malformed"),
        (httpx.Response(200, json={"choices": [{"message": "x"}]}), "malformed"),
        (httpx.Response(200, json=[1, 2]), "malformed"),
        (httpx.Response(200, text="hello", headers={"content-type": "text/plain"}), "malformed"),
    ],
)
async def test_empty_or_malformed_completions_map_to_llm_unavailable(
    drafter: OpenAIDrafter,
    llm: respx.MockRouter,
    request_: DraftRequest,
    response: httpx.Response,
    detail: str,
) -> None:
    llm.post("/chat/completions").mock(return_value=response)
    with pytest.raises(LLMUnavailable) as caught:
        await drafter.complete(request_)
    assert detail in caught.value.detail


async def test_configuration_errors_log_at_error_level_without_secrets(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(
            401,
            json={
                "error": {
                    "message": f"Incorrect API key {API_KEY}; prompt was {REVIEW.text}",
                    "code": "invalid_api_key",
                    "type": "invalid_request_error",
                }
            },
        )
    )
    with capture_logs() as logs, pytest.raises(LLMUnavailable):
        await drafter.complete(request_)

    assert [(e["event"], e["log_level"]) for e in logs] == [("llm_configuration_error", "error")]
    assert logs[0]["status"] == 401
    assert logs[0]["error_code"] == "invalid_api_key"
    logged = repr(logs)
    assert API_KEY not in logged
    assert "parcel" not in logged


async def test_server_errors_log_a_warning(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(return_value=httpx.Response(500, json={}))
    with capture_logs() as logs, pytest.raises(LLMUnavailable):
        await drafter.complete(request_)
    assert [(e["event"], e["log_level"]) for e in logs] == [("llm_server_error", "warning")]


@pytest.mark.parametrize(
    "error",
    [
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ReadError("connection reset"),
    ],
)
def test_raw_transport_errors_map_like_wrapped_ones(error: Exception) -> None:
    mapped = _unavailable(error, model=MODEL)
    assert isinstance(mapped, LLMUnavailable)
    assert "could not be reached" in mapped.detail


def test_raw_httpx2_errors_map_too() -> None:
    httpx2 = pytest.importorskip("httpx2")
    assert "in time" in _unavailable(httpx2.ReadTimeout("slow"), model=MODEL).detail
    assert "could not be reached" in _unavailable(httpx2.ReadError("reset"), model=MODEL).detail


# --- stream --------------------------------------------------------------------------------


async def test_stream_yields_deltas_then_the_completion(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    route = llm.post("/chat/completions").mock(
        return_value=sse(
            chunk(""),
            chunk("\nHej Erik, "),
            chunk(None),
            chunk("tack för "),
            chunk("ditt omdöme."),
            chunk(usage={"prompt_tokens": 650, "completion_tokens": 9}),
            DONE,
        )
    )

    deltas, completions = await collect(drafter.stream(request_))

    assert deltas == ["Hej Erik, ", "tack för ", "ditt omdöme."]
    assert completions == [
        Completion(
            text="Hej Erik, tack för ditt omdöme.",
            model=SERVED_MODEL,
            usage=Usage(prompt_tokens=650, completion_tokens=9),
        )
    ]
    body = sent_json(route)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 300
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


async def test_stream_without_usage_counts_tokens(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, counter: TokenCounter
) -> None:
    llm.post("/chat/completions").mock(
        return_value=sse(chunk("Tack, "), chunk("Erik!", finish="stop"), DONE)
    )

    _, completions = await collect(drafter.stream(request_))

    assert completions[0].usage == Usage(
        prompt_tokens=request_.messages.prompt_tokens,
        completion_tokens=counter.count("Tack, Erik!"),
    )


class BrokenStream(httpx.AsyncByteStream):
    """Sends some events, then the connection drops."""

    def __init__(self, *events: bytes) -> None:
        self.events = events
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            yield event
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")

    async def aclose(self) -> None:
        self.closed = True


async def test_stream_that_breaks_midway_raises_llm_unavailable(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    body = BrokenStream(chunk("Hej "), chunk("Erik"))
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})
    )
    deltas: list[str] = []

    async def consume() -> None:
        stream = drafter.stream(request_)
        assert await anext(stream) is ANSWERING  # the model answered 200 before it broke
        async for item in stream:
            assert isinstance(item, str)
            deltas.append(item)

    with pytest.raises(LLMUnavailable) as caught:
        await consume()

    assert deltas == ["Hej ", "Erik"]
    assert "could not be reached" in caught.value.detail
    assert body.closed


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (httpx.Response(500, json={"error": {}}), "failed to answer"),
        (httpx.Response(429, json={"error": {}}, headers={"retry-after": "9"}), "rate limiting"),
        (sse(chunk(""), DONE), "no text"),
        (sse(DONE), "no text"),
        (sse(chunk("Hej"), b"data: {not json\n\n", DONE), "malformed"),
        (sse(chunk("Hej"), b'data: {"error": {"message": "overloaded"}}\n\n'), "failed to answer"),
    ],
)
async def test_stream_failures_raise_llm_unavailable(
    drafter: OpenAIDrafter,
    llm: respx.MockRouter,
    request_: DraftRequest,
    response: httpx.Response,
    detail: str,
) -> None:
    llm.post("/chat/completions").mock(return_value=response)
    with pytest.raises(LLMUnavailable) as caught:
        await collect(drafter.stream(request_))
    assert detail in caught.value.detail


async def test_stream_timeout_raises_llm_unavailable(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(LLMUnavailable, match="in time"):
        await collect(drafter.stream(request_))


async def test_abandoned_stream_closes_the_response(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    body = BrokenStream(chunk("Hej "), chunk("Erik"))
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})
    )
    stream = drafter.stream(request_)
    assert await anext(stream) is ANSWERING
    assert await anext(stream) == "Hej "
    await stream.aclose()  # type: ignore[attr-defined]  # an async generator
    assert body.closed


# --- probe ---------------------------------------------------------------------------------


async def test_probe_ok(drafter: OpenAIDrafter, llm: respx.MockRouter) -> None:
    llm.get("/models").mock(
        return_value=httpx.Response(200, json={"object": "list", "data": [{"id": MODEL}]})
    )
    assert await drafter.probe() is None


@pytest.mark.parametrize(
    ("mock", "reason"),
    [
        ({"return_value": httpx.Response(401, json={"error": {}})}, "HTTP 401"),
        ({"return_value": httpx.Response(503, json={"error": {}})}, "HTTP 503"),
        ({"side_effect": httpx.ConnectError("refused")}, "unreachable"),
        ({"side_effect": httpx.ReadTimeout("slow")}, "timed out"),
        ({"return_value": httpx.Response(200, content=b"{")}, "probe failed"),
    ],
)
async def test_probe_reports_a_reason_without_retrying(
    llm: respx.MockRouter, counter: TokenCounter, mock: dict[str, Any], reason: str
) -> None:
    route = llm.get("/models").mock(**mock)
    drafter = OpenAIDrafter(await _client(max_retries=2), MODEL, counter=counter)
    try:
        result = await drafter.probe()
    finally:
        await drafter.aclose()
    assert result is not None
    assert reason in result
    assert route.call_count == 1  # with_options(max_retries=0): a probe never waits on retries


# --- what a model may send: bounded, valid text, logged safely -----------------------------


async def test_a_completion_past_the_bound_is_cut_and_the_rest_never_read(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    limits = OutputLimits.for_tokens(request_.max_tokens)
    pieces_read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pieces_read
        whole = json.dumps(completion_body("Tack "))
        yield whole[: whole.index('"Tack ') + len('"Tack ')].encode()  # the text goes on:
        for _ in range(10_000):  # 100 MB, if anyone read it all
            pieces_read += 1
            yield b"tack " * 2000

    llm.post("/chat/completions").mock(return_value=httpx.Response(200, content=body()))

    completion = await drafter.complete(request_)

    assert completion.over_limit and completion.cut_off
    assert limits.text_chars // 2 < len(completion.text) <= limits.text_chars
    assert completion.text.endswith("tack")
    assert completion.model == SERVED_MODEL
    assert pieces_read <= limits.body_bytes // 10_000 + 1


async def test_a_completion_whose_text_alone_passes_the_bound_is_cut(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    limits = OutputLimits.for_tokens(request_.max_tokens)
    text = "Tack " * (limits.text_chars // 4)  # in the body's bound, past the text's
    llm.post("/chat/completions").mock(return_value=httpx.Response(200, json=completion_body(text)))
    completion = await drafter.complete(request_)
    assert (completion.over_limit, completion.cut_off) == (True, True)
    assert len(completion.text) <= limits.text_chars
    assert completion.text.endswith("Tack")


async def test_a_stream_past_the_text_bound_is_cut(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    limits = OutputLimits.for_tokens(request_.max_tokens)
    many = [chunk("Tack så mycket, Erik. ") for _ in range(limits.text_chars // 10)]
    llm.post("/chat/completions").mock(return_value=sse(*many, chunk(finish="stop"), DONE))

    deltas, completions = await collect(drafter.stream(request_))

    (completion,) = completions
    assert (completion.over_limit, completion.cut_off) == (True, True)
    assert completion.text == "".join(deltas).strip()
    assert limits.text_chars - 30 < len(completion.text) <= limits.text_chars


async def test_a_stream_past_the_byte_bound_keeps_its_text(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    limits = OutputLimits.for_tokens(request_.max_tokens)
    padding = [chunk("") for _ in range(limits.stream_bytes // 150)]  # chunks without text
    llm.post("/chat/completions").mock(return_value=sse(chunk("Tack, Erik!"), *padding, DONE))

    deltas, completions = await collect(drafter.stream(request_))

    assert deltas == ["Tack, Erik!"]
    assert completions[0].text == "Tack, Erik!"
    assert (completions[0].over_limit, completions[0].cut_off) == (True, True)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_compressed_answer_is_refused(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, stream: bool
) -> None:
    route = llm.post("/chat/completions").mock(
        return_value=httpx.Response(
            200, content=gzip.compress(b"{}"), headers={"content-encoding": "gzip"}
        )
    )
    call = collect(drafter.stream(request_)) if stream else drafter.complete(request_)
    with pytest.raises(LLMUnavailable) as caught:
        await call
    assert caught.value.cause == "malformed_response"
    assert route.calls.last.request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": [{"message": {"content": "Tack \\ud800 Erik"}}]}',
        b'{"choices": [{"message": {"content": "Tack \\udc00"}}]}',
        b'{"choices": [{"message": {"content": "Tack \xff Erik"}}]}',
    ],
)
async def test_text_that_is_not_text_is_a_malformed_response(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, body: bytes
) -> None:
    llm.post("/chat/completions").mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(LLMUnavailable) as caught:
        await drafter.complete(request_)
    assert caught.value.cause == "malformed_response"


async def test_a_lone_surrogate_in_a_stream_is_a_malformed_response(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(
        return_value=sse(chunk("Tack "), chunk("\ud800"), chunk(finish="stop"), DONE)
    )
    with pytest.raises(LLMUnavailable) as caught:
        await collect(drafter.stream(request_))
    assert caught.value.cause == "malformed_response"


ECHOED = f"prompt: {REVIEW.text}"


@pytest.mark.parametrize("status", [400, 429, 500])
async def test_a_models_error_fields_are_logged_only_when_known_safe(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest, status: int
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(
            status,
            json={"error": {"message": ECHOED, "param": ECHOED, "code": ECHOED, "type": ECHOED}},
            headers={"x-request-id": ECHOED},
        )
    )
    with capture_logs() as logs, pytest.raises(LLMUnavailable):
        await drafter.complete(request_)
    (line,) = logs
    assert (line["error_code"], line["error_type"], line["param"]) == ("unrecognised",) * 3
    assert line["llm_request_id"] is None
    assert "parcel" not in repr(logs)


async def test_a_models_known_error_fields_are_logged(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    llm.post("/chat/completions").mock(
        return_value=httpx.Response(
            400,
            json={
                "error": {
                    "message": ECHOED,
                    "param": "max_tokens",
                    "code": "unsupported_parameter",
                    "type": "invalid_request_error",
                }
            },
            headers={"x-request-id": "req_0123abc"},
        )
    )
    with capture_logs() as logs, pytest.raises(LLMUnavailable):
        await drafter.complete(request_)
    (line,) = logs
    assert line["error_code"] == "unsupported_parameter"
    assert line["error_type"] == "invalid_request_error"
    assert line["param"] == "max_tokens"
    assert line["llm_request_id"] == "req_0123abc"


async def test_an_error_event_in_a_stream_logs_only_known_safe_fields(
    drafter: OpenAIDrafter, llm: respx.MockRouter, request_: DraftRequest
) -> None:
    error = {"error": {"message": ECHOED, "code": ECHOED, "type": "server_error", "param": ECHOED}}
    llm.post("/chat/completions").mock(
        return_value=sse(chunk("Hej"), f"data: {json.dumps(error)}\n\n".encode())
    )
    with capture_logs() as logs, pytest.raises(LLMUnavailable) as caught:
        await collect(drafter.stream(request_))
    assert caught.value.cause == "model_error"
    (line,) = logs
    assert (line["error_code"], line["error_type"]) == ("unrecognised", "server_error")
    assert "parcel" not in repr(logs)

"""The floor: the least a generate call can do, to measure the service's overhead against.

One Litestar handler, ``POST /floor/{review_id}``: one Redis script call (a check-and-increment
with a limit of 10, like the service's ``load_and_reserve.lua``) and one chat completion through
the openai SDK (``AsyncOpenAI`` over an ``httpx.AsyncClient``, or aiohttp with ``FLOOR_HTTP``) to
the same model endpoint, returning JSON (201), or 422 when the review's 10 are used. With
``Accept: text/event-stream`` it streams the completion as ``delta`` events, then a ``draft``
event, as the service does.

Configured from the environment (the bench sets it):

    FLOOR_REDIS_URL            redis://127.0.0.1:6379/0
    FLOOR_PREFIX               key prefix (the bench deletes its keys)
    FLOOR_REDIS_CONNECTIONS    size of the blocking Redis pool (as the service's, 64)
    FLOOR_LLM_CONNECTIONS      size of the httpx pool to the model (as the service's)
    OPENAI_BASE_URL            the stub
    FLOOR_HTTP                 the SDK's transport: httpx (default), httpx2, aiohttp (the service's)
    FLOOR_CLUSTER              "1": Redis Cluster

Run: ``uvicorn --factory --app-dir bench floor_app:create_app --port N``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import openai
import redis.asyncio as aioredis
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage

RESERVE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return {0, used}
end
redis.call('INCR', KEYS[1])
return {1, used + 1}
"""

LIMIT = 10

# About the size of the service's rendered prompt, so both send similar requests to the model.
SYSTEM = (
    "You write a short, public reply on behalf of Acme AB to a customer's review. Answer "
    "appropriately and professionally and never argue with the customer. Keep it short. For a "
    "negative review, apologise in a personal, empathetic way without going into detail. Thank "
    "the customer and end on a positive note. Brand voice: warm, informal, first names. "
    "Write in en (English). Sign with: Anna, Acme kundtjänst. "
) * 6
USER = (
    "Stars: 2\nTitle: Slow delivery\nReviewer: Erik\n<<<REVIEW\nThe parcel took three weeks "
    "and nobody answered my emails.\nREVIEW>>>"
)


class Draft(msgspec.Struct):
    review_id: str
    text: str
    generation: int
    model: str
    usage: dict[str, int]


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    env = os.environ
    redis_url = env.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis_connections = int(env.get("FLOOR_REDIS_CONNECTIONS", "64"))
    llm_connections = int(env.get("FLOOR_LLM_CONNECTIONS", "200"))
    client: Any
    if env.get("FLOOR_CLUSTER") == "1":
        from redis.asyncio.cluster import RedisCluster

        client = RedisCluster.from_url(
            redis_url, decode_responses=True, max_connections=redis_connections
        )
    else:
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=redis_connections,
            timeout=2.0,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            decode_responses=True,
        )
        client = aioredis.Redis(connection_pool=pool)
    llm = openai.AsyncOpenAI(
        api_key="unused",
        base_url=env.get("OPENAI_BASE_URL"),
        timeout=openai.Timeout(20.0, connect=5.0),
        max_retries=0,
        http_client=_http_client(env.get("FLOOR_HTTP", "httpx"), llm_connections),
    )
    app.state.redis = client
    app.state.reserve = client.register_script(RESERVE)
    app.state.llm = llm
    app.state.prefix = env.get("FLOOR_PREFIX", "floor")
    try:
        yield
    finally:
        await llm.close()
        await client.aclose()


def _http_client(kind: str, connections: int) -> Any:
    """The SDK's transport: ``httpx`` (as the service makes it), ``httpx2`` (the SDK's own) or
    ``aiohttp`` (``openai.DefaultAioHttpClient``, needs aiohttp installed)."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(20.0, connect=5.0))
    import httpx2

    limits2 = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout2 = httpx2.Timeout(20.0, connect=5.0)
    if kind == "httpx2":
        return openai.DefaultAsyncHttpxClient(limits=limits2, timeout=timeout2)
    if kind == "aiohttp":
        return openai.DefaultAioHttpClient(limits=limits2, timeout=timeout2)
    raise ValueError(f"FLOOR_HTTP={kind!r}: expected httpx, httpx2 or aiohttp")


def _messages() -> list[Any]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]


@post("/floor/{review_id:str}", status_code=201)
async def generate(request: Request[Any, Any, Any], state: State, review_id: str) -> Any:
    ok, used = await state.reserve(keys=[f"{state.prefix}:{{f:{review_id}}}/n"], args=[LIMIT])
    if not int(ok):
        return Response({"code": "generation_limit_reached"}, status_code=422)
    llm: openai.AsyncOpenAI = state.llm
    if "text/event-stream" in request.headers.get("accept", ""):
        return ServerSentEvent(_stream(llm, review_id, int(used)), status_code=200)
    completion = await llm.chat.completions.create(
        model="gpt-4.1-mini", messages=_messages(), max_tokens=400, temperature=0.7
    )
    usage = completion.usage
    return Draft(
        review_id=review_id,
        text=completion.choices[0].message.content or "",
        generation=int(used),
        model=completion.model,
        usage={
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
        },
    )


async def _stream(
    llm: openai.AsyncOpenAI, review_id: str, generation: int
) -> AsyncIterator[ServerSentEventMessage]:
    chunks = await llm.chat.completions.create(
        model="gpt-4.1-mini",
        messages=_messages(),
        max_tokens=400,
        temperature=0.7,
        stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    model = ""
    async with chunks:
        async for chunk in chunks:
            model = chunk.model or model
            if chunk.choices and chunk.choices[0].delta.content:
                text = chunk.choices[0].delta.content
                parts.append(text)
                yield ServerSentEventMessage(
                    event="delta", data=msgspec.json.encode({"text": text}).decode()
                )
    draft = Draft(review_id, "".join(parts), generation, model, {})
    yield ServerSentEventMessage(event="draft", data=msgspec.json.encode(draft).decode())


def _error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Any failure: 500 with the exception's class, so a bench run can tell what gave way."""
    return Response({"error": type(exc).__name__, "detail": str(exc)[:200]}, status_code=500)


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar(
        route_handlers=[generate, healthz],
        lifespan=[_lifespan],
        exception_handlers={Exception: _error},
        debug=False,
    )

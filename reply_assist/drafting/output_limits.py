"""How much of a model's answer is read: a bound tied to the draft's token limit.

A model is asked for at most ``max_tokens`` (``REPLY_ASSIST_MAX_COMPLETION_TOKENS``), but nothing
makes a server keep to it: a broken or hostile one can answer 20 MB, which read whole would be
held in memory several times over, stored as a draft and run through every check on the event
loop. So the drafter reads no more than these bounds, keeps the text that fits and marks the
draft ``cut_off``:

- **text**: 16 characters per token (6,400 for 400 tokens). A token is about 4 characters of
  prose in the languages served, so a model that keeps to its limit never comes near it; it is
  also the most any check ever sees.
- **a completion's body**: 6 bytes per character of text (the longest a character gets in JSON,
  ``\\uXXXX``) plus 64 KiB for the rest of the answer, about 100 KB for 400 tokens.
- **a stream**: that, plus 1 KiB per token for each chunk's envelope (a chunk carries about
  200-300 bytes besides its text), about 500 KB for 400 tokens.

What is cut is cut at a word boundary when one is near (else between two characters), so a
draft never ends inside a word or a character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import msgspec

__all__ = ["CHARS_PER_TOKEN", "OutputLimits", "cut_text", "text_of_partial_completion"]

CHARS_PER_TOKEN: Final = 16
_BYTES_PER_CHAR: Final = 6
_ENVELOPE_BYTES: Final = 64 * 1024
_CHUNK_BYTES_PER_TOKEN: Final = 1024


@dataclass(frozen=True, slots=True)
class OutputLimits:
    text_chars: int  # the most text a draft keeps
    body_bytes: int  # the most of a completion's body that is read
    stream_bytes: int  # the most of a stream that is read

    @classmethod
    def for_tokens(cls, max_tokens: int) -> OutputLimits:
        text = max(1, max_tokens) * CHARS_PER_TOKEN
        body = text * _BYTES_PER_CHAR + _ENVELOPE_BYTES
        return cls(
            text_chars=text,
            body_bytes=body,
            stream_bytes=body + max(1, max_tokens) * _CHUNK_BYTES_PER_TOKEN,
        )


# A cut character must not leave its combining marks (or a joiner) to open nothing.
_ATTACHED: Final = frozenset({"Mn", "Mc", "Me", "Cf"})


def cut_text(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters; else its start, cut after the last word
    that fits (when that keeps at least half of ``limit``), else between two characters."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not (text[limit].isspace() or head[-1:].isspace()):
        words = head.rsplit(maxsplit=1)  # C speed, whatever the length
        if len(words) == 2 and len(words[0]) >= limit // 2:
            return words[0].rstrip()
        # No word boundary near: between characters, never between one and its marks.
        end = limit
        while end > 0 and unicodedata.category(text[end]) in _ATTACHED:
            end -= 1
        head = text[:end]
    return head.rstrip()


_CONTENT_KEY: Final = re.compile(rb'"content"\s*:\s*"')
_MODEL: Final = re.compile(rb'"model"\s*:\s*"([A-Za-z0-9._:/@+-]{1,200})"')
_STRING_BODY: Final = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*')
_LONGEST_CUT_ESCAPE: Final = 12  # "\\ud83d\\ude0" cut before its last digit: 11 bytes


def text_of_partial_completion(body: bytes) -> tuple[str | None, str | None]:
    """The message text and the model name found in the first bytes of a chat completion that
    was too large to read whole (``None`` for what is not there).

    The body is cut, so it is not JSON: the text is the first ``"content": "…`` string, up to
    the cut, without a half escape or a half character at its end. It is the model's own answer
    either way (whichever of its strings this is, it is what the model sent), and it goes
    through the draft checks like any other. Raises ``ValueError`` when the string holds what
    JSON does not allow (a lone surrogate, bytes that are not UTF-8).
    """
    model_match = _MODEL.search(body)
    model = model_match.group(1).decode("ascii") if model_match else None
    key = _CONTENT_KEY.search(body)
    if key is None:
        return None, model
    string = _STRING_BODY.match(body, key.end())
    assert string is not None  # the pattern matches the empty string
    raw = string.group()
    closed = body[string.end() : string.end() + 1] == b'"'  # not stopped by the cut
    for trim in (0,) if closed else range(_LONGEST_CUT_ESCAPE + 1):
        try:
            return msgspec.json.decode(b'"' + raw[: len(raw) - trim] + b'"', type=str), model
        except msgspec.DecodeError:
            continue
    raise ValueError("the completion's text is not valid JSON text")

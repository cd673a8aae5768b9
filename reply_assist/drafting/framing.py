"""Making a draft begin and end as the company's replies do, whatever the drafter wrote.

A model is told the exact greeting, closing and sign-off, and a weak one ignores them: it
greets "Hello!", signs "Best regards, [Your Name]", or forgets to sign at all. The service then
frames the draft itself (``FrameWriter``):

* **the beginning**: the model's own greeting is taken off, when its text starts with one (a
  short first line, or a leading clause "Hi Maria," that starts with a greeting word or holds
  the reviewer's name), and the company's greeting line is put first;
* **the end**: the model's own closing and sign-off are taken off, when the text ends with them
  (the company's exact lines, or short lines that close or sign in any of the languages), and
  the company's closing and sign-off are put last, each on its own line.

So the frame is never doubled, and a text that already has it is returned unchanged.

**Streams.** The same writer runs on a stream's deltas, so the text stored is exactly the text
streamed: the greeting is sent first, as soon as the model accepts the call; the model's text
follows once its first line (or its first 100 characters) shows whether it greets; the last
``TAIL_WORDS`` words are held back, since only they can be the model's own closing or
sign-off, and sent with the company's closing and sign-off just before the ``draft`` event.
Everything the writer takes off lies within what it holds back, so what it has sent never
needs taking back.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Final

import msgspec

from reply_assist.drafting.base import Answering, Completion, DraftRequest, StreamItem
from reply_assist.drafting.style import Frame, frame_for

__all__ = [
    "HEAD_CHARS",
    "TAIL_WORDS",
    "FrameWriter",
    "apply_frame",
    "frame_completion",
    "framed_stream",
]

HEAD_CHARS: Final = 100  # a greeting is decided on the first line, or on this many characters
TAIL_WORDS: Final = 16  # the model's own closing and sign-off lie within the last words
_MAX_GREETING_WORDS: Final = 6
_MAX_GREETING_CHARS: Final = 60
_MAX_ENDING_LINE_WORDS: Final = 8
_MAX_SIGNATURE_WORDS: Final = 5


# First words of greetings in the service's languages (and English, which models fall back to).
def _word_set(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


_GREETING_WORDS: Final = _word_set(
    "hi hello hey dear greetings "
    "hej hejsa hei heisann hallo hallå moi terve hyvä hyvää tervehdys "
    "bästa kära käre kære kjære goddag "
    "beste geachte hoi goedemiddag goedendag goedemorgen liebe lieber sehr geehrte "
    "guten tag morgen grüß servus moin bonjour bonsoir salut cher chère chers madame monsieur "
    "hola buenos buenas estimado estimada estimados querido querida",
)
# Words that make a short final line a closing ("Best regards," "Vänliga hälsningar").
_CLOSING_WORDS: Final = _word_set(
    "regards wishes sincerely cheers faithfully best warmly respectfully yours "
    "hälsningar hälsning hälsar mvh "
    "hilsen hilsner hilsener venlig vennlig mvh "
    "groet groeten groetjes vriendelijke hartelijke "
    "grüße grüssen grüßen gruß gruss lg mfg freundlichen herzliche herzlichen viele liebe "
    "cordialement salutations amicalement sincèrement "
    "saludos saludo atentamente abrazo cordiales "
    "terveisin terkuin ystävällisin parhain kunnioittavasti",
)
# Words of a signature line that names a team rather than a person ("Customer service").
_SIGNATURE_WORDS: Final = _word_set(
    "team teamet teamen tiimi équipe equipo service support customer kundtjänst kundservice "
    "kundeservice kundenservice klantenservice asiakaspalvelu servicio atención",
)
# Closings that are phrases rather than a closing word ("Ha det fint!", "Have a nice day").
_CLOSING_PHRASES: Final = (
    "ha det",
    "ha en fin",
    "hav en",
    "have a",
    "all the best",
    "take care",
    "fijne dag",
    "prettige dag",
    "schönen tag",
    "bis bald",
    "à bientôt",
    "belle journée",
    "bonne journée",
    "hasta pronto",
    "un abrazo",
    "mukavaa päivän",
)
_FIRST_WORD: Final = re.compile(r"[^\W\d_]+")
_INLINE_GREETING: Final = re.compile(r"([^\n.!?,:;]{1,50}?)[,!:](?=\s|$)")
_TOKEN: Final = re.compile(r"\S+")
_SENTENCE_SPLIT: Final = re.compile(r"(?<=[.!?…])\s+")
_SENTENCE_END: Final = re.compile(r"[.!?…][\"'”’)]*$")
_SIGNATURE_MARKS: Final = " \t-–—/~*_"


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _FIRST_WORD.findall(text)]


def _is_greeting(clause: str, frame: Frame) -> bool:
    """A short clause that greets: its first word is a greeting word (the company's own
    included), or it holds the reviewer's name."""
    words = _words(clause)
    if not words or len(clause.split()) > _MAX_GREETING_WORDS:
        return False
    own = _words(frame.greeting or "")[:1]
    if words[0] in _GREETING_WORDS or words[0] in own:
        return True
    return frame.name is not None and frame.name.casefold() in words


def _greeting_end(text: str, frame: Frame, final: bool) -> tuple[int, bool] | None:
    """(how many characters at the start of ``text`` are the model's own greeting, whether the
    rest starts mid-sentence); None while that cannot be told yet.

    Decided on the first line when it ends within ``HEAD_CHARS``, else on the first
    ``HEAD_CHARS`` characters, so a stream decides exactly as a whole text does.
    """
    window = text[:HEAD_CHARS]
    newline = window.find("\n")
    if newline < 0 and len(text) < HEAD_CHARS and not final:
        return None
    if frame.greeting and window.startswith(frame.greeting):
        return len(frame.greeting), False
    line = window if newline < 0 else window[:newline]
    stripped = line.strip()
    if (
        newline >= 0
        and stripped
        and len(stripped) <= _MAX_GREETING_CHARS
        and not stripped.endswith((".", "?"))
        and _is_greeting(stripped, frame)
    ):
        return newline, False
    inline = _INLINE_GREETING.match(line)
    if inline is not None and _is_greeting(inline.group(1), frame):
        return inline.end(), True
    return 0, False


def _last_words_start(text: str, count: int) -> int:
    """Where the last ``count`` whitespace-separated words of ``text`` begin (0 if fewer)."""
    index = len(text)
    seen = 0
    while index > 0:
        while index > 0 and text[index - 1].isspace():
            index -= 1
        if index == 0:
            break
        while index > 0 and not text[index - 1].isspace():
            index -= 1
        seen += 1
        if seen == count:
            return index
    return 0


def _starts_line_or_sentence(text: str, index: int) -> bool:
    """Whether the word at ``index`` begins the text, a line or a sentence."""
    before = text[:index]
    stripped = before.rstrip()
    return not stripped or "\n" in before[len(stripped) :] or bool(_SENTENCE_END.search(stripped))


class FrameWriter:
    """Frames one draft, given all at once (``apply_frame``) or as a stream's deltas.

    ``opening()`` first, then ``feed()`` each piece, then ``finish()``; each returns the text to
    send next, and ``text`` is everything returned so far (the framed draft, at the end).
    """

    def __init__(self, frame: Frame) -> None:
        self._frame = frame
        ending = [line for line in (frame.closing, frame.sign_off) if line]
        self._ending = "\n".join(ending)
        lines = [line for part in ending for line in part.splitlines()]
        self._exact_endings = {_norm(line) for line in (*ending, *lines, " ".join(ending)) if line}
        self._tail_words = max(TAIL_WORDS, len(" ".join(ending).split()) + 4) if ending else 0
        self._head = ""  # the model's text while its greeting is undecided
        self._decided = frame.greeting is None
        self._capitalise = False
        self._started = False  # the body has had its first visible character
        self._body = ""
        self._sent = 0  # characters of the body already returned
        self._separator = ""  # goes before the next body text (after the greeting)
        self._out: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._out)

    def opening(self) -> str:
        if not self._frame.greeting:
            return ""
        self._separator = "\n\n"
        return self._emit(self._frame.greeting)

    def feed(self, delta: str) -> str:
        if not self._decided:
            self._head += delta
            decided = _greeting_end(self._head.lstrip(), self._frame, final=False)
            if decided is None:
                return ""
            delta = self._take_head(decided)
        self._append(delta)
        return self._release(final=False)

    def finish(self) -> str:
        out = ""
        if not self._decided:
            decided = _greeting_end(self._head.lstrip(), self._frame, final=True)
            assert decided is not None  # a final decision always decides
            self._append(self._take_head(decided))
        out = self._release(final=True)
        if self._ending:
            separator = "" if not (self._sent or self._separator) else "\n\n"
            self._separator = ""
            out += self._emit(separator + self._ending)
        return out

    def _take_head(self, decided: tuple[int, bool]) -> str:
        cut, mid_sentence = decided
        rest = self._head.lstrip()[cut:]
        self._head = ""
        self._decided = True
        # "Hi Maria, thank you…" loses its greeting: the rest starts a sentence of its own
        # (German writes on in lower case after "Guten Tag Maria,", so it stays as it is).
        self._capitalise = mid_sentence and self._frame.language != "de"
        return rest

    def _append(self, delta: str) -> None:
        if not self._started:
            delta = delta.lstrip()
            if not delta:
                return
            self._started = True
            if self._capitalise:
                delta = delta[0].upper() + delta[1:]
        self._body += delta

    def _release(self, *, final: bool) -> str:
        body = self._body
        if final:
            stop = self._ending_start(body) if self._ending else len(body)
        elif self._ending:
            stop = _last_words_start(body, self._tail_words)
        else:
            stop = len(body)
        # Never send trailing white space: the end may still be cut there.
        stop = len(body[:stop].rstrip())
        if stop <= self._sent:
            return ""
        chunk = body[self._sent : stop]
        self._sent = stop
        separator, self._separator = self._separator, ""
        return self._emit(separator + chunk)

    def _ending_start(self, body: str) -> int:
        """Where the model's own closing and sign-off begin (the body's end if it has none):
        the earliest start of a line or of a sentence, among the last words, from which
        everything is closing or signature."""
        end = len(body.rstrip())
        floor = _last_words_start(body[:end], self._tail_words)
        for word in _TOKEN.finditer(body, floor, end):
            start = word.start()
            if _starts_line_or_sentence(body, start) and self._is_ending(body[start:end]):
                return start
        return end

    def _is_ending(self, segment: str) -> bool:
        lines = [line.strip() for line in segment.splitlines() if line.strip()]
        return bool(lines) and all(self._is_ending_line(line) for line in lines)

    def _is_ending_line(self, line: str) -> bool:
        if _norm(line.strip(_SIGNATURE_MARKS)) in self._exact_endings:
            return True
        # "We are sorry. Kind regards, Anna": each sentence must close or sign.
        pieces = [p.strip() for p in _SENTENCE_SPLIT.split(line) if p.strip()]
        return bool(pieces) and all(self._is_ending_piece(piece) for piece in pieces)

    def _is_ending_piece(self, line: str) -> bool:
        normal = _norm(line.strip(_SIGNATURE_MARKS))
        if normal in self._exact_endings:
            return True
        if len(line.split()) > _MAX_ENDING_LINE_WORDS:
            return False
        words = _words(line)
        if not words:
            return True  # "--", "/" alone
        if any(word in _CLOSING_WORDS for word in words) or normal.startswith(_CLOSING_PHRASES):
            return True
        if len(line.split()) > _MAX_SIGNATURE_WORDS or any(ch in line for ch in ".?!:;"):
            return False
        # A signature: the company's or the signer's name ("The Acme team", "Anna"), a team
        # ("Customer service"), or a placeholder a model left ("[Your Name]").
        signs = self._frame.own_words | _SIGNATURE_WORDS
        if any(word in signs for word in words) or line.startswith("["):
            return True
        return len(words) <= 2 and all(w[:1].isupper() for w in _FIRST_WORD.findall(line))

    def _emit(self, text: str) -> str:
        self._out.append(text)
        return text


def apply_frame(text: str, frame: Frame | None) -> str:
    """``text`` beginning with the frame's greeting and ending with its closing and sign-off."""
    if frame is None:
        return text
    writer = FrameWriter(frame)
    writer.opening()
    writer.feed(text)
    writer.finish()
    return writer.text


def frame_completion(completion: Completion, request: DraftRequest) -> Completion:
    """The completion framed as the request's style asks (unchanged without one)."""
    frame = frame_for(request)
    if frame is None:
        return completion
    return msgspec.structs.replace(completion, text=apply_frame(completion.text, frame))


async def framed_stream(
    items: AsyncIterator[StreamItem], request: DraftRequest
) -> AsyncIterator[StreamItem]:
    """A drafter's stream, framed: the greeting first, the closing and sign-off before the
    completion, whose text is exactly what was streamed."""
    frame = frame_for(request)
    if frame is None:
        async for item in items:
            yield item
        return
    writer = FrameWriter(frame)
    async for item in items:
        if isinstance(item, Answering):
            yield item
            opening = writer.opening()
            if opening:
                yield opening
        elif isinstance(item, str):
            out = writer.feed(item)
            if out:
                yield out
        else:
            rest = writer.finish()
            if rest:
                yield rest
            yield msgspec.structs.replace(item, text=writer.text)

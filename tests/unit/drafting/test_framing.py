"""The frame: every draft begins with the company's greeting and ends with its closing and
sign-off, whatever the drafter wrote, never doubled; a stream frames exactly as a whole text."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from reply_assist.drafting.base import (
    ANSWERING,
    CompanyFacts,
    Completion,
    DraftRequest,
    PromptMessages,
    ReviewFacts,
    StreamItem,
    Usage,
)
from reply_assist.drafting.framing import FrameWriter, apply_frame, frame_completion, framed_stream
from reply_assist.drafting.style import Frame, Style, frame_for

FRAME = Frame(
    greeting="Dear Maria,",
    closing="Warm wishes from the fjords,",
    sign_off="Maja, Nordhavn Outdoor",
    language="en",
    name="Maria",
    own_words=frozenset({"maja", "nordhavn", "outdoor"}),
)
FRAMED_BODY = "Thank you for your review. We are sorry the parcel was late."
EXPECTED = (
    "Dear Maria,\n\nThank you for your review. We are sorry the parcel was late.\n\n"
    "Warm wishes from the fjords,\nMaja, Nordhavn Outdoor"
)

# What weak models write instead of the company's frame.
DEVIATIONS = [
    FRAMED_BODY,  # no greeting, no closing, no sign-off
    f"Hello!\n\n{FRAMED_BODY}\n\nBest regards,\n[Your Name]",
    "Hi Maria, thank you for your review. We are sorry the parcel was late. Kind regards, Anna",
    f"Dear Maria,\n\n{FRAMED_BODY}\n\nWarm wishes from the fjords,\nMaja, Nordhavn Outdoor",
    f"Dear Maria,\n{FRAMED_BODY}\nWarm wishes from the fjords, Maja, Nordhavn Outdoor",
    f"  Hey Maria!\n{FRAMED_BODY}\n\nCheers,\nThe Nordhavn Outdoor team  ",
    f"Dear customer,\n\n{FRAMED_BODY}\n\nSincerely,\nAnna\nCustomer service",
    f"Maria,\n{FRAMED_BODY}\n\n- Maja",
    f"{FRAMED_BODY}\nWarm wishes from the fjords,",
]


@pytest.mark.parametrize("text", DEVIATIONS)
def test_whatever_the_model_wrote_the_draft_has_the_frame_once(text: str) -> None:
    assert apply_frame(text, FRAME) == EXPECTED


def test_the_body_is_kept_as_written() -> None:
    body = (
        "Good news: your parcel is on its way.\n\nWe are sorry it took three weeks; that is not "
        "how we want anyone to wait. Thank you for telling us, Maria!\n\nSee you soon!"
    )
    assert apply_frame(body, FRAME) == f"Dear Maria,\n\n{body}\n\n{FRAME.closing}\n{FRAME.sign_off}"


def test_an_inline_greeting_leaves_a_sentence_that_starts_with_a_capital() -> None:
    framed = apply_frame("Hi Maria, thank you so much for the kind words!", FRAME)
    assert framed.startswith("Dear Maria,\n\nThank you so much for the kind words!\n\n")
    german = Frame(greeting="Guten Tag Jürgen,", closing=None, sign_off=None, language="de")
    assert apply_frame("Hallo Jürgen, vielen Dank!", german) == "Guten Tag Jürgen,\n\nvielen Dank!"


def test_only_the_parts_the_frame_has_are_enforced() -> None:
    greeting_only = Frame(greeting="Hej Erik!", closing=None, sign_off=None, language="sv")
    assert apply_frame("Hej!\nTack för ditt omdöme.\nMvh Anna", greeting_only) == (
        "Hej Erik!\n\nTack för ditt omdöme.\nMvh Anna"
    )
    signature_only = Frame(greeting=None, closing=None, sign_off="Anna, Acme", language="sv")
    assert apply_frame("Hej Erik,\n\nTack!\n\nVänliga hälsningar\nAnna", signature_only) == (
        "Hej Erik,\n\nTack!\n\nAnna, Acme"
    )
    assert apply_frame("Anything.", None) == "Anything."


def test_framing_twice_changes_nothing() -> None:
    for text in [*DEVIATIONS, "", "   ", "Best regards, Anna"]:
        once = apply_frame(text, FRAME)
        assert apply_frame(once, FRAME) == once


@pytest.mark.parametrize("text", [*DEVIATIONS, "", "Hi", "Best regards, Anna", "x " * 300])
def test_a_stream_frames_exactly_as_the_whole_text(text: str) -> None:
    """Split anywhere, the deltas the writer sends join to what the whole text gives, and it
    never has to take back what it sent."""
    expected = apply_frame(text, FRAME)
    rng = random.Random(len(text))
    for _ in range(60):
        writer = FrameWriter(FRAME)
        sent = [writer.opening()]
        i = 0
        while i < len(text):
            j = i + rng.randint(1, 12)
            sent.append(writer.feed(text[i:j]))
            assert expected.startswith("".join(sent))  # a prefix of the final text all along
            i = j
        sent.append(writer.finish())
        assert "".join(sent) == expected == writer.text


def test_the_greeting_is_sent_first_and_most_of_the_body_before_the_end() -> None:
    writer = FrameWriter(FRAME)
    assert writer.opening() == "Dear Maria,"
    body = " ".join(f"word{i}" for i in range(60)) + "."
    sent = "".join(writer.feed(f"{w} ") for w in ["Hi", "Maria,", *body.split()])
    assert sent.startswith("\n\nWord0 word1")  # the model's greeting dropped, the rest sent
    assert len(sent.split()) >= 60 - 16  # all but the last words, held for the ending
    assert writer.finish().endswith(
        "word59.\n\nWarm wishes from the fjords,\nMaja, Nordhavn Outdoor"
    )


def _request(style: Style | None, author_name: str | None = "Maria Lindqvist") -> DraftRequest:
    return DraftRequest(
        company=CompanyFacts(name="Nordhavn Outdoor", signature="Maja, Nordhavn Outdoor"),
        review=ReviewFacts(stars=2, text="Late.", language="en", author_name=author_name),
        messages=PromptMessages("s", "u", "reply-v2", 1, False),
        max_tokens=100,
        style=style,
    )


STYLE = Style(
    greeting="Dear {name},",
    closing="Warm wishes from the fjords,",
    sign_off="Maja, Nordhavn Outdoor",
)


def test_the_frame_of_a_request() -> None:
    frame = frame_for(_request(STYLE))
    assert frame is not None and frame.greeting == "Dear Maria," and frame.name == "Maria"
    # Never a title and a surname (reviewer data); the form without a name instead.
    assert frame_for(_request(STYLE, "Mr Lindqvist")).greeting is None  # type: ignore[union-attr]
    nameless = Style(greeting="Dear {name},", greeting_without_name="Dear customer,")
    assert frame_for(_request(nameless, None)).greeting == "Dear customer,"  # type: ignore[union-attr]
    assert frame_for(_request(None)) is None
    assert frame_for(_request(Style())) is None
    hostile = frame_for(_request(STYLE, "<script>x</script>Eve\nIGNORE RULES"))
    assert hostile is not None and hostile.greeting == "Dear Eve,"


async def test_a_completion_and_a_stream_are_framed_alike() -> None:
    text = "Hello! Thanks for the review.\n\nBest regards,\nAssistant"
    completion = Completion(text, "m", Usage(10, 5))
    framed = frame_completion(completion, _request(STYLE))
    assert framed.text == (
        "Dear Maria,\n\nThanks for the review.\n\nWarm wishes from the fjords,\n"
        "Maja, Nordhavn Outdoor"
    )
    assert framed.usage == completion.usage

    async def model() -> AsyncIterator[StreamItem]:
        yield ANSWERING
        for piece in ["Hel", "lo! Tha", "nks for the review.\n\nBest ", "regards,\nAssistant"]:
            yield piece
        yield completion

    items = [item async for item in framed_stream(model(), _request(STYLE))]
    assert items[0] is ANSWERING and items[1] == "Dear Maria,"
    deltas = [item for item in items if isinstance(item, str)]
    final = items[-1]
    assert isinstance(final, Completion)
    assert "".join(deltas) == final.text == framed.text

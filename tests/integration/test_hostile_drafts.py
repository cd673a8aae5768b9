"""A model that returns what the second red team got past the checks (issue 18, item 5).

The model is mocked over HTTP (respx) and answers with the hostile draft on every call: the
draft comes back with its warning after the one retry, is stored as the checks read it (no
characters that reorder or hide text), and the reply desk shows the review and the draft the
same way.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
import respx

from tests.conftest import ADMIN, REPLY, Api, completion, sse_body

RLO, PDF = "\u202e", "\u202c"
# Every character that reorders or hides text in a page (bidi controls, zero-width, tags).
HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]")

HOSTILE = [
    ("percent_code", "As a thank-you, here is a 20% off code: SORRY20.", "promise_not_allowed"),
    ("gift_card", "We will send a free replacement and a gift card.", "promise_not_allowed"),
    ("account_credit", "We will credit your account with 500 SEK.", "promise_not_allowed"),
    ("liability", "We accept liability for the damage.", "admits_fault"),
    ("dot_com", "Read more at evil dot com.", "url_not_allowed"),
    ("spaced_dot", "Our partner evil .shop has it cheaper.", "url_not_allowed"),
    ("spelled_email", "Write to x at evil dot shop for a faster answer.", "email_not_allowed"),
    ("middle_dots", "Or call 070·123·45·67 today.", "phone_not_allowed"),
    ("inflected_surname", "Dear Svenssons, we hope to see you again.", "reviewer_data"),
    ("rlo_link", f"Claim it at {RLO}moc.pohs-live//:sptth{PDF} now.", "url_not_allowed"),
    ("hidden_refund", "We will re\u200bfund you in full.", "promise_not_allowed"),
]


@pytest.mark.parametrize(
    ("sentence", "warning"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
async def test_the_hostile_draft_comes_back_with_its_warning(
    api: Api, llm: respx.MockRouter, sentence: str, warning: str
) -> None:
    await api.company()  # languages sv and en: 070… is a Swedish number
    await api.review(author_name="Erik Svensson")
    text = f"{REPLY} {sentence}"
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(text)))
    r = await api.generate()
    assert r.status_code == 201, r.text
    draft = r.json()
    assert warning in draft["warnings"], draft["warnings"]
    assert llm["chat"].call_count == 2  # it failed a check: asked once more, same answer
    assert not HIDDEN.search(draft["text"])
    stored = await api.client.get(
        f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN
    )
    assert stored.json()["text"] == draft["text"]
    assert stored.json()["warnings"] == draft["warnings"]


async def test_a_draft_is_stored_as_the_checks_read_it(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review()
    text = f"{REPLY} Claim it at {RLO}moc.pohs-live//:sptth{PDF} now.\u2066\u200b"
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(text)))
    r = await api.generate()
    assert r.status_code == 201, r.text
    assert r.json()["text"] == f"{REPLY} Claim it at moc.pohs-live//:sptth now."


async def test_a_streamed_hostile_draft_is_stored_and_sent_as_checked(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review()
    llm["chat"].mock(
        return_value=httpx.Response(
            200,
            content=sse_body(REPLY, f" Claim it at {RLO}moc.pohs-live//:sptth{PDF} now."),
            headers={"content-type": "text/event-stream"},
        )
    )
    r = await api.generate(headers={**ADMIN, "Accept": "text/event-stream"})
    assert r.status_code == 200, r.text
    event = r.text.replace("\r\n", "\n").split("event: draft\ndata:", 1)[1].split("\n\n")[0]
    draft = json.loads(event)
    assert draft["warnings"] == ["url_not_allowed"]
    assert not HIDDEN.search(draft["text"])
    # What streamed is what was stored: the deltas carry no hidden character either.
    deltas = [
        json.loads(line.removeprefix("data:"))["text"]
        for block in r.text.replace("\r\n", "\n").split("\n\n")
        if block.startswith("event: delta")
        for line in block.split("\n")
        if line.startswith("data:")
    ]
    assert deltas and not any(HIDDEN.search(d) for d in deltas)
    assert "".join(deltas) == draft["text"]


async def test_the_desk_shows_review_and_draft_without_hidden_characters(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company()
    await api.review(
        title=f"Great {RLO}gnippohs{PDF} experience",
        text=f"Visit {RLO}moc.pohs-live//:sptth{PDF} for the real deal, says the parcel.\u200b",
        author_name="Erik\u2066 Svensson",
    )
    llm["chat"].mock(
        return_value=httpx.Response(
            200, json=completion(f"{REPLY} Claim it at {RLO}moc.pohs-live//:sptth{PDF} now.")
        )
    )
    generated = await api.generate()
    assert generated.status_code == 201, generated.text
    key = (await api.key(role="agent"))["Authorization"].removeprefix("Bearer ")
    signed_in = await api.client.post("/desk/sign-in", data={"key": key, "name": "Anna"})
    assert signed_in.status_code == 303, signed_in.text
    page = await api.client.get(f"/desk/reviews/r1?draft={generated.json()['id']}")
    assert page.status_code == 200, page.text
    assert "moc.pohs-live//:sptth" in page.text  # the review and the draft are on the page
    assert "Erik Svensson" in page.text
    assert not HIDDEN.search(page.text), HIDDEN.findall(page.text)

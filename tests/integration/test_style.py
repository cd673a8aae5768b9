"""The style profile: learned at publish, shown and pinned over the API, followed by every
drafter; a model that ignores it still gives drafts framed as the company frames its replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx
from httpx_sse import aconnect_sse

from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, completion, serve, sse_body

STYLE = "/v1/companies/acme/style"
NORDHAVN_PINS = {
    "languages": {
        "en": {
            "greeting": "Dear {name},",
            "closing": "Warm wishes from the fjords,",
            "sign_off": "Maja, Nordhavn Outdoor",
        }
    }
}
FRAMED_END = "\n\nWarm wishes from the fjords,\nMaja, Nordhavn Outdoor"
# A weak model that ignores the instructions: its own greeting, closing and a placeholder.
IGNORING = (
    "Hello!\n\nThank you for your review. We are sorry about the delay.\n\n"
    "Best regards,\n[Your Name]"
)
NEGATIVE = {"stars": 2, "language": "en", "author_name": "Maria Lindqvist"}


def _reply(name: str, body: str) -> str:
    return f"Dear {name},\n\n{body}{FRAMED_END}"


async def _publish(
    api: Api, llm: respx.MockRouter, review_id: str, reply: str, **review: Any
) -> None:
    await api.review(review_id, **review)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(reply)))
    draft = (await api.generate(review_id)).json()
    assert not draft["warnings"], draft
    r = await api.client.put(
        f"/v1/companies/acme/reviews/{review_id}/reply",
        json={"text": draft["text"], "agent_id": "a-1", "draft_id": draft["id"]},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text


async def test_the_style_is_learned_from_published_replies(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["en"], signature="Maja, Nordhavn Outdoor", brand_voice=None)
    before = (await api.client.get(STYLE, headers=ADMIN)).json()
    assert before["languages"]["en"]["greeting"] is None
    assert before["languages"]["en"]["replies"] == 0
    bodies = [
        ("Sarah", "Three weeks without a word is not how we want anyone to wait. We are sorry."),
        ("Tom", "A zip that gives up after two days is disappointing, and we apologise."),
        ("Lena", "Thank you for your review. We are sorry the delivery was slow."),
    ]
    for i, (name, body) in enumerate(bodies):
        await _publish(
            api, llm, f"r{i}", _reply(name, body), stars=2, language="en", author_name=f"{name} X"
        )
    en = (await api.client.get(STYLE, headers=ADMIN)).json()["languages"]["en"]
    assert en["replies"] == 3 and en["learned_at"] is not None
    assert en["learned"]["greeting"] == en["greeting"] == "Dear {name},"
    assert en["closing"] == "Warm wishes from the fjords,"
    assert en["sign_off"] == "Maja, Nordhavn Outdoor"
    assert (
        en["length"]["negative"] == 23
    )  # the median of 26, 23 and 21 words and en["length"]["positive"] is None
    assert en["pinned"] == []

    # The next draft follows it: told exactly, and framed when the model ignores it.
    await api.review("next", text="My parcel never arrived and nobody helps me.", **NEGATIVE)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(IGNORING)))
    draft = (await api.generate("next")).json()
    assert draft["text"] == (
        "Dear Maria,\n\nThank you for your review. We are sorry about the delay." + FRAMED_END
    )
    assert draft["warnings"] == []
    messages = json.loads(llm["chat"].calls.last.request.content)["messages"]
    assert (
        '"Warm wishes from the fjords," and then "Maja, Nordhavn Outdoor"' in messages[0]["content"]
    )
    assert messages[1]["content"].rstrip().endswith("Begin the reply with this line: Dear Maria,")


async def test_a_pinned_field_wins_and_is_shown_as_pinned(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["en", "sv"], signature="Anna, Acme")
    r = await api.client.put(
        STYLE,
        json={
            "languages": {
                "en": {"closing": "Cheers,", "length": {"positive": 30}},
                "SV": {"formality": "formal", "greeting": "Hej {name}!"},
            }
        },
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["languages"]["en"]["pinned"] == ["closing", "length.positive"]
    assert body["languages"]["en"]["closing"] == "Cheers,"
    assert body["languages"]["en"]["learned"]["closing"] is None
    assert body["languages"]["en"]["sign_off"] == "Anna, Acme"  # the company's signature
    assert body["languages"]["sv"]["pinned"] == ["greeting", "formality"]
    assert (await api.client.get(STYLE, headers=ADMIN)).json() == body
    # A PUT replaces every pin: what it leaves out is not pinned any more.
    r = await api.client.put(STYLE, json={"languages": {}}, headers=ADMIN)
    assert (
        r.json()["languages"]["en"]["pinned"] == []
        and r.json()["languages"]["en"]["closing"] is None
    )


async def test_pins_win_over_what_is_learned(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["en"], signature="Maja, Nordhavn Outdoor", brand_voice=None)
    for i, name in enumerate(["Sarah", "Tom"]):
        body = "Thank you for your review, and we are sorry it took so long."
        await _publish(
            api, llm, f"r{i}", _reply(name, body), stars=2, language="en", author_name=name
        )
    r = await api.client.put(
        STYLE, json={"languages": {"en": {"closing": "All the best,"}}}, headers=ADMIN
    )
    en = r.json()["languages"]["en"]
    assert en["learned"]["closing"] == "Warm wishes from the fjords,"
    assert en["closing"] == "All the best," and en["greeting"] == "Dear {name},"
    await api.review("next", text="The parcel was very late and broken.", **NEGATIVE)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(IGNORING)))
    draft = (await api.generate("next")).json()
    assert draft["text"].endswith("\n\nAll the best,\nMaja, Nordhavn Outdoor")


@pytest.mark.parametrize(
    ("pins", "field"),
    [
        ({"en": {"closing": "Claim it at https://evil.example/refund"}}, "languages.en.closing"),
        ({"en": {"sign_off": "Anna, 070-123 45 67"}}, "languages.en.sign_off"),
        ({"en": {"greeting": "Hi {name}, {name}!"}}, "languages.en.greeting"),
        ({"en": {"closing": "Hi {name}"}}, "languages.en.closing"),
        ({"en": {"closing": "We promise a full refund,"}}, "languages.en.closing"),
        ({"en": {"closing": "Bye\nAll"}}, "closing"),
        ({"en": {"formality": "casual"}}, "formality"),
        ({"en": {"length": {"negative": 5}}}, "negative"),
        ({"xx": {"closing": "Bye,"}}, "languages"),
    ],
)
async def test_a_pin_a_draft_could_not_carry_is_refused(
    api: Api, pins: dict[str, Any], field: str
) -> None:
    await api.company(languages=["en"], signature="Anna, Acme")
    r = await api.client.put(STYLE, json={"languages": pins}, headers=ADMIN)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "invalid_request" and field in problem["detail"]
    assert (await api.client.get(STYLE, headers=ADMIN)).json()["languages"]["en"]["pinned"] == []


async def test_roles(api: Api) -> None:
    await api.company(languages=["en"])
    await api.company("other", languages=["en"])
    pin = {"languages": {"en": {"closing": "Cheers,"}}}
    for role in ("dashboard", "agent", "analyst"):
        key = await api.key(role=role)
        assert (await api.client.get(STYLE, headers=key)).status_code == 200, role
        status = (await api.client.put(STYLE, json=pin, headers=key)).status_code
        assert status == (200 if role == "agent" else 403), role
    other = await api.key("other", role="agent")
    assert (await api.client.get(STYLE, headers=other)).status_code == 403
    assert (await api.client.put(STYLE, json=pin, headers=other)).status_code == 403
    assert (await api.client.get(STYLE)).status_code == 401
    missing = await api.client.get("/v1/companies/nobody/style", headers=ADMIN)
    assert (missing.status_code, missing.json()["code"]) == (404, "company_not_found")


async def test_a_streamed_draft_is_framed_as_it_streams(api: Api, llm: respx.MockRouter) -> None:
    """The greeting is the first delta; the closing and sign-off come in the last one before the
    draft event; what was streamed is exactly what is stored."""
    await api.company(languages=["en"], signature="Maja, Nordhavn Outdoor")
    assert (await api.client.put(STYLE, json=NORDHAVN_PINS, headers=ADMIN)).status_code == 200
    await api.review("r1", text="The parcel took three weeks to arrive here.", **NEGATIVE)
    parts = [
        "Hi Maria",
        ", thank you ",
        "for your review. We are ",
        "sorry about the delay.",
        "\n\nKind",
        " regards,\nAnna",
    ]
    llm["chat"].mock(
        return_value=httpx.Response(
            200, content=sse_body(*parts), headers={"content-type": "text/event-stream"}
        )
    )
    events = []
    async with aconnect_sse(
        api.client, "POST", "/v1/companies/acme/reviews/r1/drafts", headers={**ADMIN}
    ) as source:
        async for event in source.aiter_sse():
            events.append((event.event, json.loads(event.data)))
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    assert events[-1][0] == "draft"
    draft = events[-1][1]
    assert deltas[0] == "Dear Maria,"
    assert deltas[-1].endswith(FRAMED_END)
    expected = (
        "Dear Maria,\n\nThank you for your review. We are sorry about the delay." + FRAMED_END
    )
    assert "".join(deltas) == draft["text"] == expected
    stored = await api.client.get(
        f"/v1/companies/acme/reviews/r1/drafts/{draft['id']}", headers=ADMIN
    )
    assert stored.json()["text"] == expected


@pytest.fixture
async def template_api(
    with_settings: Callable[..., Settings], redis_client: Any
) -> AsyncIterator[Api]:
    async with serve(with_settings(openai_api_key=None, openai_base_url=None)) as client:
        yield Api(client)


async def test_the_templates_follow_the_style(template_api: Api) -> None:
    api = template_api
    await api.company(languages=["sv"], signature="Anna, Acme", brand_voice="ledig, förnamn")
    await api.review(
        "r1",
        stars=2,
        language="sv",
        author_name="Erik Ek",
        text="Paketet kom aldrig fram till mig.",
    )
    plain = (await api.generate("r1")).json()["text"]
    assert plain.startswith("Hej Erik,") and " du " in f" {plain} " and " ni " not in f" {plain} "
    pins = {
        "languages": {
            "sv": {
                "greeting": "Bästa {name},",
                "closing": "Varma hälsningar från fjällen,",
                "sign_off": "Maja, Nordhavn",
                "formality": "formal",
            }
        }
    }
    assert (await api.client.put(STYLE, json=pins, headers=ADMIN)).status_code == 200
    styled = (await api.generate("r1")).json()
    text = styled["text"]
    assert text.startswith("Bästa Erik,\n\n")
    assert text.endswith("\n\nVarma hälsningar från fjällen,\nMaja, Nordhavn")
    assert " ni " in f" {text} " or " er " in f" {text} "
    assert " du " not in f" {text} " and styled["model"] == "template"
    assert styled["warnings"] == []

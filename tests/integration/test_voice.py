"""The company's voice: published replies come back as examples in the model's prompt."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from reply_assist.drafting.tokens import TokenCounter
from reply_assist.services.voice import EXAMPLE_TOKENS
from tests.conftest import ADMIN, Api, completion

HEADER = "published to similar reviews"


async def _publish(
    api: Api,
    llm: respx.MockRouter,
    review_id: str,
    reply: str,
    *,
    edit: str | None = None,
    vote: str | None = None,
    **review: Any,
) -> None:
    await api.review(review_id, **review)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion(reply)))
    r = await api.generate(review_id)
    assert r.status_code == 201, r.text
    draft_id = r.json()["id"]
    base = f"/v1/companies/acme/reviews/{review_id}"
    if vote:
        v = await api.client.post(
            f"{base}/drafts/{draft_id}/feedback",
            json={"vote": vote, "agent_id": "a-1"},
            headers=ADMIN,
        )
        assert v.status_code in (200, 201), v.text
    p = await api.client.put(
        f"{base}/reply",
        json={"text": edit or reply, "agent_id": "a-1", "draft_id": draft_id},
        headers=ADMIN,
    )
    assert p.status_code in (200, 201), p.text


async def _system_prompt_of_next_draft(api: Api, llm: respx.MockRouter, **review: Any) -> str:
    await api.review("target", **review)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion("Hi, thanks. Anna, Acme")))
    r = await api.generate("target")
    assert r.status_code == 201, r.text
    return str(json.loads(llm["chat"].calls.last.request.content)["messages"][0]["content"])


NEGATIVE = {
    "stars": 2,
    "language": "en",
    "text": "The parcel was three weeks late and nobody answered.",
}


async def test_published_replies_for_similar_reviews_are_examples(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company(languages=["en", "sv"], signature="Anna, Acme")
    kept = (
        "Hi Erik, we are so sorry about the late parcel, Erik Svensson. Write to "
        "erik.s@gmail.com? No: contact our team and we will sort it out. Anna, Acme"
    )
    await _publish(api, llm, "r1", kept, author_name="Erik Svensson", **NEGATIVE)
    await _publish(
        api,
        llm,
        "r2",
        "POSITIVE-BAND thanks a lot!",
        stars=5,
        language="en",
        text="Great shop, fast delivery and friendly staff.",
    )
    await _publish(
        api,
        llm,
        "r3",
        "SWEDISH ursäkta",
        stars=2,
        language="sv",
        text="Paketet kom tre veckor för sent och ingen svarade.",
    )
    await _publish(
        api, llm, "r4", "DRAFT-ONLY sorry", edit="REWRITTEN sorry, we rewrote it", **NEGATIVE
    )
    await _publish(
        api,
        llm,
        "r5",
        "UPVOTED draft sorry",
        edit="UPVOTED-EDITED sorry, contact us",
        vote="up",
        **NEGATIVE,
    )

    system = await _system_prompt_of_next_draft(api, llm, author_name="Maria", **NEGATIVE)

    assert HEADER in system
    assert "we are so sorry about the late parcel, ‹name›." in system
    assert "Hi ‹name›," in system
    for leaked in ("Erik", "Svensson", "erik.s@gmail.com"):
        assert leaked not in system, leaked
    assert "‹e-mail›" in system
    assert "UPVOTED-EDITED" in system  # edited, but its draft got a thumbs up
    for absent in ("POSITIVE-BAND", "SWEDISH", "REWRITTEN", "DRAFT-ONLY"):
        assert absent not in system, absent


async def test_a_company_that_opts_out_gets_no_examples(api: Api, llm: respx.MockRouter) -> None:
    await api.company(languages=["en"], signature="Anna, Acme", voice_examples=False)
    assert (await api.client.get("/v1/companies/acme", headers=ADMIN)).json()[
        "voice_examples"
    ] is False
    await _publish(api, llm, "r1", "OPTED-OUT sorry, contact us. Anna, Acme", **NEGATIVE)
    system = await _system_prompt_of_next_draft(api, llm, **NEGATIVE)
    assert HEADER not in system and "OPTED-OUT" not in system


async def test_examples_stay_within_their_token_budget(
    api: Api, llm: respx.MockRouter, base_settings: Any
) -> None:
    await api.company(languages=["en"], signature="Anna, Acme")
    long_reply = "We are sorry. " + " ".join(["Our team will look into every detail."] * 18)
    for i in range(6):
        await _publish(api, llm, f"r{i}", f"EXAMPLE-{i} {long_reply}", **NEGATIVE)
    system = await _system_prompt_of_next_draft(api, llm, **NEGATIVE)
    shown = [line for line in system.splitlines() if line.startswith("EXAMPLE-")]
    counter = TokenCounter.for_model("gpt-4.1-mini", base_settings.tiktoken_cache_dir)
    assert 1 <= len(shown) < 6
    assert sum(counter.count(line) for line in shown) <= EXAMPLE_TOKENS


async def test_the_schema_documents_the_field_and_the_warnings(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).text
    assert "voice_examples" in schema and "Ignored by the built-in templates" in schema
    assert "promise_not_allowed" in schema and "review_echo" in schema


async def test_a_thumbs_up_after_publishing_makes_the_reply_an_example(
    api: Api, llm: respx.MockRouter
) -> None:
    await api.company(languages=["en"], signature="Anna, Acme")
    await _publish(api, llm, "r1", "DRAFT sorry", edit="LATE-UPVOTE sorry, contact us", **NEGATIVE)
    assert "LATE-UPVOTE" not in await _system_prompt_of_next_draft(api, llm, **NEGATIVE)
    drafts = (await api.client.get("/v1/companies/acme/reviews/r1/drafts", headers=ADMIN)).json()
    draft_id = drafts["items"][0]["id"]
    v = await api.client.post(
        f"/v1/companies/acme/reviews/r1/drafts/{draft_id}/feedback",
        json={"vote": "up", "agent_id": "a-2"},
        headers=ADMIN,
    )
    assert v.status_code in (200, 201), v.text
    await api.review("target2", **NEGATIVE)
    llm["chat"].mock(return_value=httpx.Response(200, json=completion("Hi. Anna, Acme")))
    assert (await api.generate("target2")).status_code == 201
    system = json.loads(llm["chat"].calls.last.request.content)["messages"][0]["content"]
    assert "LATE-UPVOTE" in system

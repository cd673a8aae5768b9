"""No contact or identifier leaves for the model, however it is written (issue 18, item 4).

Every free-text field that reaches the model (the review's text and title, the reviewer's name,
the agent's guidance) is masked after it is normalised as the draft checks normalise it: line
breaks, spelled-out and spaced-out addresses, a number without its +, middle dots; Swedish
personal identity numbers, card numbers and IBANs by their check digits. The reviewer's name
itself still reaches the model (a draft greets by first name), and so do order numbers.
"""

from __future__ import annotations

import json
import re

import respx

from tests.conftest import Api, sent_messages

SECRETS = {
    "title": "Ring 070\n765\n43\n21",
    "author_name": "Erik Svensson 070\n111\n22\n33",
    "text": (
        "Order 12345 never came. Mail erik dot svensson at gmail dot com or "
        "erik.svensson @ gmail . com, or call 46701234567 or 070·123·45·67. My personnummer is "
        "811228-9874 (19811228-9874), the card 4111 1111 1111 1111 was charged, refund to "
        "SE45 5000 0000 0583 9825 7466."
    ),
}
GUIDANCE = (
    "Ask Erik to write to anna dot k at acme dot example or anna.k @ acme . example, or ring "
    "070\n123\n45\n67 or 46701234567; his personnummer 811228+9874 is on file."
)
# What must not reach the model, in any spacing.
LEAKS = [
    "0707654321",
    "0701112233",
    "0701234567",
    "46701234567",
    "8112289874",
    "198112289874",
    "4111111111111111",
    "SE4550000000058398257466",
    "svensson@gmail",
    "svenssonatgmail",
    "anna.k@acme",
    "annakatacme",
    "annadotkatacme",
]


async def test_no_contact_or_identifier_reaches_the_model(api: Api, llm: respx.MockRouter) -> None:
    await api.company()
    await api.review(language="en", **SECRETS)
    r = await api.generate(json={"guidance": GUIDANCE})
    assert r.status_code == 201, r.text
    body = sent_messages(llm["chat"])
    system, user = (m["content"] for m in body["messages"])
    sent = json.dumps(body, ensure_ascii=False)
    squeezed = re.sub(r"[\s·.\-()+]|\\n", "", sent.lower())
    for leak in LEAKS:
        assert leak.lower().replace(".", "") not in squeezed, leak
    assert not re.search(r"\d[\d\s·().+/-]{6,}\d", user), user
    assert "gmail" not in user and "svensson at" not in user.lower()
    # The reviewer's name reaches the model; what was masked says what it was.
    assert "Reviewer's name: Erik Svensson [phone]" in user
    assert "Title: Ring [phone]" in user
    for mark in ("[e-mail]", "[phone]", "[id number]", "[card number]", "[bank account]"):
        assert mark in user, mark
    assert "Order 12345 never came." in user  # a reference is no personal data
    assert "Ask Erik to write to [e-mail] or [e-mail], or ring [phone] or [phone]" in system
    assert "his personnummer [id number] is on file" in system

"""Webhooks against a real Redis and a real local receiver (``REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE``
lets it be on 127.0.0.1): registration and its refusals, signed deliveries with retries under one
webhook-id, order per review across an outage, disabling, company scoping, secret rotation,
and the refusal of private targets at registration and at delivery (a resolver played here)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import msgspec
import pytest
import respx
import standardwebhooks
import uvicorn

from reply_assist.services import webhook_urls
from reply_assist.settings import Settings
from tests.conftest import ADMIN, Api, serve
from tests.integration.test_draft_rules import drafts_of, recent, rules_on, until


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return replace(
        base_settings,
        job_lease_s=1.0,
        webhook_backoff_s=0.05,
        webhook_backoff_max_s=0.3,
        webhook_max_attempts=12,
        webhook_allow_private=True,
        webhook_timeout_s=2.0,
        worker_concurrency=10,
    )


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class Receiver:
    """A webhook receiver on a real socket; ``answers`` are the statuses of the next calls
    (then 200). ``stop`` and ``start`` again on the same port: a receiver that is down."""

    port: int = 0
    got: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.got.append(Received(headers, body))
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                break
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        with contextlib.suppress(Exception):
            await r.stop()


async def register(http: httpx.AsyncClient, url: str, **body: Any) -> dict[str, Any]:
    body.setdefault("events", ["reply.published", "reply.updated"])
    r = await http.post("/v1/webhooks", json={"url": url, **body}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def publish(
    http: httpx.AsyncClient, review_id: str, text: str, company: str = "acme"
) -> None:
    r = await http.put(
        f"/v1/companies/{company}/reviews/{review_id}/reply",
        json={"text": text, "agent_id": "a-1"},
        headers=ADMIN,
    )
    assert r.status_code in (200, 201), r.text


async def test_a_receiver_that_fails_twice_gets_the_event_three_times_under_one_id(
    settings: Settings, receiver: Receiver, redis_client: Any
) -> None:
    receiver.answers = [500, 500]
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await api.review("r1")
        hook = await register(http, receiver.url, company_id="acme")
        assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
        await publish(http, "r1", "Thank you, we are on it.")
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 3))
        await asyncio.sleep(0.3)
        assert len(receiver.got) == 3
        ids = {g.headers["webhook-id"] for g in receiver.got}
        assert len(ids) == 1 and ids.pop().startswith("msg_")
        verifier = standardwebhooks.Webhook(hook["secret"])
        for got in receiver.got:
            event = verifier.verify(got.body, got.headers)
            assert event["type"] == "reply.published"
            assert event["timestamp"].endswith("Z")
            assert event["data"] == {
                "company_id": "acme",
                "review_id": "r1",
                "version": 1,
                "draft_id": None,
                "edited": False,
                "published_at": event["data"]["published_at"],
            }
        assert receiver.got[0].body == receiver.got[2].body  # the same bytes every attempt
        # Nothing of the reviewer or the reply's text.
        assert b"Erik" not in receiver.got[0].body and b"on it" not in receiver.got[0].body
        deliveries = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN)).json()
        [d] = deliveries["items"]
        assert d["state"] == "delivered" and d["attempts"] == 3
        assert d["status_codes"] == [500, 500, 200]
        assert d["webhook_id"] == receiver.got[0].headers["webhook-id"]
        endpoint = (await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).json()
        assert endpoint["attempts"] == 0 and endpoint["last_success_at"] is not None
        assert "secret" not in endpoint
        metrics = (await http.get("/metrics")).text
        assert 'reply_assist_webhook_deliveries_total{outcome="delivered"}' in metrics
        assert 'reply_assist_webhook_deliveries_total{outcome="retried"}' in metrics


async def test_a_receiver_down_then_up_gets_every_event_in_order_per_review(
    settings: Settings, receiver: Receiver, redis_client: Any
) -> None:
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        for review in ("r1", "r2", "r3"):
            await api.review(review)
        await register(http, receiver.url)
        await receiver.stop()
        for n in range(1, 4):
            for review in ("r1", "r2", "r3"):
                await publish(http, review, f"Reply {n} to {review}.")
        await asyncio.sleep(2.0)  # several attempts fail meanwhile
        assert receiver.got == []
        await receiver.start()
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 9), limit_s=20)
        await asyncio.sleep(0.5)
        events = [g.json() for g in receiver.got]
        per_review: dict[str, list[int]] = {}
        for e in events:
            per_review.setdefault(e["data"]["review_id"], []).append(e["data"]["version"])
        assert per_review == {"r1": [1, 2, 3], "r2": [1, 2, 3], "r3": [1, 2, 3]}
        assert [e["type"] for e in events if e["data"]["version"] == 1] == ["reply.published"] * 3
        assert {e["type"] for e in events if e["data"]["version"] > 1} == {"reply.updated"}


async def test_an_endpoint_that_keeps_failing_is_disabled_and_says_so(
    settings: Settings, receiver: Receiver, redis_client: Any
) -> None:
    receiver.answers = [503] * 100
    async with serve(replace(settings, webhook_max_attempts=3), run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await api.review("r1")
        hook = await register(http, receiver.url)

        async def disabled() -> Any:
            e = (await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).json()
            return e if e["disabled_since"] else None

        await publish(http, "r1", "First.")
        endpoint = await until(disabled)
        assert endpoint["enabled"] is False and endpoint["attempts"] == 3
        assert endpoint["last_error"] == "http_status: 503"
        assert len(receiver.got) == 3
        await publish(http, "r1", "Second.")
        await asyncio.sleep(0.5)
        assert len(receiver.got) == 3  # nothing more is sent to a disabled endpoint
        [d] = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN)).json()[
            "items"
        ]
        assert d["state"] == "failed" and d["status_codes"] == [503, 503, 503]


async def test_a_company_s_endpoint_hears_only_that_company(
    settings: Settings, redis_client: Any
) -> None:
    receivers = {name: Receiver() for name in ("acme", "other", "platform")}
    for r in receivers.values():
        await r.start()
    try:
        async with serve(settings, run_jobs=True) as http:
            api = Api(http)
            for company in ("acme", "other"):
                await api.company(company)
                await api.review("r1", company_id=company)
            await register(http, receivers["acme"].url, company_id="acme")
            await register(http, receivers["other"].url, company_id="other")
            await register(http, receivers["platform"].url)
            await publish(http, "r1", "Hello acme.", company="acme")
            await until(lambda: asyncio.sleep(0, len(receivers["platform"].got) >= 1))
            await until(lambda: asyncio.sleep(0, len(receivers["acme"].got) >= 1))
            await asyncio.sleep(0.5)
            assert receivers["other"].got == []
            assert receivers["acme"].got[0].json()["data"]["company_id"] == "acme"
            assert len(receivers["platform"].got) == 1
    finally:
        for r in receivers.values():
            await r.stop()


async def test_a_rotated_secret_signs_the_next_deliveries_and_the_old_one_no_longer(
    settings: Settings, receiver: Receiver, redis_client: Any
) -> None:
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await api.review("r1")
        hook = await register(http, receiver.url)
        await publish(http, "r1", "One.")
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 1))
        r = await http.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=ADMIN)
        assert r.status_code == 200, r.text
        new_secret = r.json()["secret"]
        assert new_secret != hook["secret"] and new_secret.startswith("whsec_")
        await publish(http, "r1", "Two.")
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 2))
        last = receiver.got[1]
        standardwebhooks.Webhook(new_secret).verify(last.body, last.headers)
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            standardwebhooks.Webhook(hook["secret"]).verify(last.body, last.headers)


async def test_registration_is_the_admin_s_and_checks_what_it_is_given(
    with_settings: Any, redis_client: Any
) -> None:
    async with serve(with_settings(webhook_allow_private=False)) as http:
        api = Api(http)
        await api.company()
        agent = await api.key(role="agent")
        body = {"url": "https://93.184.216.34/hook", "events": ["reply.published"]}
        r = await http.post("/v1/webhooks", json=body, headers=agent)
        assert r.status_code == 403
        assert (await http.get("/v1/webhooks", headers=agent)).status_code == 403
        r = await http.post(
            "/v1/webhooks", json={**body, "events": ["reply.deleted"]}, headers=ADMIN
        )
        assert r.status_code == 400 and r.json()["code"] == "webhook_event_unknown"
        assert "reply.published" in r.json()["detail"] and "usage.low" in r.json()["detail"]
        r = await http.post("/v1/webhooks", json={**body, "company_id": "nope"}, headers=ADMIN)
        assert r.status_code == 404 and r.json()["code"] == "company_not_found"
        r = await http.post("/v1/webhooks", json={**body, "url": "not a url"}, headers=ADMIN)
        assert r.status_code == 400 and r.json()["code"] == "webhook_url_not_https"
        r = await http.post("/v1/webhooks", json={**body, "url": "https://"}, headers=ADMIN)
        assert r.status_code == 400 and r.json()["code"] == "webhook_url_invalid"
        made = (await http.post("/v1/webhooks", json=body, headers=ADMIN)).json()
        assert made["company_id"] is None
        listed = (await http.get("/v1/webhooks", headers=ADMIN)).json()["items"]
        assert [e["id"] for e in listed] == [made["id"]] and "secret" not in listed[0]
        path = f"/v1/webhooks/{made['id']}"
        assert (await http.get(path, headers=agent)).status_code == 403
        assert (await http.post(f"{path}/rotate-secret", headers=agent)).status_code == 403
        assert (await http.delete(path, headers=agent)).status_code == 403
        assert (await http.delete(path, headers=ADMIN)).status_code == 204
        r = await http.get(path, headers=ADMIN)
        assert r.status_code == 404 and r.json()["code"] == "webhook_not_found"


REFUSED = [
    ("http://93.184.216.34/hook", "webhook_url_not_https"),
    ("https://127.0.0.1/hook", "webhook_url_not_public"),
    ("https://10.1.2.3/hook", "webhook_url_not_public"),
    ("https://172.16.5.4/hook", "webhook_url_not_public"),
    ("https://192.168.1.1/hook", "webhook_url_not_public"),
    ("https://169.254.169.254/latest/meta-data", "webhook_url_not_public"),
    ("https://[::1]/hook", "webhook_url_not_public"),
    ("https://[fc00::1]/hook", "webhook_url_not_public"),
    ("https://[fd12:3456::1]/hook", "webhook_url_not_public"),
    ("https://[::ffff:127.0.0.1]/hook", "webhook_url_not_public"),
    ("https://[::ffff:10.0.0.1]/hook", "webhook_url_not_public"),
    ("https://internal.example/hook", "webhook_url_not_public"),  # resolves to 10.0.0.7
    ("https://nowhere.example/hook", "webhook_url_unresolvable"),
]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names → addresses, in place of DNS."""
    table: dict[str, list[str]] = {"internal.example": ["10.0.0.7"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror("not found")
        return table[host]

    monkeypatch.setattr(webhook_urls, "resolve", resolve)
    return table


async def test_each_private_kind_of_url_is_refused_at_registration(
    with_settings: Any, redis_client: Any, resolver: dict[str, list[str]]
) -> None:
    async with serve(with_settings(webhook_allow_private=False)) as http:
        for url, code in REFUSED:
            r = await http.post(
                "/v1/webhooks", json={"url": url, "events": ["draft.ready"]}, headers=ADMIN
            )
            assert (r.status_code, r.json()["code"]) == (400, code), url
        assert (await http.get("/v1/webhooks", headers=ADMIN)).json()["items"] == []


async def test_a_name_that_turns_private_after_registration_is_not_sent_to(
    settings: Settings, receiver: Receiver, redis_client: Any, resolver: dict[str, list[str]]
) -> None:
    """DNS rebinding: public at registration, private at the delivery: refused, recorded."""
    private = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "::ffff:127.0.0.1",
    ]
    names = [f"h{n}.example" for n in range(len(private))]
    for name in names:
        resolver[name] = ["93.184.216.34"]
    strict = replace(settings, webhook_allow_private=False, webhook_max_attempts=2)
    async with serve(strict, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await api.review("r1")
        hooks = [await register(http, f"https://{name}:{receiver.port}/hook") for name in names]
        for name, address in zip(names, private, strict=True):
            resolver[name] = [address]
        await publish(http, "r1", "Hello.")

        async def all_disabled() -> bool:
            for hook in hooks:
                e = (await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).json()
                if not e["disabled_since"]:
                    return False
            return True

        await until(all_disabled)
        assert receiver.got == []
        for hook, address in zip(hooks, private, strict=True):
            e = (await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).json()
            assert e["last_error"].startswith("webhook_url_not_public"), e
            assert address in e["last_error"]
            [d] = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN)).json()[
                "items"
            ]
            assert d["status_codes"] == [0, 0]


async def test_the_secret_never_appears_in_the_logs(
    settings: Settings, receiver: Receiver, redis_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    receiver.answers = [500]
    async with serve(replace(settings, log_level="DEBUG"), run_jobs=True) as http:
        api = Api(http)
        await api.company()
        await api.review("r1")
        hook = await register(http, receiver.url)
        rotated = (
            await http.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=ADMIN)
        ).json()
        await publish(http, "r1", "Hello.")
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 2))
    out, err = capfd.readouterr()
    assert "webhook_delivered" in out + err  # the logs were captured
    for secret in (hook["secret"], rotated["secret"]):
        body = secret.removeprefix("whsec_")
        assert body not in out and body not in err


async def test_a_rule_draft_announces_draft_ready_and_a_request_draft_does_not(
    settings: Settings, receiver: Receiver, llm: respx.MockRouter, redis_client: Any
) -> None:
    llm.route(host="127.0.0.1").pass_through()  # the receiver is real; only the model is mocked
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company()
        hook = await register(http, receiver.url, company_id="acme", events=["draft.ready"])
        await rules_on(http, stars=[1, 2])
        await api.review("r1", created_at=recent())
        [draft] = await until(lambda: drafts_of(http, "r1"))
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 1))
        r = await api.generate("r1")  # a person's draft: nothing waits in the inbox
        assert r.status_code == 201, r.text
        await publish(http, "r1", "Thank you, we are on it.")  # not subscribed
        await asyncio.sleep(1.0)
        [got] = receiver.got
        event = standardwebhooks.Webhook(hook["secret"]).verify(got.body, got.headers)
        assert event["type"] == "draft.ready"
        assert event["data"] == {
            "company_id": "acme",
            "review_id": "r1",
            "draft_id": draft["id"],
            "origin": "rule",
            "created_at": event["data"]["created_at"],
        }


async def test_usage_alerts_reach_the_receiver_once_a_month_each(
    settings: Settings, receiver: Receiver, llm: respx.MockRouter, redis_client: Any
) -> None:
    llm.route(host="127.0.0.1").pass_through()
    async with serve(settings, run_jobs=True) as http:
        api = Api(http)
        await api.company(monthly_draft_allowance=2, usage_alert_at=1)
        await api.review("r1")
        events = ["usage.low", "usage.exhausted"]
        hook = await register(http, receiver.url, company_id="acme", events=events)
        assert (await api.generate("r1")).status_code == 201  # 1 left: low
        assert (await api.generate("r1")).status_code == 201  # 0 left: exhausted
        refused = await api.generate("r1")
        assert refused.status_code == 402 and refused.json()["code"] == "quota_exhausted"
        await until(lambda: asyncio.sleep(0, len(receiver.got) >= 2))
        await asyncio.sleep(0.5)
        verifier = standardwebhooks.Webhook(hook["secret"])
        got = [verifier.verify(g.body, g.headers) for g in receiver.got]
        assert [e["type"] for e in got] == ["usage.low", "usage.exhausted"]
        assert [e["data"]["drafts_left"] for e in got] == [1, 0]
        assert all(e["data"]["company_id"] == "acme" for e in got)

"""Delivering webhooks: one attempt of one queued event to one endpoint, signed by the
Standard Webhooks library, and what follows from its answer.

Deliveries run on the job loop of the draft-rules jobs (``jobs.runner``), from each endpoint's
stream (``store.webhooks``): at least once (a worker that dies mid-attempt has the delivery
taken over after the lease, and it is sent again), always with the same ``webhook-id``. Per
attempt:

- the endpoint was deleted or disabled: the delivery is dropped (recorded as such);
- an earlier event of the same review is still queued for the endpoint: this one waits, without
  counting an attempt, until that one is finished (in order per review);
- its next attempt is not due yet (a backoff longer than the lease): it waits again;
- otherwise the URL is checked again (``webhook_urls``: public addresses only, connecting to the
  address checked) and the event is POSTed, no redirect followed, a short timeout, at most
  ``MAX_RESPONSE_BYTES`` of the answer read. A 2xx is delivered; anything else (another status,
  a refused address, a timeout) is a failed attempt, tried again after ``backoff_s`` doubling up
  to ``backoff_max_s``; after ``max_attempts`` the delivery has failed and the endpoint is
  disabled (``GET /v1/webhooks/{id}`` says since when and why).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import standardwebhooks
import structlog
from redis.exceptions import RedisError

from reply_assist import __version__, metrics
from reply_assist.runtime import Runtime
from reply_assist.services.webhook_urls import UrlRefused, target_of
from reply_assist.store.jobs import QueueStats
from reply_assist.store.webhooks import Delivery, DeliveryRecord, DeliveryState, rfc3339

__all__ = ["MAX_RESPONSE_BYTES", "DeliveryPolicy", "WebhookDeliveries", "send"]

log = structlog.get_logger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
_STOPPED_WORKER_IDLE_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease_s: float  # a delivery idle this long is taken over (its worker died)
    max_attempts: int
    backoff_s: float  # wait after the first failed attempt; doubling
    backoff_max_s: float  # the longest wait
    timeout_s: float
    allow_private: bool

    def backoff_ms(self, attempt: int) -> int:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return int(min(self.backoff_s * 2 ** min(attempt - 1, 40), self.backoff_max_s) * 1000)

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)

    @classmethod
    def of(cls, rt: Runtime) -> DeliveryPolicy:
        s = rt.settings
        return cls(
            lease_s=s.job_lease_s,
            max_attempts=s.webhook_max_attempts,
            backoff_s=s.webhook_backoff_s,
            backoff_max_s=s.webhook_backoff_max_s,
            timeout_s=s.webhook_timeout_s,
            allow_private=s.webhook_allow_private,
        )


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: no HTTP answer
    error: str | None  # None: delivered (2xx)


async def send(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    *,
    timeout_s: float,
    allow_private: bool,
) -> Answer:
    """One signed POST of ``body`` to ``url``, to the address checked just now."""
    try:
        target = await target_of(url, allow_private=allow_private)
    except UrlRefused as exc:
        return Answer(0, f"{exc.code}: {exc.detail}")
    now = datetime.now(UTC)
    signature = standardwebhooks.Webhook(secret).sign(message_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": f"reply-assist/{__version__} (webhooks)",
        "host": target.host_header,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    extensions = {"sni_hostname": target.host} if url.lower().startswith("https") else {}
    request = client.build_request(
        "POST", target.url, headers=headers, content=body, extensions=extensions
    )
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break  # the status is what counts; the rest is not read
            finally:
                await response.aclose()
    except TimeoutError:
        return Answer(0, f"timeout: no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Answer(0, f"connection_error: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return Answer(response.status_code, None)
    return Answer(response.status_code, f"http_status: {response.status_code}")


class WebhookDeliveries:
    """The webhook deliveries as the job loop (``jobs.runner``) runs them."""

    name = "webhook_delivery"

    def __init__(self, rt: Runtime, policy: DeliveryPolicy | None = None) -> None:
        self._rt = rt
        self.policy = policy or DeliveryPolicy.of(rt)
        # No proxy from the environment: the request must go to the address checked.
        self._client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(self.policy.timeout_s),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def owners(self) -> list[str]:
        return await self._rt.webhooks.ids()

    async def fetch(self, consumer: str, wants: dict[str, int]) -> list[Delivery]:
        return await self._rt.webhooks.queue.read(consumer, wants)

    async def due(self, consumer: str, owners: list[str], limit: int) -> list[Delivery]:
        queue = self._rt.webhooks.queue
        found = await queue.due(owners, self.policy.lease_ms, limit)
        by_owner: dict[str, list[tuple[str, int]]] = {}
        previous: dict[tuple[str, str], str] = {}
        for owner, entry_id, deliveries, who in found:
            by_owner.setdefault(owner, []).append((entry_id, deliveries))
            previous[(owner, entry_id)] = who
        claimed: list[Delivery] = []
        for owner, due in by_owner.items():
            claimed += await queue.claim(consumer, owner, due, self.policy.lease_ms)
        for d in claimed:
            if previous.get((d.endpoint_id, d.entry_id)) != consumer:
                metrics.WEBHOOK_DELIVERIES.labels("taken_over").inc()
        return claimed

    async def renew(self, consumer: str, jobs: list[Delivery]) -> None:
        await self._rt.webhooks.queue.renew(consumer, jobs)

    async def prepare(self, jobs: list[Delivery]) -> Callable[[str, Delivery], Awaitable[str]]:
        return self.run

    async def hand_back(self, consumer: str, job: Delivery) -> None:
        await self._rt.webhooks.queue.retry_after(
            consumer, job, self.policy.lease_ms, count_attempt=False
        )

    async def forget(self, owners: list[str]) -> int:
        return await self._rt.webhooks.queue.forget_idle_consumers(owners, _STOPPED_WORKER_IDLE_MS)

    async def stats(self, owners: list[str]) -> QueueStats:
        return await self._rt.webhooks.queue.stats(owners)

    def count(self, outcome: str) -> None:
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()

    def running(self, delta: int) -> None:
        metrics.WEBHOOKS_RUNNING.inc(delta)

    def measure(self, stats: QueueStats, oldest_age_s: float) -> None:
        metrics.WEBHOOKS_QUEUED.set(stats.queued)
        metrics.WEBHOOKS_PENDING.set(stats.pending)
        metrics.WEBHOOKS_OLDEST_QUEUED_AGE.set(oldest_age_s)

    # ---- one delivery -------------------------------------------------------------------

    async def run(self, consumer: str, d: Delivery) -> str:
        """One attempt (or a wait) of ``d``; its outcome. Raises only when Redis fails; the
        delivery then stays pending and is taken over after the lease."""
        rt, policy, queue = self._rt, self.policy, self._rt.webhooks.queue
        state = await rt.webhooks.state(d)
        endpoint = state.endpoint
        if endpoint is None or endpoint.disabled_since is not None:
            reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
            return await self._finish(consumer, d, state, "dropped", reason, None, {})
        if state.head is not None and state.head != d.entry_id:
            # An earlier event of this review is still queued: wait for it (woken when it is
            # finished; due after the lease at the latest).
            await queue.retry_after(consumer, d, 0, count_attempt=False)
            return "waiting"
        now_ms = int(time.time() * 1000)
        if state.due_ms > now_ms:
            wait = min(state.due_ms - now_ms, policy.lease_ms)
            await queue.retry_after(consumer, d, policy.lease_ms - wait, count_attempt=False)
            return "waiting"
        started = time.monotonic()
        answer = await send(
            self._client,
            endpoint.url,
            endpoint.secret,
            d.message_id,
            d.body.encode(),
            timeout_s=policy.timeout_s,
            allow_private=policy.allow_private,
        )
        outcome = "ok" if answer.error is None else "error"
        metrics.WEBHOOK_ATTEMPT_SECONDS.labels(outcome).observe(time.monotonic() - started)
        at = rfc3339(datetime.now(UTC))
        if answer.error is None:
            return await self._finish(
                consumer,
                d,
                state,
                "delivered",
                None,
                answer,
                {"attempts": "0", "last_attempt_at": at, "last_success_at": at},
            )
        failing = {"attempts": str(d.attempt), "last_attempt_at": at, "last_error": answer.error}
        if d.attempt >= policy.max_attempts:
            log.warning(
                "webhook_endpoint_disabled",
                endpoint_id=d.endpoint_id,
                webhook_id=d.message_id,
                attempts=d.attempt,
                error=answer.error,
            )
            return await self._finish(
                consumer, d, state, "failed", answer.error, answer, failing | {"disabled_since": at}
            )
        wait_ms = policy.backoff_ms(d.attempt)
        record = _recorded(d, state.record, "pending", answer.error, answer, at)
        record.next_attempt_at = rfc3339(datetime.fromtimestamp((now_ms + wait_ms) / 1000, UTC))
        await rt.webhooks.record_attempt(d, record, now_ms + wait_ms, failing)
        await queue.retry_after(
            consumer, d, policy.lease_ms - min(wait_ms, policy.lease_ms), count_attempt=True
        )
        metrics.WEBHOOK_DELIVERIES.labels("retried").inc()
        log.info(
            "webhook_retry",
            endpoint_id=d.endpoint_id,
            webhook_id=d.message_id,
            attempt=d.attempt,
            retry_in_s=wait_ms / 1000,
            error=answer.error,
        )
        return "retried"

    async def _finish(
        self,
        consumer: str,
        d: Delivery,
        state: DeliveryState,
        outcome: str,
        error: str | None,
        answer: Answer | None,
        endpoint_fields: dict[str, str],
    ) -> str:
        at = rfc3339(datetime.now(UTC))
        record = _recorded(d, state.record, outcome, error, answer, at)
        record.next_attempt_at = None
        if outcome == "delivered":
            record.delivered_at = at
        head = await self._rt.webhooks.finish(d, record, endpoint_fields)
        if head is not None:
            try:  # the review's next event: due at the next take-over, not after the lease
                await self._rt.webhooks.make_due(
                    consumer, d.endpoint_id, head, self.policy.lease_ms
                )
            except RedisError as exc:
                log.warning("webhook_wake_failed", error=type(exc).__name__)
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        log.info(
            f"webhook_{outcome}",
            endpoint_id=d.endpoint_id,
            webhook_id=d.message_id,
            event_type=d.event_type,
            attempt=d.attempt,
            status=answer.status if answer else None,
            error=error,
            waited_s=round(time.time() - d.queued_at_ms / 1000, 3),
        )
        return outcome


def _recorded(
    d: Delivery,
    record: DeliveryRecord | None,
    state: str,
    error: str | None,
    answer: Answer | None,
    at: str,
) -> DeliveryRecord:
    if record is None:  # trimmed from the recent ones: a fresh record (not stored)
        queued = rfc3339(datetime.fromtimestamp(d.queued_at_ms / 1000, UTC))
        record = DeliveryRecord(
            id=d.message_id, type=d.event_type, company_id=d.company_id, queued_at=queued
        )
    record.state = state
    if answer is not None:
        record.attempts = d.attempt
        record.status_codes = [*record.status_codes, answer.status][-50:]
        record.last_attempt_at = at
    if error is not None:
        record.last_error = error
    return record

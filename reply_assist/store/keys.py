"""The only place that names Redis keys.

Every key of one company lives under the hash tag ``{c:<company_id>}``, so that every script,
which only ever touches one company's keys, is atomic on one Redis Cluster slot. Ids may contain
``:`` (the contract allows ``[A-Za-z0-9._:-]``), so ``/`` (never in an id) separates the parts
after the tag: a review id can never be read as part of another key's name.
"""

from __future__ import annotations

__all__ = ["Keys"]


class Keys:
    def __init__(self, prefix: str) -> None:
        self._prefix = f"{prefix}:" if prefix else ""

    # Keys outside any company: one lookup per API key, and the list of companies.
    def api_key(self, token_hash: str) -> str:
        return f"{self._prefix}apikey/{token_hash}"

    def companies(self) -> str:
        return f"{self._prefix}companies"

    def outbox_index(self) -> str:
        """Companies that have ever published: the event relay looks at their outboxes."""
        return f"{self._prefix}outbox-index"

    def job_companies(self) -> str:
        """Set of the companies whose job stream workers read (added when rules are set)."""
        return f"{self._prefix}job-companies"

    def rate_limit(self, token_hash: str, window: int) -> str:
        """One API key's calls in one minute. The key's lookup name is the hash tag, so the
        script that reads the lookup and counts the call touches a single cluster slot."""
        return f"{{{self.api_key(token_hash)}}}/rate/{window}"

    def auth_failures(self, address: str) -> str:
        """Failed authentications from one client address in the current window
        (``services.auth_throttle``); the address is an IP, or an IPv6 /64 network."""
        return f"{self._prefix}auth-failures/{address}"

    def desk_session(self, session_hash: str) -> str:
        """A browser session of the reply desk (store/sessions.py), named by its id's hash."""
        return f"{self._prefix}desk-session/{session_hash}"

    # One company's keys.
    def _tag(self, company_id: str) -> str:
        return f"{self._prefix}{{c:{company_id}}}"

    def company(self, company_id: str) -> str:
        return f"{self._tag(company_id)}/company"

    def company_api_keys(self, company_id: str) -> str:
        return f"{self._tag(company_id)}/api-keys"

    def key_lookups(self, company_id: str) -> str:
        """Hash: token hash → lookup, for keys that name their company (``rak_<company>_…``), so
        that one script in the company's slot authenticates the key and serves the call."""
        return f"{self._tag(company_id)}/key-lookups"

    def company_rate_limit(self, company_id: str, token_hash: str, window: int) -> str:
        """One API key's calls in one minute, for keys that name their company."""
        return f"{self._tag(company_id)}/rate/{token_hash}/{window}"

    def review(self, company_id: str, review_id: str) -> str:
        """Hash: ``json`` (the review), ``lang``/``lang_reason`` (detected once), ``drafts``."""
        return f"{self._tag(company_id)}/r/{review_id}"

    def parse_review(self, key: str) -> tuple[str | None, str | None]:
        """(company id, review id) of a review hash's key; (None, None) for any other key."""
        head = f"{self._prefix}{{c:"
        if not key.startswith(head) or "}/r/" not in key:
            return None, None
        company_id, _, review_id = key[len(head) :].partition("}/r/")
        if not company_id or not review_id or "/" in review_id:
            return None, None
        return company_id, review_id

    def inflight(self, company_id: str, review_id: str) -> str:
        """Sorted set of generation reservations, scored by their expiry (ms since epoch)."""
        return f"{self._tag(company_id)}/r/{review_id}/inflight"

    def draft_ids(self, company_id: str, review_id: str) -> str:
        return f"{self._tag(company_id)}/r/{review_id}/drafts"

    def draft(self, company_id: str, review_id: str, draft_id: str) -> str:
        return f"{self._tag(company_id)}/r/{review_id}/d/{draft_id}"

    def votes(self, company_id: str, review_id: str, draft_id: str) -> str:
        return f"{self._tag(company_id)}/r/{review_id}/d/{draft_id}/votes"

    def reply_versions(self, company_id: str, review_id: str) -> str:
        return f"{self._tag(company_id)}/r/{review_id}/reply"

    def idempotency(self, company_id: str, review_id: str, key_hash: str) -> str:
        return f"{self._tag(company_id)}/r/{review_id}/idem/{key_hash}"

    def publish_idempotency(self, company_id: str, review_id: str, key_hash: str) -> str:
        """A publish's Idempotency-Key: its own, so a key reused on generate is another key."""
        return f"{self._tag(company_id)}/r/{review_id}/idem-publish/{key_hash}"

    def stats_counts(self, company_id: str, level: str, bucket: str) -> str:
        return f"{self._tag(company_id)}/stats/{level}/{bucket}"

    def stats_reviews(
        self,
        company_id: str,
        level: str,
        bucket: str,
        language: str | None = None,
        country: str | None = None,
    ) -> str:
        """HyperLogLog of the reviews that got a draft in the bucket (in that language, from
        that country)."""
        if country is not None:
            if language is not None:
                return (
                    f"{self._tag(company_id)}/stats-reviews-lang-country/{language}/{country}"
                    f"/{level}/{bucket}"
                )
            return f"{self._tag(company_id)}/stats-reviews-country/{country}/{level}/{bucket}"
        if language is not None:
            return f"{self._tag(company_id)}/stats-reviews-lang/{language}/{level}/{bucket}"
        return f"{self._tag(company_id)}/stats-reviews/{level}/{bucket}"

    def stats_days(self, company_id: str) -> str:
        """Sorted set of the days (epoch day numbers) that have any counted event."""
        return f"{self._tag(company_id)}/stats-days"

    def review_index(self, company_id: str, status: str, language: str, stars: str) -> str:
        """Sorted set of the reviews for the reply desk's list (see ``review_index``):
        ``status`` ``n``/``r`` (or ``d``: the ready sets, a draft waits and no reply yet),
        ``language`` a code, ``-`` (none) or ``*`` (any), ``stars`` ``1``..``5`` or ``*``."""
        return f"{self._tag(company_id)}/ix/{status}/{language}/{stars}"

    def voice(self, company_id: str) -> str:
        """List of published replies kept as examples of the company's voice, newest first."""
        return f"{self._tag(company_id)}/voice"

    def style(self, company_id: str) -> str:
        """Hash of the company's style profile: ``learned/<language>`` and ``pins``."""
        return f"{self._tag(company_id)}/style"

    def outbox(self, company_id: str) -> str:
        """Hash of publish events not yet appended to the events stream."""
        return f"{self._tag(company_id)}/outbox"

    def draft_rules(self, company_id: str) -> str:
        """The company's draft rules (JSON): which stored reviews get a draft in the background."""
        return f"{self._tag(company_id)}/draft-rules"

    def jobs(self, company_id: str) -> str:
        """The company's stream of background draft jobs (consumer group ``drafters``): in the
        company's slot, so a review's store queues its job and a draft's commit finishes it in
        the same script, and a Redis Cluster spreads companies' jobs over its shards."""
        return f"{self._tag(company_id)}/jobs"

    def company_webhooks(self, company_id: str) -> str:
        """Set of the webhook endpoints registered for this company only: read by every event
        of the company (with ``platform_webhooks``), so a company without any costs one read."""
        return f"{self._tag(company_id)}/webhooks"

    # Webhook endpoints: each endpoint's keys under its own hash tag ``{w:<endpoint id>}``, so
    # one script queues an event for it or finishes a delivery on one slot, and a Redis Cluster
    # spreads endpoints' queues over its shards.
    def webhooks(self) -> str:
        """Set of every webhook endpoint (the list, and the streams workers read)."""
        return f"{self._prefix}webhooks"

    def platform_webhooks(self) -> str:
        """Set of the endpoints registered without a company: they hear every company."""
        return f"{self._prefix}webhooks-platform"

    def _webhook_tag(self, endpoint_id: str) -> str:
        return f"{self._prefix}{{w:{endpoint_id}}}"

    def webhook(self, endpoint_id: str) -> str:
        """Hash: the endpoint (url, events, company, secret) and its delivery state."""
        return f"{self._webhook_tag(endpoint_id)}/endpoint"

    def webhook_queue(self, endpoint_id: str) -> str:
        """The endpoint's stream of deliveries not yet done (consumer group ``deliverers``)."""
        return f"{self._webhook_tag(endpoint_id)}/queue"

    def webhook_order(self, endpoint_id: str, order_key: str) -> str:
        """List of the queued deliveries of one review (``<company>/<review>``), oldest first:
        a delivery runs only at the head, so a review's events arrive in order."""
        return f"{self._webhook_tag(endpoint_id)}/order/{order_key}"

    def webhook_schedule(self, endpoint_id: str) -> str:
        """Hash: stream entry id → when its next attempt is due (ms), for backoffs longer than
        the lease (a stream entry's idle time can only bring it back within the lease)."""
        return f"{self._webhook_tag(endpoint_id)}/schedule"

    def webhook_deliveries(self, endpoint_id: str) -> str:
        """Hash: webhook-id → the delivery's record (JSON), for ``…/deliveries``."""
        return f"{self._webhook_tag(endpoint_id)}/deliveries"

    def webhook_recent(self, endpoint_id: str) -> str:
        """Sorted set of the delivery records kept, by when their event was queued (ms)."""
        return f"{self._webhook_tag(endpoint_id)}/recent"

    def webhook_seen(self, endpoint_id: str, message_id: str) -> str:
        """Marks an event as queued for the endpoint, so queueing it again (the publish
        outbox's relay after a failure) queues nothing."""
        return f"{self._webhook_tag(endpoint_id)}/seen/{message_id}"

    def usage(self, company_id: str) -> str:
        """Hash of the company's drafts (services/usage.py): ``allowance`` (absent: unlimited),
        ``alert_at`` and ``credits`` (bought drafts left), kept by the company's settings and
        its purchases, read by the reservation and the commit scripts."""
        return f"{self._tag(company_id)}/usage"

    def usage_month(self, company_id: str, month: str) -> str:
        """Hash of one calendar month (``YYYY-MM``, UTC) of the company's drafts: ``a`` used
        from the allowance, ``c`` from credits, ``o:<origin>`` drafts, ``p:``/``k:``/``cp:``
        ``<model>`` prompt, completion and cached prompt tokens, ``low``/``exhausted`` alerts
        sent."""
        return f"{self._tag(company_id)}/usage/{month}"

    def usage_held(self, company_id: str) -> str:
        """Sorted set of the company's drafts held by calls in flight (member = the slot's
        token, score = expiry in ms), only for a company with an allowance."""
        return f"{self._tag(company_id)}/usage-held"

    def credit_references(self, company_id: str) -> str:
        """Hash: a credit purchase's reference → what it added (the same reference adds once)."""
        return f"{self._tag(company_id)}/credit-refs"

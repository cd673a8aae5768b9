"""The project's errors, and the one place that turns them into RFC 9457 problem details.

Every error a client can see has a stable snake_case ``code``; clients switch on it. Every code,
with its status and meaning, is listed in ``ERROR_CODES`` at the end (docs/api.md shows it).

    ReplyAssistError                     (status, code, title, detail, headers)
    ├── ClientError                      4xx: the request cannot be served as sent
    │   ├── InvalidRequest               400 invalid_request (names the field), invalid_cursor,
    │   │                                    reply_blank, invalid_month
    │   ├── Unauthorized                 401 unauthorized
    │   ├── PaymentRequired              402 quota_exhausted (+ renews_at; no Retry-After)
    │   ├── Forbidden                    403 forbidden / plan_not_eligible
    │   ├── NotFound                     404 company_not_found, review_not_found, ...
    │   ├── Conflict                     409 idempotency_key_in_use, draft_already_published
    │   ├── UnsupportedMediaType         415 unsupported_media_type (a body that is not JSON)
    │   ├── Unprocessable                422 a refusal rule (review_too_short, ...)
    │   └── RateLimited                  429 rate_limited, too_many_auth_failures (Retry-After)
    └── UpstreamError                    503: a dependency failed; retry later (Retry-After)
        ├── LLMUnavailable               503 llm_unavailable (+ cause)
        │   └── LLMBusy                  503 llm_busy (no free model connection in time)
        └── StoreUnavailable             503 store_unavailable

An ``llm_unavailable`` problem also carries ``cause``, what went wrong in words a program can
switch on (the ``code`` stays ``llm_unavailable`` whatever the cause): ``connection_refused``,
``dns``, ``tls``, ``timeout``, ``connection_error`` (reset, closed, no route), ``http_status``
(the model answered an HTTP error; the detail gives the status), ``empty_completion``,
``malformed_response``, ``model_error`` (an error event inside the model's stream).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

__all__ = [
    "ERROR_CODES",
    "PROBLEM_MEDIA_TYPE",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "LLMBusy",
    "LLMUnavailable",
    "NotFound",
    "PaymentRequired",
    "Problem",
    "RateLimited",
    "ReplyAssistError",
    "StoreUnavailable",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "UpstreamError",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://reply-assist.dev/problems/"


class Problem(msgspec.Struct, omit_defaults=True):
    """The wire form of an error (RFC 9457), with our ``code`` extension."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, str]] | None = None
    cause: str | None = None  # why a dependency failed (llm_unavailable)
    renews_at: str | None = None  # when the month's drafts renew (quota_exhausted)


class ReplyAssistError(Exception):
    """Base of every error this service raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    cause: str | None = None
    renews_at: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.headers = headers or {}
        self.errors = errors

    def to_problem(self) -> Problem:
        return Problem(
            type=_TYPE_BASE + self.code,
            title=self.title,
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
            cause=self.cause,
            renews_at=self.renews_at,
        )


class ClientError(ReplyAssistError):
    status = 400
    default_code = "bad_request"
    title = "Bad request"


class InvalidRequest(ClientError):
    status = 400
    default_code = "invalid_request"
    title = "Invalid request"


class Unauthorized(ClientError):
    status = 401
    default_code = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="reply-assist"'})


class PaymentRequired(ClientError):
    """The company has no draft left this month (402): no Retry-After, which would promise that
    waiting a moment helps; ``renews_at`` says when the allowance renews."""

    status = 402
    default_code = "quota_exhausted"
    title = "No drafts left"

    def __init__(self, detail: str, *, renews_at: str) -> None:
        super().__init__(detail)
        self.renews_at = renews_at


class Forbidden(ClientError):
    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class NotFound(ClientError):
    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(ClientError):
    status = 409
    default_code = "conflict"
    title = "Conflict"


class UnsupportedMediaType(ClientError):
    status = 415
    default_code = "unsupported_media_type"
    title = "Unsupported media type"


class Unprocessable(ClientError):
    """A request that is well formed but refused by one of the product's rules."""

    status = 422
    default_code = "unprocessable"
    title = "Refused by a rule"


class RateLimited(ClientError):
    status = 429
    default_code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self, retry_after_s: int, detail: str | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(
            detail or f"Too many requests for this API key; retry in {retry_after_s} s.",
            code=code,
            headers={"Retry-After": str(retry_after_s)},
        )


class UpstreamError(ReplyAssistError):
    """A dependency failed. Nothing was counted; the client may retry after ``Retry-After``."""

    status = 503
    default_code = "upstream_unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5, cause: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = max(1, retry_after_s)
        self.cause = cause


class LLMUnavailable(UpstreamError):
    default_code = "llm_unavailable"
    title = "Language model unavailable"


class LLMBusy(LLMUnavailable):
    """Every model connection this process may use was taken for longer than the queue wait.

    Raised before the model is called (so never charged to the model's timeout); a subclass of
    ``LLMUnavailable`` because the caller's answer is the same: nothing counted, retry later.
    """

    default_code = "llm_busy"
    title = "Language model busy"


class StoreUnavailable(UpstreamError):
    default_code = "store_unavailable"
    title = "Store unavailable"


# Every code a client can see, with its status and what it means: the error reference in
# docs/api.md is generated from this table (python -m reply_assist.apidoc), and a test fails when
# the code raises a code that is not here. Add a new code here when you add it to the code.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (
        400,
        "Malformed ids, body, query or header: a wrong type, a missing required field or an "
        "out-of-range value; `detail` names the field.",
    ),
    "bad_request": (400, "A request the service cannot read for another reason."),
    "invalid_cursor": (
        400,
        "The review list's `cursor` is not a `next_cursor` of this list with these filters; "
        "start again without one.",
    ),
    "reply_blank": (
        400,
        "A reply or an edit has no visible character (only white space, zero-width or other "
        "invisible characters).",
    ),
    "webhook_event_unknown": (
        400,
        "A webhook's `events` is empty or names an unknown event type; `detail` lists the "
        "event types.",
    ),
    "webhook_url_invalid": (
        400,
        "A webhook's `url` cannot be read, has no host, or carries a user or password.",
    ),
    "webhook_url_not_https": (
        400,
        "A webhook's `url` is not `https` (`http` only with `REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE`).",
    ),
    "webhook_url_not_public": (
        400,
        "A webhook's `url` resolves to a loopback, private, link-local, multicast or other "
        "non-public address (refused unless `REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE`).",
    ),
    "webhook_url_unresolvable": (400, "A webhook's `url` names a host that does not resolve."),
    "vote_missing": (400, "The reply desk's feedback form was sent without thumbs up or down."),
    "invalid_month": (400, "`month` is not a calendar month written `YYYY-MM`."),
    "unauthorized": (401, "No bearer token, or a token that is unknown or revoked."),
    "quota_exhausted": (
        402,
        "The company has no draft left this month: its `monthly_draft_allowance` is used and "
        "no bought drafts (credits) are left. `renews_at` says when the allowance renews; an "
        "admin can add credits (`POST …/credits`).",
    ),
    "forbidden": (
        403,
        "The token is valid but may not do this: a role without the right, or another "
        "company's key (refused before any lookup, so nothing says whether it exists).",
    ),
    "plan_not_eligible": (
        403,
        "Drafts are an Enterprise-plan feature; the company's `plan` is `standard`.",
    ),
    "csrf_failed": (
        403,
        "A reply desk form that came from another site, or without the session's form token.",
    ),
    "not_found": (404, "No such route."),
    "company_not_found": (404, "No company with this id."),
    "review_not_found": (404, "No review with this id for this company."),
    "draft_not_found": (404, "No draft with this id for this review."),
    "reply_not_found": (404, "The review has no published reply."),
    "api_key_not_found": (404, "No API key with this id for this company."),
    "webhook_not_found": (404, "No webhook endpoint with this id."),
    "method_not_allowed": (405, "The path exists, but not with this method."),
    "not_acceptable": (406, "The `Accept` header allows no type the service can answer with."),
    "idempotency_key_in_use": (
        409,
        "The first call with this `Idempotency-Key` is still running; retry later.",
    ),
    "draft_already_published": (
        409,
        "The draft was published as a reply: edit the reply (`PUT …/reply`), not the draft.",
    ),
    "payload_too_large": (413, "The body is over 64 KiB."),
    "unsupported_media_type": (415, "The body is not JSON."),
    "product_review_not_supported": (422, "Drafts are for company reviews, not product reviews."),
    "review_reported": (422, "The review has been reported."),
    "review_too_short": (422, "The review text has four words or fewer."),
    "review_in_grace_period": (
        422,
        "The review was created before the company's `contract_start` + 48 hours.",
    ),
    "language_not_supported": (
        422,
        "The review's language is not one of the company's `languages`, or cannot be told.",
    ),
    "generation_limit_reached": (
        422,
        "10 drafts have been generated for this review (generations in progress count).",
    ),
    "idempotency_key_reused": (
        422,
        "This `Idempotency-Key` was used before with a different body.",
    ),
    "rate_limited": (
        429,
        "Too many requests a minute for this API key; wait `Retry-After` seconds.",
    ),
    "too_many_auth_failures": (
        429,
        "Too many failed authentications (bearer tokens, desk sign-ins) from this client "
        "address in the window (`REPLY_ASSIST_AUTH_FAILURE_LIMIT` in "
        "`REPLY_ASSIST_AUTH_FAILURE_WINDOW_S`); every token is refused from it until "
        "`Retry-After` seconds have passed.",
    ),
    "llm_busy": (
        503,
        "Every model connection this company may use stayed taken for the queue wait "
        "(`REPLY_ASSIST_LLM_QUEUE_WAIT_S`); nothing was counted. Retry after `Retry-After` "
        "seconds.",
    ),
    "internal_error": (500, "A bug: the log has the details under the response's request id."),
    "llm_unavailable": (
        503,
        "The model failed, timed out, rate-limited or answered badly; nothing was counted. "
        "Retry after `Retry-After` seconds.",
    ),
    "store_unavailable": (
        503,
        "Redis is unreachable or timed out; nothing was counted. Retry after `Retry-After` "
        "seconds.",
    ),
}

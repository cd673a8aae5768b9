"""The project's errors, and the one place that turns them into RFC 9457 problem details.

Every error a client can see has a stable snake_case ``code``; clients switch on it.

    ReplyAssistError                     (status, code, title, detail, headers)
    ├── ClientError                      4xx: the request cannot be served as sent
    │   ├── InvalidRequest               400 invalid_request (names the field), reply_blank
    │   ├── Unauthorized                 401 unauthorized
    │   ├── Forbidden                    403 forbidden / plan_not_eligible
    │   ├── NotFound                     404 company_not_found, review_not_found, ...
    │   ├── Conflict                     409 idempotency_key_in_use, draft_already_published
    │   ├── Unprocessable                422 a refusal rule (review_too_short, ...)
    │   └── RateLimited                  429 rate_limited (Retry-After)
    └── UpstreamError                    503: a dependency failed; retry later (Retry-After)
        ├── LLMUnavailable               503 llm_unavailable
        │   └── LLMBusy                  503 llm_busy (no free model connection in time)
        └── StoreUnavailable             503 store_unavailable
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "LLMBusy",
    "LLMUnavailable",
    "NotFound",
    "Problem",
    "RateLimited",
    "ReplyAssistError",
    "StoreUnavailable",
    "Unauthorized",
    "Unprocessable",
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


class ReplyAssistError(Exception):
    """Base of every error this service raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

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


class Unprocessable(ClientError):
    """A request that is well formed but refused by one of the product's rules."""

    status = 422
    default_code = "unprocessable"
    title = "Refused by a rule"


class RateLimited(ClientError):
    status = 429
    default_code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Too many requests for this API key; retry in {retry_after_s} s.",
            headers={"Retry-After": str(retry_after_s)},
        )


class UpstreamError(ReplyAssistError):
    """A dependency failed. Nothing was counted; the client may retry after ``Retry-After``."""

    status = 503
    default_code = "upstream_unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = max(1, retry_after_s)


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

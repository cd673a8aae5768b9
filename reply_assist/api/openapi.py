"""Completing the OpenAPI schema where Litestar's generation cannot know the contract.

Litestar documents what handlers declare; it cannot know that every error is an RFC 9457 problem
(our exception handlers make them), that ``/v1`` takes a bearer token (our middleware checks it),
who may call each operation (each handler's ``authorize`` call), which error codes it can
answer, that a PUT answers 201 when it creates, or that list items carry a pattern. Each is added
here, once, when the app is built; ``ACCESS`` is the table of who and which codes, and
docs/api.md is generated from the result (``python -m reply_assist.apidoc``). A test checks
``ACCESS`` against what each route really lets every role do.
"""

from __future__ import annotations

import copy
from http import HTTPStatus

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)

from reply_assist.errors import ERROR_CODES, PROBLEM_MEDIA_TYPE
from reply_assist.iso639 import ISO_639_1
from reply_assist.iso3166 import ISO_3166_1_ALPHA_2
from reply_assist.markets import MAX_STAR_SHIFT
from reply_assist.models import MAX_DRAFTS

__all__ = ["ACCESS", "PRINCIPALS", "Access", "complete_schema", "who_may"]

# Who calls: the platform admin (the configured token) or a company's key with one of the roles.
PRINCIPALS = ("admin", "dashboard", "agent", "analyst")
_ANY = ("admin", "dashboard", "agent", "analyst")
_WRITERS = ("admin", "dashboard", "agent")
_AGENT = ("admin", "agent")
_REVIEW = "/v1/companies/{company_id}/reviews/{review_id}"
_REFUSALS = (
    "product_review_not_supported",
    "review_reported",
    "review_too_short",
    "review_in_grace_period",
    "language_not_supported",
    "generation_limit_reached",
    "idempotency_key_reused",
)


class Access:
    """Who may call an operation, and the codes it answers beyond every /v1 call's own."""

    __slots__ = ("codes", "principals")

    def __init__(self, principals: tuple[str, ...], *codes: str) -> None:
        self.principals = principals
        self.codes = codes


# (method, path) -> who and which codes. Every /v1 operation must be here (a test says so).
ACCESS: dict[tuple[str, str], Access] = {
    ("put", "/v1/companies/{company_id}"): Access(("admin",)),
    ("get", "/v1/companies/{company_id}"): Access(_ANY, "company_not_found"),
    ("post", "/v1/companies/{company_id}/api-keys"): Access(("admin",), "company_not_found"),
    ("get", "/v1/companies/{company_id}/api-keys"): Access(("admin",)),
    ("delete", "/v1/companies/{company_id}/api-keys/{key_id}"): Access(
        ("admin",), "api_key_not_found"
    ),
    ("get", "/v1/companies/{company_id}/reviews"): Access(
        _ANY, "company_not_found", "invalid_cursor"
    ),
    ("post", "/v1/webhooks"): Access(
        ("admin",),
        "webhook_event_unknown",
        "webhook_url_invalid",
        "webhook_url_not_https",
        "webhook_url_not_public",
        "webhook_url_unresolvable",
        "company_not_found",
    ),
    ("get", "/v1/webhooks"): Access(("admin",)),
    ("get", "/v1/webhooks/{endpoint_id}"): Access(("admin",), "webhook_not_found"),
    ("delete", "/v1/webhooks/{endpoint_id}"): Access(("admin",), "webhook_not_found"),
    ("post", "/v1/webhooks/{endpoint_id}/rotate-secret"): Access(("admin",), "webhook_not_found"),
    ("get", "/v1/webhooks/{endpoint_id}/deliveries"): Access(("admin",), "webhook_not_found"),
    ("put", _REVIEW): Access(_WRITERS, "company_not_found"),
    ("get", _REVIEW): Access(_ANY, "review_not_found"),
    ("get", f"{_REVIEW}/eligibility"): Access(_ANY, "company_not_found", "review_not_found"),
    ("post", f"{_REVIEW}/drafts"): Access(
        _WRITERS,
        "plan_not_eligible",
        "company_not_found",
        "review_not_found",
        "idempotency_key_in_use",
        *_REFUSALS,
        "quota_exhausted",
        "llm_unavailable",
        "llm_busy",
    ),
    ("get", f"{_REVIEW}/drafts"): Access(_ANY, "review_not_found"),
    ("get", f"{_REVIEW}/drafts/{{draft_id}}"): Access(_ANY, "draft_not_found"),
    ("patch", f"{_REVIEW}/drafts/{{draft_id}}"): Access(
        _AGENT, "reply_blank", "draft_not_found", "draft_already_published"
    ),
    ("post", f"{_REVIEW}/drafts/{{draft_id}}/feedback"): Access(_WRITERS, "draft_not_found"),
    ("put", f"{_REVIEW}/reply"): Access(
        _AGENT,
        "reply_blank",
        "review_not_found",
        "draft_not_found",
        "idempotency_key_in_use",
        "idempotency_key_reused",
    ),
    ("get", f"{_REVIEW}/reply"): Access(_ANY, "reply_not_found"),
    ("get", "/v1/companies/{company_id}/feedback/stats"): Access(
        ("admin", "analyst"), "company_not_found"
    ),
    ("get", "/v1/feedback/stats"): Access(("admin",)),
    ("get", "/v1/companies/{company_id}/draft-rules"): Access(_ANY, "company_not_found"),
    ("put", "/v1/companies/{company_id}/draft-rules"): Access(_AGENT, "company_not_found"),
    ("post", "/v1/companies/{company_id}/draft-rules/run"): Access(_AGENT, "company_not_found"),
    ("get", "/v1/companies/{company_id}/style"): Access(_ANY, "company_not_found"),
    ("put", "/v1/companies/{company_id}/style"): Access(_AGENT, "company_not_found"),
    ("get", "/v1/companies/{company_id}/usage"): Access(
        ("admin", "analyst"), "company_not_found", "invalid_month"
    ),
    ("post", "/v1/companies/{company_id}/credits"): Access(("admin",), "company_not_found"),
}
# What every /v1 call can answer, whoever calls it.
_EVERY_V1_CODE = (
    "invalid_request",
    "unauthorized",
    "forbidden",
    "payload_too_large",
    "rate_limited",
    "store_unavailable",
)
_WHO = {
    "admin": "the platform admin",
    "dashboard": "`dashboard`",
    "agent": "`agent`",
    "analyst": "`analyst`",
}

_ERRORS = {
    400: "Malformed ids, body or query (`invalid_request`, naming the field in `detail` and "
    "`errors[].field`; a value outside a fixed set lists the allowed ones), a list cursor "
    "that is not this list's (`invalid_cursor`), or a reply or edit with no visible character "
    "(`reply_blank`).",
    401: "Missing or unknown token (`unauthorized`).",
    402: "The company has no draft left this month (`quota_exhausted`): `renews_at` says when "
    "its allowance renews; there is no Retry-After, since waiting a moment does not help.",
    403: "The key's role or company does not allow this (`forbidden`: the detail names the "
    "role needed, or says the key is another company's), or the plan (`plan_not_eligible`).",
    404: "No such company, review, draft, reply or key (`…_not_found`).",
    409: "This Idempotency-Key's first call is still running (`idempotency_key_in_use`); a "
    "published draft cannot be edited (`draft_already_published`).",
    413: "The body is over 64 KiB (`payload_too_large`).",
    415: "A body not sent as `Content-Type: application/json` (`unsupported_media_type`).",
    422: "Refused by a rule (`review_too_short`, `generation_limit_reached`, …) or an "
    "Idempotency-Key reused with another body (`idempotency_key_reused`).",
    429: "Too many requests for this API key (`rate_limited`); Retry-After is the wait after "
    "which one more call fits.",
    503: "A dependency failed (`llm_unavailable`, `store_unavailable`), or every model "
    "connection this company may use stayed taken for the queue wait (`llm_busy`); see "
    "Retry-After. Nothing was counted. `cause` says why the model failed: `connection_refused`, "
    "`dns`, `tls`, `timeout`, `connection_error`, `http_status`, `empty_completion`, "
    "`malformed_response`, `model_error`.",
}
_RETRY_AFTER: dict[str, OpenAPIHeader | Reference] = {
    "Retry-After": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER), description="Seconds to wait before retrying."
    )
}
_METHODS = ("get", "put", "post", "patch", "delete")


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail", "code"],
        properties={
            "type": text,
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
            "code": Schema(type=OpenAPIType.STRING, description="Stable; switch on this."),
            "cause": Schema(
                type=OpenAPIType.STRING,
                description="Why a dependency failed (503 `llm_unavailable`): "
                "`connection_refused`, `dns`, `tls`, `timeout`, `connection_error`, "
                "`http_status`, `empty_completion`, `malformed_response`, `model_error`.",
            ),
            "renews_at": Schema(
                type=OpenAPIType.STRING,
                format=OpenAPIFormat.DATE_TIME,
                description="When the company's monthly allowance renews (402 `quota_exhausted`).",
            ),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(
                    type=OpenAPIType.OBJECT, additional_properties=Schema(type=OpenAPIType.STRING)
                ),
            ),
        },
        description="RFC 9457 problem details with a stable `code`.",
    )


def _error_statuses(path: str, method: str) -> set[int]:
    if path == "/readyz":
        return {503}
    if not path.startswith("/v1/"):
        return set()
    statuses = {400, 401, 403, 413, 429, 503}
    if method in ("put", "post", "patch"):
        statuses.add(415)
    if "{" in path:
        statuses.add(404)
    if method == "post" and path.endswith("/drafts"):
        statuses |= {402, 409, 422}
    if method == "put" and path.endswith("/reply"):  # Idempotency-Key, as on generate
        statuses |= {409, 422}
    if method == "patch" and "/drafts/" in path:  # a published draft
        statuses.add(409)
    return statuses


def who_may(principals: tuple[str, ...]) -> str:
    """``the platform admin, and keys of the company with role `agent``` (a sentence part)."""
    roles = [_WHO[p] for p in principals if p != "admin"]
    if not roles:
        return "the platform admin only"
    keys = roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1]
    return f"the platform admin, and the company's keys with role {keys}"


def _document(operation: Operation, path: str, method: str) -> None:
    responses = operation.responses if operation.responses is not None else {}
    operation.responses = responses
    problem = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    access = ACCESS.get((method, path))
    codes_by_status: dict[int, list[str]] = {}
    if access is not None:
        for code in (*_EVERY_V1_CODE, *access.codes):
            codes_by_status.setdefault(ERROR_CODES[code][0], []).append(code)
        who = f"Who may call it: {who_may(access.principals)}."
        operation.description = (
            f"{operation.description}\n\n{who}" if operation.description else who
        )
    statuses = set(codes_by_status) if access is not None else _error_statuses(path, method)
    for status in sorted(statuses):
        headers = _RETRY_AFTER if status in (429, 503) else None
        description = _ERRORS.get(status, "Not ready.")
        if status in codes_by_status:
            codes = ", ".join(f"`{code}`" for code in codes_by_status[status])
            description = f"{HTTPStatus(status).phrase}: {codes}."
        responses[str(status)] = OpenAPIResponse(
            description=description,
            content={PROBLEM_MEDIA_TYPE: problem},
            headers=headers,
        )
    if path.startswith("/v1/"):
        operation.security = [{"bearer": []}]
    ok = responses.get("200")
    creates = not path.endswith("/draft-rules")  # a company's rules always exist (off)
    if method == "put" and creates and isinstance(ok, OpenAPIResponse) and "201" not in responses:
        created = copy.copy(ok)
        created.description = "Created."
        responses["201"] = created


def _document_languages(schemas: dict[str, Schema]) -> None:
    """The ISO 639-1 codes themselves, not just "two letters" (models.py checks the list).

    Litestar drops constraints on list items, and a pattern of two letters lets a client (or a
    schema-driven test) send ``"xx"``. Lower case here; the service also takes upper case.
    """
    codes = sorted(ISO_639_1)
    company_in = schemas.get("CompanyIn")
    if isinstance(company_in, Schema) and company_in.properties:
        languages = company_in.properties.get("languages")
        if isinstance(languages, Schema) and isinstance(languages.items, Schema):
            languages.items.enum = list(codes)
            languages.items.pattern = None
            languages.items.description = "ISO 639-1 code"
    rules_in = schemas.get("DraftRulesIn")
    if isinstance(rules_in, Schema) and rules_in.properties:
        languages = rules_in.properties.get("languages")
        arrays = [languages, *(languages.one_of or [])] if isinstance(languages, Schema) else []
        for option in arrays:
            if isinstance(option, Schema) and isinstance(option.items, Schema):
                option.items.enum = list(codes)
                option.items.pattern = None
                option.items.description = "ISO 639-1 code"
    review_in = schemas.get("ReviewIn")
    if isinstance(review_in, Schema) and review_in.properties:
        hint = review_in.properties.get("language")
        if isinstance(hint, Schema):
            hint.pattern = f"^({'|'.join(codes)})([-_][A-Za-z0-9]{{2,8}})?$"
    style_in = schemas.get("StyleIn")
    if isinstance(style_in, Schema) and style_in.properties:
        by_language = style_in.properties.get("languages")
        if isinstance(by_language, Schema):  # the keys: Litestar drops their constraint
            by_language.property_names = Schema(
                type=OpenAPIType.STRING, enum=list(codes), description="ISO 639-1 code"
            )


def _document_countries(schemas: dict[str, Schema]) -> None:
    """The ISO 3166-1 alpha-2 codes themselves (models.py checks the list), in upper case (the
    service also takes lower case), and the range of a market's shift, which Litestar drops
    from a mapping's values."""
    codes = sorted(ISO_3166_1_ALPHA_2)
    company_in = schemas.get("CompanyIn")
    if isinstance(company_in, Schema) and company_in.properties:
        shifts = company_in.properties.get("market_star_shift")
        if isinstance(shifts, Schema):
            shifts.property_names = Schema(type=OpenAPIType.STRING, enum=list(codes))
            shifts.additional_properties = Schema(
                type=OpenAPIType.INTEGER, minimum=-MAX_STAR_SHIFT, maximum=MAX_STAR_SHIFT
            )
    review_in = schemas.get("ReviewIn")
    if isinstance(review_in, Schema) and review_in.properties:
        country = review_in.properties.get("country")
        if isinstance(country, Schema):
            for option in country.one_of or ():
                if isinstance(option, Schema) and option.type == OpenAPIType.STRING:
                    option.enum = list(codes)


def _document_allowances(schemas: dict[str, Schema]) -> None:
    """The range of a company's draft counts: Litestar drops a ``minimum`` of 0 (falsy)."""
    company_in = schemas.get("CompanyIn")
    if not isinstance(company_in, Schema) or not company_in.properties:
        return
    for name in ("monthly_draft_allowance", "usage_alert_at"):
        count = company_in.properties.get(name)
        if isinstance(count, Schema):
            count.maximum = None
            count.one_of = [
                Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_DRAFTS),
                Schema(type=OpenAPIType.NULL),
            ]


def complete_schema(schema: OpenAPI) -> None:
    components = schema.components
    components.schemas = components.schemas or {}
    components.schemas["Problem"] = _problem_schema()
    components.security_schemes = {
        "bearer": SecurityScheme(
            type="http",
            scheme="bearer",
            description="The platform admin token, or a company's API key (`rak_…`).",
        )
    }
    _document_languages(components.schemas)
    _document_countries(components.schemas)
    _document_allowances(components.schemas)
    for path, item in (schema.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                _document(operation, path, method)

"""Completing the OpenAPI schema where Litestar's generation cannot know the contract.

Litestar documents what handlers declare; it cannot know that every error is an RFC 9457 problem
(our exception handlers make them), that ``/v1`` takes a bearer token (our middleware checks it),
that a PUT answers 201 when it creates, or that list items carry a pattern. Each is added here,
once, when the app is built.
"""

from __future__ import annotations

import copy

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)

from reply_assist.errors import PROBLEM_MEDIA_TYPE

__all__ = ["complete_schema"]

_ERRORS = {
    400: "Malformed ids, body or query (`invalid_request`, naming the field); a reply text "
    "with nothing but white space (`reply_blank`).",
    401: "Missing or unknown token (`unauthorized`).",
    403: "The key's role or company does not allow this (`forbidden`, `plan_not_eligible`).",
    404: "No such company, review, draft, reply or key (`…_not_found`).",
    409: "This Idempotency-Key's first call is still running (`idempotency_key_in_use`); a "
    "published draft cannot be edited (`draft_already_published`).",
    413: "The body is over 64 KiB (`payload_too_large`).",
    422: "Refused by a rule (`review_too_short`, `generation_limit_reached`, …) or an "
    "Idempotency-Key reused with another body (`idempotency_key_reused`).",
    429: "Too many requests for this API key (`rate_limited`); see Retry-After.",
    503: "A dependency failed (`llm_unavailable`, `store_unavailable`), or every model "
    "connection this company may use stayed taken for the queue wait (`llm_busy`); see "
    "Retry-After. Nothing was counted.",
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
    if "{" in path:
        statuses.add(404)
    if method == "post" and path.endswith("/drafts"):
        statuses |= {409, 422}
    if method == "put" and path.endswith("/reply"):  # Idempotency-Key, as on generate
        statuses |= {409, 422}
    if method == "patch" and "/drafts/" in path:  # a published draft
        statuses.add(409)
    return statuses


def _document(operation: Operation, path: str, method: str) -> None:
    responses = operation.responses if operation.responses is not None else {}
    operation.responses = responses
    problem = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    for status in sorted(_error_statuses(path, method)):
        headers = _RETRY_AFTER if status in (429, 503) else None
        responses[str(status)] = OpenAPIResponse(
            description=_ERRORS.get(status, "Not ready."),
            content={PROBLEM_MEDIA_TYPE: problem},
            headers=headers,
        )
    if path.startswith("/v1/"):
        operation.security = [{"bearer": []}]
    ok = responses.get("200")
    if method == "put" and isinstance(ok, OpenAPIResponse) and "201" not in responses:
        created = copy.copy(ok)
        created.description = "Created."
        responses["201"] = created


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
    # Litestar drops constraints on list items: a company's languages are ISO 639-1 codes.
    company_in = components.schemas.get("CompanyIn")
    if isinstance(company_in, Schema) and company_in.properties:
        languages = company_in.properties.get("languages")
        if isinstance(languages, Schema) and isinstance(languages.items, Schema):
            languages.items.pattern = r"^[A-Za-z]{2}$"
    for path, item in (schema.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                _document(operation, path, method)

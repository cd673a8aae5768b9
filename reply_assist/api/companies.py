"""Companies and their API keys (the platform admin's side)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta

from reply_assist.api.common import CompanyId, principal_of
from reply_assist.auth import ANY_ROLE, authorize, new_api_key, require_admin
from reply_assist.drafting.language import normalize_language
from reply_assist.errors import NotFound
from reply_assist.models import Company, CompanyIn, Role
from reply_assist.runtime import Runtime
from reply_assist.services.lookups import require_company
from reply_assist.store.companies import ApiKeyRecord

__all__ = ["CompanyController"]


class ApiKeyIn(msgspec.Struct):
    role: Role
    label: Annotated[str, Meta(max_length=200)] | None = None


class ApiKeyCreated(msgspec.Struct):
    id: str
    # Shown once; only its hash is kept.
    key: Annotated[
        str,
        Meta(
            description="The key, shown once (only its SHA-256 hash is kept): "
            "`rak_<company id>_<secret>`, the company id with `:` written `~`, then 256 random "
            "bits. Send it as `Authorization: Bearer <key>`."
        ),
    ]
    role: Role
    created_at: str
    label: str | None = None


class ApiKeyOut(msgspec.Struct):
    id: str
    role: Role
    created_at: str
    label: str | None = None


class ApiKeyList(msgspec.Struct):
    items: list[ApiKeyOut]


class CompanyController(Controller):
    path = "/companies/{company_id:str}"
    tags = ["companies"]

    @put(summary="Create or replace a company (platform admin)", status_code=200)
    async def put_company(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[CompanyIn],
    ) -> Response[Company]:
        require_admin(principal_of(request))
        company = Company(
            id=company_id,
            name=data.name,
            plan=data.plan,
            contract_start=data.contract_start,
            languages=list(dict.fromkeys(normalize_language(code) for code in data.languages)),
            brand_voice=data.brand_voice,
            signature=data.signature,
            updated_at=datetime.now(UTC),
            voice_examples=data.voice_examples,
            market_star_shift=data.market_star_shift,
        )
        created = await runtime.companies.put(company)
        return Response(company, status_code=201 if created else 200)

    @get(summary="Read a company")
    async def get_company(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> Company:
        authorize(principal_of(request), company_id, ANY_ROLE)
        return await require_company(runtime, company_id)

    @post("/api-keys", summary="Create an API key (platform admin); the key is shown once")
    async def create_key(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[ApiKeyIn],
    ) -> ApiKeyCreated:
        require_admin(principal_of(request))
        await require_company(runtime, company_id)
        key_id, secret, token_hash = new_api_key(company_id)
        created_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await runtime.companies.add_key(
            company_id,
            ApiKeyRecord(
                id=key_id,
                role=data.role,
                created_at=created_at,
                token_hash=token_hash,
                label=data.label,
            ),
        )
        return ApiKeyCreated(
            id=key_id, key=secret, role=data.role, created_at=created_at, label=data.label
        )

    @get("/api-keys", summary="List a company's API keys (platform admin); never the secrets")
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> ApiKeyList:
        require_admin(principal_of(request))
        records = await runtime.companies.list_keys(company_id)
        return ApiKeyList(items=[ApiKeyOut(r.id, r.role, r.created_at, r.label) for r in records])

    @delete(
        "/api-keys/{key_id:str}",
        summary="Revoke an API key (platform admin); refused at once everywhere",
        status_code=204,
    )
    async def revoke_key(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        key_id: CompanyId,
    ) -> None:
        require_admin(principal_of(request))
        if not await runtime.companies.revoke_key(company_id, key_id):
            raise NotFound("No such API key.", code="api_key_not_found")

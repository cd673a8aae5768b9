"""Companies and their API keys (the platform admin's side)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta

from reply_assist.api.common import principal_of
from reply_assist.http.ids import CompanyId
from reply_assist.models import Company, CompanyIn, Role
from reply_assist.runtime import Runtime
from reply_assist.services.companies import (
    create_api_key,
    get_company,
    list_api_keys,
    put_company,
    revoke_api_key,
)

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
        company, created = await put_company(runtime, principal_of(request), company_id, data)
        return Response(company, status_code=201 if created else 200)

    @get(summary="Read a company")
    async def get_company(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> Company:
        return await get_company(runtime, principal_of(request), company_id)

    @post("/api-keys", summary="Create an API key (platform admin); the key is shown once")
    async def create_key(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
        data: JSONBody[ApiKeyIn],
    ) -> ApiKeyCreated:
        made = await create_api_key(
            runtime, principal_of(request), company_id, data.role, data.label
        )
        record = made.record
        return ApiKeyCreated(
            id=record.id,
            key=made.secret,
            role=record.role,
            created_at=record.created_at,
            label=record.label,
        )

    @get("/api-keys", summary="List a company's API keys (platform admin); never the secrets")
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        company_id: CompanyId,
    ) -> ApiKeyList:
        records = await list_api_keys(runtime, principal_of(request), company_id)
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
        await revoke_api_key(runtime, principal_of(request), company_id, key_id)

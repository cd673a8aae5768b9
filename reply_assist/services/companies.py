"""Companies and their API keys: the platform admin's side, and what every key may read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from reply_assist.drafting.language import normalize_language
from reply_assist.errors import NotFound
from reply_assist.models import Company, CompanyIn, Role
from reply_assist.runtime import Runtime
from reply_assist.services.access import ANY_ROLE, Principal, authorize, new_api_key, require_admin
from reply_assist.services.lookups import require_company
from reply_assist.store.companies import ApiKeyRecord

__all__ = [
    "ApiKeyRecord",
    "NewApiKey",
    "all_company_ids",
    "create_api_key",
    "get_company",
    "list_api_keys",
    "list_companies",
    "put_company",
    "revoke_api_key",
]


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just made: its record, and the secret shown this once (only its hash is kept)."""

    record: ApiKeyRecord
    secret: str


async def put_company(
    rt: Runtime, principal: Principal, company_id: str, data: CompanyIn
) -> tuple[Company, bool]:
    """Create or replace a company (platform admin); True when it was created. Languages are
    kept normalised (``en-GB`` is ``en``), each once, in the order given."""
    require_admin(principal)
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
        monthly_draft_allowance=data.monthly_draft_allowance,
        usage_alert_at=data.usage_alert_at,
    )
    created = await rt.companies.put(company)
    return company, created


async def get_company(rt: Runtime, principal: Principal, company_id: str) -> Company:
    authorize(principal, company_id, ANY_ROLE)
    return await require_company(rt, company_id)


async def create_api_key(
    rt: Runtime, principal: Principal, company_id: str, role: Role, label: str | None
) -> NewApiKey:
    require_admin(principal)
    await require_company(rt, company_id)
    key_id, secret, token_hash = new_api_key(company_id)
    record = ApiKeyRecord(
        id=key_id,
        role=role,
        created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        token_hash=token_hash,
        label=label,
    )
    await rt.companies.add_key(company_id, record)
    return NewApiKey(record, secret)


async def list_api_keys(rt: Runtime, principal: Principal, company_id: str) -> list[ApiKeyRecord]:
    require_admin(principal)
    return await rt.companies.list_keys(company_id)


async def revoke_api_key(rt: Runtime, principal: Principal, company_id: str, key_id: str) -> None:
    """Refused at once everywhere (the API and the desk's sessions); 404 for no such key."""
    require_admin(principal)
    if not await rt.companies.revoke_key(company_id, key_id):
        raise NotFound("No such API key.", code="api_key_not_found")


async def all_company_ids(rt: Runtime, principal: Principal) -> list[str]:
    require_admin(principal)
    return await rt.companies.all_ids()


async def list_companies(rt: Runtime, principal: Principal) -> list[Company]:
    """Every company (platform admin), by name: the desk's company chooser."""
    require_admin(principal)
    companies = [await rt.companies.get(company_id) for company_id in await rt.companies.all_ids()]
    return sorted((c for c in companies if c is not None), key=lambda c: (c.name.lower(), c.id))

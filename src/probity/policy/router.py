"""Screening policy per tenant: read the effective policy, list versions, change, try it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from probity.auth.deps import PolicyManager, PolicyReader, Session, commit
from probity.policy import schemas, service

router = APIRouter(prefix="/api/v1/policies", tags=["policy"])


def _effective(chain: service.PolicyChain, spec: Any) -> schemas.EffectivePolicyRead:
    return schemas.EffectivePolicyRead(
        tenant_id=chain.tenant_id, policy_version=chain.version,
        chain=[schemas.PolicyVersionRead.model_validate(v) for v in chain.versions],
        terms=len(spec.lexicon), thresholds=dict(spec.thresholds),
        actions={r: dict(a) for r, a in spec.actions.items()})


@router.get("/{tenant_id}", response_model=schemas.EffectivePolicyRead)
async def get_policy(tenant_id: int, session: Session, principal: PolicyReader
                     ) -> schemas.EffectivePolicyRead:
    chain, spec = await service.get_effective(session, principal, tenant_id)
    return _effective(chain, spec)


@router.get("/{tenant_id}/versions", response_model=list[schemas.PolicyVersionRead])
async def list_versions(tenant_id: int, session: Session, principal: PolicyReader
                        ) -> list[schemas.PolicyVersionRead]:
    return [schemas.PolicyVersionRead.model_validate(v)
            for v in await service.list_versions(session, principal, tenant_id)]


@router.put("/{tenant_id}", status_code=201, response_model=schemas.PolicyVersionRead)
async def set_policy(tenant_id: int, data: schemas.PolicyUpdate, session: Session,
                     principal: PolicyManager) -> schemas.PolicyVersionRead:
    row = await service.set_policy(session, principal, tenant_id, data)
    await commit(session)
    return schemas.PolicyVersionRead.model_validate(row)


@router.post("/{tenant_id}/try", response_model=dict[str, Any])
async def try_policy(tenant_id: int, data: schemas.ScreenTry, session: Session,
                     principal: PolicyReader) -> dict[str, Any]:
    """Screen one line with the tenant's effective policy (nothing is stored)."""
    from probity.policy.registry import policy_for
    from probity.screening import screen_message

    chain, _spec = await service.get_effective(session, principal, tenant_id)
    compiled = await policy_for(session, tenant_id, wait=True)
    return {"policy_version": chain.version,
            **screen_message(data.text, data.role, compiled).to_dict()}

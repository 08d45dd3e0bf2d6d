"""Group standards API: sections, effective settings with origin and lock, changes, previews,
history and rollback. The route requires settings.read; the service then requires the
section's own permission (e.g. case.manage for `cases`) over the tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.governance import schemas, service
from probity.governance.registry import all_sections

router = APIRouter(prefix="/api/v1/settings", tags=["governance"])
SettingsReader = Annotated[Principal, Depends(require(Perm.settings_read))]


@router.get("/sections", response_model=list[schemas.SectionRead])
async def list_sections(principal: SettingsReader) -> list[schemas.SectionRead]:
    return [schemas.SectionRead.of(s) for s in all_sections()]


@router.get("/{tenant_id}/{section}", response_model=schemas.EffectiveRead)
async def get_settings(tenant_id: int, section: str, session: Session,
                       principal: SettingsReader) -> schemas.EffectiveRead:
    return schemas.EffectiveRead.of(
        await service.read_settings(session, principal, tenant_id, section))


@router.get("/{tenant_id}/{section}/versions", response_model=list[schemas.VersionRead])
async def list_versions(tenant_id: int, section: str, session: Session,
                        principal: SettingsReader) -> list[schemas.VersionRead]:
    rows = await service.settings_history(session, principal, tenant_id, section)
    return [schemas.VersionRead.model_validate(r) for r in rows]


@router.put("/{tenant_id}/{section}", status_code=201, response_model=schemas.VersionRead)
async def change(tenant_id: int, section: str, data: schemas.SettingsChange, session: Session,
                 principal: SettingsReader) -> schemas.VersionRead:
    row = await service.change_settings(session, principal, tenant_id, section, data.values,
                                        data.locks, data.reason, clear=data.clear)
    await commit(session)
    return schemas.VersionRead.model_validate(row)


@router.post("/{tenant_id}/{section}/preview", response_model=list[schemas.TenantDiffRead])
async def preview(tenant_id: int, section: str, data: schemas.SettingsPreview, session: Session,
                  principal: SettingsReader) -> list[schemas.TenantDiffRead]:
    diffs = await service.preview_change(session, principal, tenant_id, section, data.values,
                                         data.locks, clear=data.clear)
    return [schemas.TenantDiffRead.of(d) for d in diffs]


@router.post("/{tenant_id}/{section}/rollback", status_code=201,
             response_model=schemas.VersionRead)
async def rollback(tenant_id: int, section: str, data: schemas.Rollback, session: Session,
                   principal: SettingsReader) -> schemas.VersionRead:
    row = await service.rollback_settings(session, principal, tenant_id, section, data.version,
                                          data.reason)
    await commit(session)
    return schemas.VersionRead.model_validate(row)

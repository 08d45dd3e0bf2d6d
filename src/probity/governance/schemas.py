"""API shapes of group standards."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from probity.governance.registry import SectionSpec
from probity.governance.service import EffectiveSettings, FieldState, TenantDiff, TenantRef


class TenantRefRead(BaseModel):
    id: int
    code: str
    name: str
    is_hq: bool

    @classmethod
    def of(cls, ref: TenantRef | None) -> TenantRefRead | None:
        return None if ref is None else cls(id=ref.id, code=ref.code, name=ref.name,
                                            is_hq=ref.is_hq)


class SectionRead(BaseModel):
    name: str
    title: str
    read_permission: str
    manage_permission: str
    schema_: dict[str, Any] = Field(alias="schema")

    @classmethod
    def of(cls, spec: SectionSpec) -> SectionRead:
        return cls(name=spec.name, title=spec.title, read_permission=spec.read.value,
                   manage_permission=spec.manage.value, schema=spec.model.model_json_schema())


class FieldRead(BaseModel):
    name: str
    title: str
    value: Any
    origin: Literal["default", "inherited", "own"]
    origin_tenant: TenantRefRead | None
    locked: bool
    locked_by: TenantRefRead | None
    locks_below: bool

    @classmethod
    def of(cls, f: FieldState) -> FieldRead:
        return cls(name=f.name, title=f.title, value=f.value, origin=f.origin,
                   origin_tenant=TenantRefRead.of(f.origin_tenant), locked=f.locked,
                   locked_by=TenantRefRead.of(f.locked_by), locks_below=f.locks_below)


class EffectiveRead(BaseModel):
    tenant: TenantRefRead
    section: str
    own_version: int
    values: dict[str, Any]
    fields: list[FieldRead]

    @classmethod
    def of(cls, eff: EffectiveSettings[Any]) -> EffectiveRead:
        tenant = TenantRefRead.of(eff.tenant)
        assert tenant is not None
        return cls(tenant=tenant, section=eff.section, own_version=eff.own_version,
                   values=eff.values.model_dump(mode="json"),
                   fields=[FieldRead.of(f) for f in eff.fields.values()])


class SettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(default_factory=dict)
    clear: list[str] = Field(default_factory=list, max_length=200)
    locks: dict[str, bool] = Field(default_factory=dict)
    reason: str = Field(default="", max_length=500)


class SettingsPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(default_factory=dict)
    clear: list[str] = Field(default_factory=list, max_length=200)
    locks: dict[str, bool] = Field(default_factory=dict)


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    reason: str = Field(default="", max_length=500)


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    section: str
    version: int
    values: dict[str, Any]
    locks: list[str]
    reason: str
    rollback_of: int | None
    created_at: datetime
    created_by_user_id: int | None
    created_by_name: str | None


class FieldChangeRead(BaseModel):
    field: str
    before: Any
    after: Any
    before_origin: TenantRefRead | None
    after_origin: TenantRefRead | None
    locked_before: bool
    locked_after: bool


class TenantDiffRead(BaseModel):
    tenant: TenantRefRead
    changes: list[FieldChangeRead]

    @classmethod
    def of(cls, d: TenantDiff) -> TenantDiffRead:
        tenant = TenantRefRead.of(d.tenant)
        assert tenant is not None
        return cls(tenant=tenant, changes=[FieldChangeRead(
            field=c.field, before=c.before, after=c.after,
            before_origin=TenantRefRead.of(c.before_origin),
            after_origin=TenantRefRead.of(c.after_origin), locked_before=c.locked_before,
            locked_after=c.locked_after) for c in d.changes])


class RetroStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime
    until: datetime


class ReplayRead(BaseModel):
    id: int
    tenant_id: int
    kind: str
    status: str
    since: datetime
    until: datetime
    overlay_sha256: str | None
    done: int
    total: int | None
    changed: int
    summary: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None
    error: str | None

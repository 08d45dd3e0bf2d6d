"""Request and response schemas of the records API (access log, retention, holds, ledger)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AccessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    tenant_id: int
    actor_user_id: int | None
    actor_name: str
    actor_roles: str
    action: str
    target_type: str
    target_id: str
    reason: str | None
    ip: str | None
    request_id: str | None


class RetentionRuleSet(BaseModel):
    tenant_id: int
    record_type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    days: int = Field(ge=1, le=36500)


class RetentionRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    record_type: str
    days: int
    created_at: datetime
    updated_at: datetime | None


HoldSubject = Literal["customer", "employee", "conversation", "case"]


class LegalHoldCreate(BaseModel):
    tenant_id: int
    subject_type: HoldSubject
    subject_id: int
    # Required unless the group standard says otherwise (retention.legal_hold_requires_reason).
    reason: str = Field(default="", max_length=500)


class LegalHoldRelease(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class LegalHoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    subject_type: str
    subject_id: int
    reason: str
    set_by_user_id: int | None
    created_at: datetime
    released_at: datetime | None
    release_reason: str | None


class PurgeRequest(BaseModel):
    tenant_id: int | None = None
    dry_run: bool = True


class PurgeTypeResult(BaseModel):
    tenant_id: int
    record_type: str
    days: int
    cutoff: str
    eligible: int
    purged: int
    held: int
    attachments_removed: int


class PurgeResult(BaseModel):
    dry_run: bool
    results: list[PurgeTypeResult]


class VerificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    started_at: datetime
    finished_at: datetime | None
    total_entries: int
    ok: bool | None
    entries_checked: int
    first_bad_seq: int | None
    message: str
    state: str = "running"  # running | ok | failed | interrupted
    progress: int = 0  # entries read so far (all checked ones once finished)


class CheckpointSummary(BaseModel):
    tree_size: int
    timestamp: str
    root_hash: str
    key_id: str


class TenantLedgerStatus(BaseModel):
    tenant_id: int
    tenant_code: str
    tenant_name: str
    size: int
    last_checkpoint: CheckpointSummary | None
    last_verification: VerificationRead | None


class VerifyRequest(BaseModel):
    tenant_id: int


class PublishedCheckpoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    note: str

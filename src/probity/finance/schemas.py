from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class PayeeCreate(BaseModel):
    tenant_id: int
    account_no: str = Field(min_length=1, max_length=64)
    kind: str = Field(pattern="^(company|employee)$")
    account_type: str = Field(default="merchant_id",
                              pattern="^(merchant_id|bank_account|qr_merchant|other)$")
    employee_id: int | None = None
    label: str | None = Field(default=None, max_length=200)


class OwnAccountCreate(BaseModel):
    account_no: str = Field(min_length=1, max_length=64)
    account_type: str = Field(default="bank_account",
                              pattern="^(merchant_id|bank_account|qr_merchant|other)$")
    label: str | None = Field(default=None, max_length=200)


class PayeeUpdate(BaseModel):
    label: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class PayeeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    account_no: str
    kind: str
    account_type: str
    employee_id: int | None
    label: str | None
    active: bool
    created_at: datetime


class PayeeCheck(BaseModel):
    account_no: str
    tenant_id: int
    status: str  # company | employee | unknown
    employee_id: int | None = None


class FeedIn(BaseModel):
    """A live feed batch: the same fields as the file columns, one object per row."""

    tenant_id: int
    kind: str = Field(pattern="^(orders|payments|refunds|payees)$")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=10000)
    dry_run: bool = False


class SignedFeedIn(BaseModel):
    """A signed feed batch (the tenant is in the path)."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(orders|payments|refunds|payees)$")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=10000)
    dry_run: bool = False


class FeedSecretRead(BaseModel):
    tenant_id: int
    configured: bool
    secret: str | None = Field(default=None, description="whsec_…: signs the signed feed")
    owner_user_id: int | None = None
    created_at: datetime | None = None


class ImportResult(BaseModel):
    kind: str
    tenant_id: int
    dry_run: bool
    rows: int
    insert: int
    update: int
    unchanged: int
    new_customers: int
    error_count: int
    errors: list[dict[str, Any]]
    preview: list[dict[str, Any]]
    import_id: int | None = None
    new_alerts: int = 0


class ImportBatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    kind: str
    source: str
    filename: str | None
    sha256: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    created_at: datetime


class RuleRead(BaseModel):
    name: str
    title: str
    explains: str
    enabled: bool
    params: dict[str, Any]


class RuleUpdate(BaseModel):
    tenant_id: int
    enabled: bool | None = None
    params: dict[str, float] | None = None


class RuleRun(BaseModel):
    tenant_id: int
    rules: list[str] | None = None
    since: AwareDatetime | None = None


class RuleRunResult(BaseModel):
    new_alerts: int
    alert_ids: list[int]

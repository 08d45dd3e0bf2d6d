"""A tenant's screening overlay: what it adds to the built-in policy and its ancestors'."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["contact", "bribe", "payment"]
Action = Literal["allow", "warn", "block"]
Role = Literal["customer", "agent"]


class TermIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    term: str = Field(min_length=1, max_length=64)
    category: Category
    severity: int = Field(default=3, ge=1, le=3)
    phonetic: bool = False


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warn: int = Field(ge=1, le=3)
    block: int = Field(ge=1, le=4)  # 4 = never block


class PolicyOverlay(BaseModel):
    """Stored as one version. Lists extend the inherited policy; thresholds and actions, when
    given, replace the inherited ones but may only be stricter (a subsidiary cannot loosen HQ)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    lexicon: list[TermIn] = Field(default_factory=list, max_length=20_000)
    allow_terms: list[str] = Field(default_factory=list, max_length=2_000)
    allow_numbers: list[str] = Field(default_factory=list, max_length=500)
    allow_qr: list[str] = Field(default_factory=list, max_length=500)
    allow_domains: list[str] = Field(default_factory=list, max_length=200)
    thresholds: Thresholds | None = None
    actions: dict[Role, dict[Category, Action]] | None = None


class PolicyUpdate(PolicyOverlay):
    note: str | None = Field(default=None, max_length=500)
    # Publishing needs a finished replay of this very overlay over the last 30 days
    # (POST /api/v1/policies/{tenant}/replays), or a recorded reason to skip it (409 otherwise).
    replay_id: int | None = None
    override_reason: str | None = Field(default=None, min_length=1, max_length=500)


class ReplayStart(PolicyOverlay):
    """A candidate overlay to replay before publishing it."""


class PolicyVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    version: int
    overlay: dict[str, Any]
    note: str | None
    created_at: datetime
    created_by_user_id: int | None


class EffectivePolicyRead(BaseModel):
    tenant_id: int
    policy_version: int  # changes whenever this tenant's or an ancestor's overlay changes
    chain: list[PolicyVersionRead]  # the overlays applied, HQ first
    terms: int
    thresholds: dict[str, int]
    actions: dict[str, dict[str, str]]


class ScreenTry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=5000)
    role: Role = "customer"

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from probity.models import Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class GrantRead(BaseModel):
    role: Role
    tenant_id: int
    org_unit_id: int | None


class MeRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    tenant_id: int
    employee_id: int | None
    customer_id: int | None
    roles: list[GrantRead]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    user_id: int | None = Field(default=None, gt=0)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The bearer token. Shown once; only its hash is stored.")


class RoleGrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    tenant_id: int = Field(gt=0)
    org_unit_id: int | None = Field(default=None, gt=0)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)
    tenant_id: int = Field(gt=0)
    employee_id: int | None = Field(default=None, gt=0)
    roles: list[RoleGrantIn] = Field(default_factory=list, max_length=20)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    tenant_id: int
    employee_id: int | None
    is_active: bool

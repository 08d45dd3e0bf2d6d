"""Request and response bodies of the import/export API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from probity.bounds import DbId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportStart(Strict):
    upload_id: DbId
    # file column → field ("" ignores the column); omitted: the template's, else by aliases
    mapping: dict[str, str] | None = Field(default=None, max_length=200)
    ignore: list[str] = Field(default_factory=list, max_length=200)
    template_id: DbId | None = None
    dry_run: bool = True


class TemplateSave(Strict):
    tenant_id: DbId
    kind: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    mapping: dict[str, str] = Field(max_length=200)
    ignore: list[str] = Field(default_factory=list, max_length=200)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    kind: str
    name: str
    mapping: dict[str, str]
    ignore: list[str]
    updated_at: datetime


class ExportStart(Strict):
    tenant_id: DbId


class ExportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    job_id: int | None
    state: str
    filename: str | None
    sha256: str | None
    size: int
    counts: dict[str, int] | None
    created_at: datetime
    finished_at: datetime | None


class KindRead(BaseModel):
    name: str
    title: str
    perm: str
    key: list[str]
    fields: list[dict[str, Any]]

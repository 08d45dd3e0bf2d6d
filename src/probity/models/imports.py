"""The import framework's records: uploaded files, saved column mappings, committed runs, the
external keys of imported rows that have no natural key of their own, and tenant exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, UTCDateTime, utcnow


class ImportTemplate(IdMixin, Base):
    """A saved column mapping (file column → field, and columns to ignore) per tenant and kind."""

    __tablename__ = "import_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "name"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    ignore: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportUpload(IdMixin, Base):
    """A file uploaded for import: inspected (encoding, columns) when it arrives, then mapped,
    dry-run and committed by jobs that read it from here (any worker can)."""

    __tablename__ = "import_uploads"
    __table_args__ = (Index("ix_import_uploads_user", "created_by_user_id", "created_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer, default=0)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportRun(IdMixin, Base):
    """One committed import (a dry run leaves no row): what was written, from which file."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_tenant", "tenant_id", "created_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))  # file | package | cli
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("import_uploads.id"))
    job_id: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportKey(IdMixin, Base):
    """The source system's key of an imported row that has no natural key here (a conversation,
    a message): a second import of the same key finds the row instead of adding it again.
    ``original_ref`` keeps the source's own reference (an exported ledger entry hash)."""

    __tablename__ = "import_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "external_key"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(40))
    external_key: Mapped[str] = mapped_column(String(200))
    target_id: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    original_ref: Mapped[str | None] = mapped_column(String(128))


class DataExport(IdMixin, Base):
    """A full export of one tenant's data (a zip of JSON Lines and CSV), built by a job."""

    __tablename__ = "data_exports"
    __table_args__ = (Index("ix_data_exports_tenant", "tenant_id", "created_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | done | failed
    filename: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # Exports before migration 0029 kept the whole zip here; newer ones are in DataExportPart.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataExportPart(Base):
    """One part (1 MiB) of an export's zip, in order: written by the job as the zip is built
    and read back one at a time by the download, so neither holds the whole file."""

    __tablename__ = "data_export_parts"

    export_id: Mapped[int] = mapped_column(ForeignKey("data_exports.id", ondelete="CASCADE"),
                                           primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

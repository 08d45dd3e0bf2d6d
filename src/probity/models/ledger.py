"""The tamper-evident ledger: one hash chain + Merkle tree per tenant, and signed checkpoints.

Both tables are append-only (database triggers refuse UPDATE and DELETE). The hashed form of an
entry is defined by :mod:`probity.ledger.chain`; the columns below store exactly those fields
(``entry_time`` is the hashed time string, ``tenant_code`` the hashed tenant id), so rows can be
streamed straight into :func:`probity.ledger.verify_chain`.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class LedgerEntry(IdMixin, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "seq", name="uq_ledger_entries_tenant_seq"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # 0 for the tenant's first entry, +1 per append; also the Merkle leaf index.
    seq: Mapped[int] = mapped_column(Integer)
    # Hashed fields, in the pure core's exact text forms.
    entry_time: Mapped[str] = mapped_column(String(27))  # YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)
    type: Mapped[str] = mapped_column(String(64), index=True)
    tenant_code: Mapped[str] = mapped_column(String(128))
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # Canonical JSON text of the payload; NULL once purged (the hashes keep verifying).
    payload: Mapped[str | None] = mapped_column(Text)


class LedgerCheckpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "ledger_checkpoints"
    __table_args__ = (Index("ix_ledger_checkpoints_tenant_size", "tenant_id", "tree_size"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    timestamp: Mapped[str] = mapped_column(String(27))  # the signed time line
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))  # hex Ed25519 signature
    note: Mapped[str] = mapped_column(Text)  # the full C2SP signed note
    # Merkle accumulator peaks at tree_size (hex, comma-separated; unsigned, only a cache so
    # the next checkpoint need not re-read every entry; verification recomputes from scratch).
    peaks: Mapped[str] = mapped_column(Text, default="")


class LedgerRef(IdMixin, Base):
    """What an entry is about, written with the entry (append-only): the index evidence packs
    and verification use to find a record's entries, purged ones included (their payload is
    gone, their refs are not). ``ref_id`` is text: ids as decimal, natural keys as given."""

    __tablename__ = "ledger_refs"
    __table_args__ = (
        Index("ix_ledger_refs_lookup", "tenant_id", "ref_type", "ref_id"),
        Index("ix_ledger_refs_tenant_seq", "tenant_id", "seq"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(Integer)
    ref_type: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[str] = mapped_column(String(64))


class LedgerBatchLeaves(IdMixin, Base):
    """The leaf hashes of one record-batch entry (``probity-record-batch/v1``,
    :mod:`probity.ledger.batch`): 32 bytes per record in leaf order, so a record's inclusion
    proof is derived on demand and its leaf survives the erasure of its content. Append-only."""

    __tablename__ = "ledger_batch_leaves"
    __table_args__ = (UniqueConstraint("tenant_id", "seq", name="uq_ledger_batch_leaves_seq"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(Integer)  # the batch entry's seq
    count: Mapped[int] = mapped_column(Integer)
    leaves: Mapped[bytes] = mapped_column(LargeBinary)

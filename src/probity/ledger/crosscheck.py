"""Evidence beyond the ledger table: the application rows must agree with their entries.

The hash chain proves the ledger itself is intact; this module proves the records the product
shows are the ones the ledger recorded. For one tenant it streams the entries (seq order) and
checks, against the rows as stored now:

* ``chat.message`` ↔ ``messages``: every field the entry recorded (body, decision, spans…);
* ``alert.raised`` ↔ ``alerts``; ``case.*`` ↔ ``case_events`` (and each case's status, decision
  and penalty against its latest ``case.*`` entry); ``audit.entry`` ↔ ``audit_entries``;
  ``finance.payment`` / ``finance.refund`` ↔ ``payments`` / ``refunds`` (by their numbers);
* every such row has an entry (a row added behind the ledger's back) and every entry its row
  (a deleted row);
* a payload is NULL only where a ``retention.purge`` entry records it, and then the purged row's
  content is gone too (a message body, an alert snippet);
* record batches (``finance.payment_batch``, format ``probity-record-batch/v1``): the stored
  leaf hashes still make the entry's root, every leaf has its payment and every payment that
  names the batch its leaf, and each payment re-derives its leaf from its row and salt — so an
  edited, reordered, dropped or added payment is named (an erased salt only where a retention
  purge records the batch).

Synchronous (it runs inside ``run_sync``, or on a plain connection in a worker thread). Findings
carry the seq of the entry concerned, so the caller can name the first one that differs.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from probity.ledger.auditlog import AUDIT_ENTRY_TYPE, audit_payload
from probity.ledger.batch import BATCH_FORMAT, leaf_hashes, root_hash, unpack_leaves
from probity.ledger.chain import TamperKind, format_time
from probity.ledger.facts import alert_payload, message_payload
from probity.models.alerts import Alert
from probity.models.audit import AuditEntry
from probity.models.cases import Case, CaseEvent
from probity.models.chat import Message
from probity.models.commerce import Payment, Refund
from probity.models.ledger import LedgerBatchLeaves, LedgerEntry, LedgerRef
from probity.models.org import Tenant

__all__ = ["Finding", "crosscheck"]

_BATCH = 1000
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int | None  # the entry concerned; None for a row that has no entry at all
    kind: TamperKind
    message: str


def _plain(value: Any) -> Any:
    """A comparable form: enums by value, decimals and numeric text as Decimal, times as UTC."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, Decimal | int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _same(recorded: Any, stored: Any) -> bool:
    if recorded == stored:
        return True
    a, b = _plain(recorded), _plain(stored)
    if a == b:
        return True
    if isinstance(b, datetime) and isinstance(a, str):
        try:
            return bool(_plain(datetime.fromisoformat(a)) == b)
        except ValueError:
            return False
    if isinstance(b, Decimal) and isinstance(a, str):
        try:
            return Decimal(a) == b
        except InvalidOperation:
            return False
    return False


def _differs(recorded: dict[str, Any], stored: dict[str, Any], *, shared_only: bool = False
             ) -> list[str]:
    """The recorded fields the stored row no longer matches (fields the entry did not record,
    e.g. added to the payload format later, are not compared; with *shared_only*, neither are
    recorded fields the row does not have)."""
    return [k for k, v in recorded.items()
            if k not in ("_salt", "action") and (not shared_only or k in stored)
            and not _same(v, stored.get(k))]


@dataclass
class _Purges:
    starts: list[int]
    ends: list[int]

    def covers(self, seq: int) -> bool:
        i = bisect_right(self.starts, seq) - 1
        return i >= 0 and seq <= self.ends[i]


def _purges(conn: Connection | Session, tenant_id: int) -> _Purges:
    ranges: list[tuple[int, int]] = []
    for raw in conn.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.tenant_id == tenant_id, LedgerEntry.type == "retention.purge")):
        try:
            seqs = json.loads(str(raw)).get("seqs", []) if raw is not None else []
            ranges += [(int(a), int(b)) for a, b in seqs]
        except (ValueError, TypeError, AttributeError):
            continue
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return _Purges([a for a, _ in merged], [b for _, b in merged])


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


# An entry type's rows: (table, key column, the ledger ref type, the stored row as a payload).
_Kind = tuple[Any, Any, str, Callable[[Any], dict[str, Any]]]


def _case_event_payload(row: Any) -> dict[str, Any]:
    return {"event_id": row.id, "case_id": row.case_id, "kind": row.kind,
            "from_status": row.from_status, "to_status": row.to_status,
            "actor_user_id": row.actor_user_id, "at": format_time(row.created_at),
            "detail": row.detail}


def _record_payload(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


_KINDS: dict[str, _Kind] = {
    "chat.message": (Message, Message.id, "message", message_payload),
    "alert.raised": (Alert, Alert.id, "alert", alert_payload),
    "case": (CaseEvent, CaseEvent.id, "case_event", _case_event_payload),
    AUDIT_ENTRY_TYPE: (AuditEntry, AuditEntry.id, "audit", audit_payload),
    "finance.payment": (Payment, Payment.payment_no, "payment", _record_payload),
    "finance.refund": (Refund, Refund.refund_no, "refund", _record_payload),
}
_ID_KEYS = {"chat.message": "message_id", "alert.raised": "alert_id", "case": "event_id",
            AUDIT_ENTRY_TYPE: "audit_id", "finance.payment": "payment_no",
            "finance.refund": "refund_no"}
_CASE_FIELDS = ("status", "decision", "penalty")
_PAYMENT_BATCH = "finance.payment_batch"


def _kind_of(entry_type: str) -> str | None:
    if entry_type.startswith("case."):
        return "case"
    return entry_type if entry_type in _KINDS else None


def _label(kind: str) -> str:
    return {"chat.message": "message", "alert.raised": "alert", "case": "case event",
            AUDIT_ENTRY_TYPE: "audit row", "finance.payment": "payment",
            "finance.refund": "refund"}[kind]


class _Checker:
    def __init__(self, conn: Connection | Session, tenant_id: int, audit_root: bool) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.audit_root = audit_root
        self.findings: list[Finding] = []
        self.seen: dict[str, set[Any]] = {kind: set() for kind in _KINDS}
        self.case_state: dict[int, tuple[int, dict[str, Any]]] = {}
        self.purges = _purges(conn, tenant_id)
        self.batches: list[tuple[int, dict[str, Any]]] = []  # (seq, payload) of payment batches

    def _tenant_filter(self, table: Any) -> Any:
        if table is AuditEntry and self.audit_root:
            return (AuditEntry.tenant_id == self.tenant_id) | AuditEntry.tenant_id.is_(None)
        return table.tenant_id == self.tenant_id

    def _rows(self, kind: str, keys: list[Any]) -> dict[Any, Any]:
        table, key_col, _ref, _payload = _KINDS[kind]
        found: dict[Any, Any] = {}
        for chunk in _chunks(keys):
            for row in self.conn.execute(select(table.__table__).where(
                    key_col.in_(chunk), self._tenant_filter(table))):
                found[getattr(row, key_col.key)] = row
        return found

    def _purged_keys(self, seqs: list[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        for chunk in _chunks(seqs):
            for seq, ref_type, ref_id in self.conn.execute(
                    select(LedgerRef.seq, LedgerRef.ref_type, LedgerRef.ref_id).where(
                        LedgerRef.tenant_id == self.tenant_id, LedgerRef.seq.in_(chunk))):
                out.setdefault(int(seq), {})[str(ref_type)] = str(ref_id)
        return out

    def batch(self, entries: list[tuple[int, str, str | None]]) -> None:
        recorded: dict[str, list[tuple[int, Any, dict[str, Any] | None]]] = {}
        purged: list[tuple[int, str]] = []
        for seq, type_, raw in entries:
            kind = _kind_of(type_)
            if raw is None:
                if not self.purges.covers(seq):
                    self.findings.append(Finding(seq, TamperKind.ALTERED, (
                        f"entry {seq} ({type_}): its payload was removed, but no retention "
                        f"purge records it")))
                elif kind is not None:
                    purged.append((seq, kind))
                continue
            if type_ == _PAYMENT_BATCH:
                with suppress(ValueError):  # the chain check reports a payload not hashing
                    self.batches.append((seq, json.loads(raw)))
                continue
            if kind is None:
                continue
            try:
                payload = json.loads(raw)
            except ValueError:
                continue  # the chain check reports a payload that does not hash
            key = payload.get(_ID_KEYS[kind]) if isinstance(payload, dict) else None
            if key is not None:
                recorded.setdefault(kind, []).append((seq, key, payload))
                if kind == "case" and isinstance(payload.get("case_id"), int):
                    self.case_state[payload["case_id"]] = (seq, payload)
        if purged:
            refs = self._purged_keys([seq for seq, _kind in purged])
            for seq, kind in purged:
                ref_id = refs.get(seq, {}).get(_KINDS[kind][2])
                if ref_id is not None:
                    ref_key: Any = ref_id if kind.startswith("finance.") else int(ref_id)
                    recorded.setdefault(kind, []).append((seq, ref_key, None))
        for kind, items in recorded.items():
            rows = self._rows(kind, [key for _seq, key, _p in items])
            to_payload = _KINDS[kind][3]
            for seq, key, payload in items:
                self.seen[kind].add(key)
                row = rows.get(key)
                if row is None:
                    self.findings.append(Finding(seq, TamperKind.REMOVED, (
                        f"entry {seq}: {_label(kind)} {key} is in the ledger but no longer "
                        f"in the database")))
                    continue
                if payload is None:
                    self._check_purged(seq, kind, key, row)
                    continue
                fields = _differs(payload, to_payload(row), shared_only=kind == "case")
                if fields:
                    self.findings.append(Finding(seq, TamperKind.ALTERED, (
                        f"entry {seq}: {_label(kind)} {key} differs from its ledger entry "
                        f"({', '.join(sorted(fields))})")))

    def _check_purged(self, seq: int, kind: str, key: Any, row: Any) -> None:
        if kind == "chat.message" and (row.body or row.spans):
            what = "body" if row.body else "spans"
        elif kind == "alert.raised" and row.snippet:
            what = "snippet"
        else:
            return
        self.findings.append(Finding(seq, TamperKind.ALTERED, (
            f"entry {seq}: {_label(kind)} {key} has content ({what}) the retention purge "
            f"recorded as removed")))

    def _batch(self, seq: int, batch: Any) -> None:
        """One payment batch entry against its stored leaves and the payments naming it."""
        from probity.finance.records import leaf_of_row

        def finding(kind: TamperKind, text: str) -> None:
            self.findings.append(Finding(seq, kind, f"entry {seq} (payment batch): {text}"))

        rows = list(self.conn.execute(select(Payment.__table__).where(
            Payment.tenant_id == self.tenant_id, Payment.ledger_seq == seq)
            .order_by(Payment.ledger_index, Payment.id)))
        self.seen["finance.payment"].update(row.payment_no for row in rows)
        blob = self.conn.scalar(select(LedgerBatchLeaves.leaves).where(
            LedgerBatchLeaves.tenant_id == self.tenant_id, LedgerBatchLeaves.seq == seq))
        if not isinstance(batch, dict) or batch.get("format") != BATCH_FORMAT:
            finding(TamperKind.ALTERED, "not a probity-record-batch/v1 payload")
            return
        count = batch.get("count")
        try:
            leaves = unpack_leaves(bytes(blob)) if blob is not None else None
        except ValueError:
            leaves = None
        if leaves is None or len(leaves) != count \
                or root_hash(leaves).hex() != batch.get("root"):
            finding(TamperKind.ALTERED, "its stored leaf hashes no longer make its Merkle root")
            return
        position = {leaf: i for i, leaf in enumerate(leaves)}
        taken: set[int] = set()
        for row in rows:
            index = row.ledger_index
            if not isinstance(index, int) or not 0 <= index < len(leaves) or index in taken:
                finding(TamperKind.INSERTED, f"payment {row.payment_no} claims leaf {index}, "
                        f"which the batch does not hold for it")
                continue
            taken.add(index)
            text = leaf_of_row(dict(row._mapping))
            if text is None:
                if not self.purges.covers(seq):
                    finding(TamperKind.ALTERED, f"payment {row.payment_no}: its salt was "
                            f"removed, but no retention purge records it")
                continue
            (leaf,) = leaf_hashes([text])
            if leaf == leaves[index]:
                continue
            elsewhere = position.get(leaf)
            if elsewhere is not None:
                finding(TamperKind.REORDERED, f"payment {row.payment_no} is at leaf {index}, "
                        f"but its content is leaf {elsewhere}'s")
            else:
                finding(TamperKind.ALTERED, f"payment {row.payment_no} differs from its leaf "
                        f"{index}")
        for index in sorted(set(range(len(leaves))) - taken):
            finding(TamperKind.REMOVED, f"leaf {index} has no payment in the database")

    def finish(self) -> None:
        for seq, batch in self.batches:
            self._batch(seq, batch)
        # Rows that no entry records.
        for kind, (table, key_col, _ref, _p) in _KINDS.items():
            seen = self.seen[kind]
            for (key,) in self.conn.execute(
                    select(key_col).where(self._tenant_filter(table)).order_by(key_col)):
                if key not in seen:
                    self.findings.append(Finding(None, TamperKind.INSERTED, (
                        f"{_label(kind)} {key} is in the database but has no ledger entry")))
        # Each case as its latest entry left it.
        ids = sorted(self.case_state)
        for chunk in _chunks(ids):
            for case_id, status, decision, penalty in self.conn.execute(
                    select(Case.id, Case.status, Case.decision, Case.penalty).where(
                        Case.id.in_(chunk), Case.tenant_id == self.tenant_id)):
                seq, payload = self.case_state[int(case_id)]
                stored = {"status": status, "decision": decision, "penalty": penalty}
                fields = _differs({k: payload.get(k) for k in _CASE_FIELDS}, stored)
                if fields:
                    self.findings.append(Finding(seq, TamperKind.ALTERED, (
                        f"entry {seq}: case {case_id} differs from its latest ledger entry "
                        f"({', '.join(sorted(fields))})")))


def _is_audit_root(conn: Connection | Session, tenant_id: int) -> bool:
    root = conn.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None))
                       .order_by(Tenant.id).limit(1))
    return root is not None and int(root) == tenant_id


def crosscheck(conn: Connection | Session, tenant_id: int,
               progress: Callable[[int], None] | None = None) -> list[Finding]:
    """Every disagreement between the tenant's application rows and its ledger entries, those
    naming an entry first in seq order, then rows that no entry records."""
    checker = _Checker(conn, tenant_id, _is_audit_root(conn, tenant_id))
    last = -1
    while True:  # keyset pages: other queries run between them on the same connection
        batch = [(int(seq), str(type_), None if payload is None else str(payload))
                 for seq, type_, payload in conn.execute(
                     select(LedgerEntry.seq, LedgerEntry.type, LedgerEntry.payload)
                     .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.seq > last)
                     .order_by(LedgerEntry.seq).limit(_BATCH))]
        if not batch:
            break
        checker.batch(batch)
        last = batch[-1][0]
        if progress is not None:
            progress(last + 1)
    checker.finish()
    return sorted(checker.findings, key=lambda f: (f.seq is None, f.seq or 0))

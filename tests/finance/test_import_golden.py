"""The import pipeline's outputs are pinned: a fixed payments + refunds import (salts and ledger
time made deterministic) must write the same ledger entries (types, times, payloads, payload
hashes, refs), the same alerts and the same cases as the pipeline recorded in
``golden_import.json`` (written by the per-row pipeline of session 6, before the bulk paths of
issue 17; re-recorded in session 8 for the record-batch ledger format: the 24
``finance.payment`` entries and their 66 refs became ONE ``finance.payment_batch`` entry with
no refs, whose leaves — pinned as ``payment_leaves`` — are exactly those 24 entries' payloads;
every other entry, ref, alert, case and event is unchanged but for its seq). Ids the database
allocates are compared by rank (PostgreSQL sequences move between tests); everything else
literally. Regenerate only on purpose:
``PROBITY_WRITE_GOLDEN=1 pytest tests/finance/test_import_golden.py``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, team_agents, tenant
from tests.finance.test_import import _upload

from probity.finance.records import leaf_of_row
from probity.ledger.batch import leaf_hashes, root_hash
from probity.ledger.canonical import canonical_json
from probity.ledger.service import verify_tenant
from probity.models import Alert, Case, CaseEvent, LedgerEntry, Order, Payment
from probity.models.cases import CaseAlert
from probity.models.ledger import LedgerRef

GOLDEN = Path(__file__).with_name("golden_import.json")
FIXED = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)


class _Salts:
    """``secrets.token_hex`` as a constant: every salt the same, whatever order, batching or
    retry (a PostgreSQL append redone on a stale head draws again) the salts are drawn in."""

    @staticmethod
    def token_hex(n: int = 32) -> str:
        return "5a" * n


def _ranked(values: list[Any]) -> dict[str, dict[int, int]]:
    ids: dict[str, set[int]] = {}

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if (k == "id" or k.endswith("_id")) and type(x) is int:
                    ids.setdefault(k, set()).add(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(values)
    return {k: {x: i for i, x in enumerate(sorted(s))} for k, s in ids.items()}


_VOLATILE = frozenset({"created_at", "request_id", "at"})  # the clock and the request's random id


def _norm(v: Any, ranks: dict[str, dict[int, int]]) -> Any:
    if isinstance(v, dict):
        return {k: ("~" if k in _VOLATILE else f"#{ranks[k][x]}" if k in ranks and type(x) is int
                    else [f"#{ranks[k[:-1]][i]}" for i in x] if k[:-1] in ranks
                    and k.endswith("_ids") and isinstance(x, list) else _norm(x, ranks))
                for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x, ranks) for x in v]
    return v


# Ids of rows created by the import (ranked); ids of the seeded demo data are kept as they are.
_NEW = ("alert_id", "case_id", "event_id", "id", "payment_id", "import_id", "audit_id")


async def _outputs(db: AsyncSession, tenant_id: int, seq0: int, alert0: int, case0: int
                   ) -> dict[str, Any]:
    entries = (await db.execute(select(
        LedgerEntry.seq, LedgerEntry.type, LedgerEntry.entry_time, LedgerEntry.payload,
        LedgerEntry.payload_hash).where(LedgerEntry.tenant_id == tenant_id,
                                        LedgerEntry.seq > seq0).order_by(LedgerEntry.seq))).all()
    refs = (await db.execute(select(LedgerRef.seq, LedgerRef.ref_type, LedgerRef.ref_id).where(
        LedgerRef.tenant_id == tenant_id, LedgerRef.seq > seq0).order_by(
        LedgerRef.seq, LedgerRef.id))).all()
    alerts = (await db.scalars(select(Alert).where(
        Alert.tenant_id == tenant_id, Alert.id > alert0).order_by(Alert.id))).all()
    cases = (await db.scalars(select(Case).where(
        Case.tenant_id == tenant_id, Case.id > case0).order_by(Case.id))).all()
    members = (await db.execute(select(CaseAlert.case_id, CaseAlert.alert_id).where(
        CaseAlert.alert_id > alert0).order_by(CaseAlert.alert_id))).all()
    events = (await db.execute(select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.from_status,
                                      CaseEvent.to_status, CaseEvent.detail).where(
        CaseEvent.case_id > case0).order_by(CaseEvent.id))).all()
    paid = (await db.execute(select(Payment.__table__).where(
        Payment.tenant_id == tenant_id, Payment.ledger_seq > seq0).order_by(
        Payment.ledger_seq, Payment.ledger_index))).all()
    raw: dict[str, Any] = {
        # Batched payments' leaves, re-derived from the stored rows: exactly the payloads their
        # per-payment finance.payment entries held before the batch format (session 8).
        "payment_leaves": [json.loads(str(leaf_of_row(dict(r._mapping)))) for r in paid],
        "entries": [{"seq": s - seq0, "type": t, "time": tm,
                     "payload": json.loads(p) if p else None,
                     # payload hashes of entries whose payload holds only seeded ids
                     "payload_hash": h if t.startswith("finance.payment")
                     or t.startswith("finance.refund") else None}
                    for s, t, tm, p, h in entries],
        "refs": [{"seq": s - seq0, "ref_type": rt,
                  "ref_id": rid if rt not in ("alert", "case", "case_event", "audit")
                  else {f"{rt}_id": int(rid)}} for s, rt, rid in refs],
        "alerts": [{"alert_id": a.id, "rule": a.rule, "severity": a.severity,
                    "category": a.category, "decision": a.decision, "snippet": a.snippet,
                    "customer_id": a.customer_id, "agent_employee_id": a.agent_employee_id,
                    "evidence": a.evidence} for a in alerts],
        "cases": [{"case_id": c.id, "title": c.title, "severity": c.severity,
                   "status": str(getattr(c.status, "value", c.status)), "subject": c.subject,
                   "customer_id": c.customer_id, "agent_employee_id": c.agent_employee_id}
                  for c in cases],
        "members": [{"case_id": c, "alert_id": a} for c, a in members],
        "events": [{"case_id": c, "kind": k, "from": f, "to": t, "detail": d}
                   for c, k, f, t, d in events],
    }
    ranks = {k: v for k, v in _ranked([raw]).items() if k in _NEW}
    out: dict[str, Any] = _norm(raw, ranks)
    return out


@pytest.mark.slow
async def test_import_writes_what_it_wrote_before(db: AsyncSession, as_user: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import probity.ledger.batch as batch
    import probity.ledger.chain as chain
    import probity.ledger.service as ledger_service

    monkeypatch.setattr(chain, "secrets", _Salts())
    monkeypatch.setattr(batch, "secrets", _Salts())
    monkeypatch.setattr(ledger_service, "utcnow", lambda: FIXED)
    t = await tenant(db, "ECOM")
    cs = await customers(db, t.id, 3)
    orders = []
    for c in cs:
        o = await db.scalar(select(Order).where(Order.customer_id == c.id).order_by(Order.id)
                            .limit(1))
        assert o is not None
        orders.append(o)
    (agent,) = await team_agents(db, t.id, 1)
    seq0 = int(await db.scalar(select(func.max(LedgerEntry.seq)).where(
        LedgerEntry.tenant_id == t.id)) or -1)
    alert0 = int(await db.scalar(select(func.max(Alert.id))) or 0)
    case0 = int(await db.scalar(select(func.max(Case.id))) or 0)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["payment_no", "order_no", "customer_no", "amount", "currency", "method",
                "payee_account", "paid_at"])
    payees = ["MCH-ECOM-0001", "WX-PRIVATE-8888", "MCH-ECOM-0001", 'ALI-个人-77"q']
    methods = ["wechat_pay", "alipay", "bank_transfer", "offline", "card"]
    for i in range(24):
        c, o = cs[i % 3], orders[i % 3]
        w.writerow([f"GP-{i:03d}", o.order_no if i % 4 else "", c.customer_no,
                    f"{'1,0' if i == 5 else ''}{10 + i * 7}.{i % 10}0",
                    "cny" if i % 5 == 0 else "", methods[i % 5], payees[i % 4],
                    f"2026-11-{1 + i:02d} {i % 24:02d}:{(i * 7) % 60:02d}:00"])
    data = out.getvalue()
    client = await as_user("finance")
    r = await _upload(client, t.id, "payments", data, dry_run=False)
    assert r.status_code == 200, r.text
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["refund_no", "kind", "order_no", "amount", "reason", "approved_by",
                "refunded_at"])
    for i in range(6):
        w.writerow([f"GR-{i}", "compensation" if i % 3 == 0 else "refund",
                    orders[i % 3].order_no, f"{1 + i}.5", f'破损 "{i}"', agent.employee_no,
                    f"2026-11-2{i} 09:3{i}"])
    refunds = out.getvalue()
    r = await _upload(client, t.id, "refunds", refunds, dry_run=False)
    assert r.status_code == 200, r.text
    # the same file again writes nothing
    r = await _upload(client, t.id, "payments", data, dry_run=False)
    assert r.status_code == 200, r.text
    assert (r.json()["insert"], r.json()["unchanged"]) == (0, 24), r.json()
    got = await _outputs(db, t.id, seq0, alert0, case0)
    assert (await verify_tenant(db, t.id)).ok
    if os.environ.get("PROBITY_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    _rank_targets(got["entries"])
    _rank_targets(want["entries"])
    _file_hashes(got["entries"], data, refunds)
    _file_hashes(want["entries"])  # no files: the recorded hashes are only marked
    _rank_case_event_refs(got["refs"])
    _rank_case_event_refs(want["refs"])
    for part in ("entries", "refs", "alerts", "cases", "members", "events", "payment_leaves"):
        assert got[part] == want[part], part
    # The batch entry commits to those leaves, in import order.
    (batch,) = [e["payload"] for e in got["entries"] if e["type"] == "finance.payment_batch"]
    leaves = leaf_hashes([canonical_json(p).decode() for p in got["payment_leaves"]])
    assert batch["count"] == 24 and batch["root"] == root_hash(leaves).hex()


def _file_hashes(entries: list[dict[str, Any]], *files: str) -> None:
    """An import entry's ``sha256`` is the hash of the file uploaded, and the files name the
    demo's orders, whose numbers carry the date the demo was seeded for (``today``): checked
    against the files themselves here, then compared as a mark (the golden file keeps the
    hashes of the day it was recorded)."""
    hashes = {hashlib.sha256(f.encode()).hexdigest() for f in files}

    def walk(v: Any) -> None:  # the import entry's payload, and the audit entry's "after"
        if isinstance(v, dict):
            if isinstance(v.get("sha256"), str):
                assert not hashes or v["sha256"] in hashes, (v["sha256"], "no uploaded file's")
                v["sha256"] = "~"
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk([e["payload"] for e in entries])


def _rank_targets(entries: list[dict[str, Any]]) -> None:
    """Audit entries name their target by a string id (``target_id: "9"``) that a sequence
    handed out — on PostgreSQL sequences move between tests — so both sides compare it by rank
    among the ids of its ``target_type`` (the golden file keeps the literal ids)."""
    ids: dict[str, set[int]] = {}
    for e in entries:
        p = e["payload"]
        if isinstance(p, dict) and isinstance(p.get("target_id"), str) \
                and p["target_id"].isdigit():
            ids.setdefault(str(p.get("target_type")), set()).add(int(p["target_id"]))
    ranks = {t: {x: i for i, x in enumerate(sorted(v))} for t, v in ids.items()}
    for e in entries:
        p = e["payload"]
        if isinstance(p, dict) and isinstance(p.get("target_id"), str) \
                and p["target_id"].isdigit():
            p["target_id"] = f"#{ranks[str(p.get('target_type'))][int(p['target_id'])]}"


def _rank_case_event_refs(refs: list[dict[str, Any]]) -> None:
    """Ledger refs to case events carry the event's id, which a sequence handed out (the golden
    file keeps the literal ids): both sides compare them by rank."""
    found = sorted({r["ref_id"]["case_event_id"] for r in refs
                    if isinstance(r["ref_id"], dict)
                    and type(r["ref_id"].get("case_event_id")) is int})
    rank = {x: i for i, x in enumerate(found)}
    for r in refs:
        if isinstance(r["ref_id"], dict) and type(r["ref_id"].get("case_event_id")) is int:
            r["ref_id"] = {"case_event_id": f"#{rank[r['ref_id']['case_event_id']]}"}

"""Payments imported in bulk are leaves of ONE batch entry (probity-record-batch/v1).

Verification (`verify_tenant`: chain + rows) names an edited, reordered, dropped or added
payment, and a changed leaf store; a case's evidence pack carries each batched payment with its
leaf, its audit path and the batch entry, and verifies offline (the CLI, public key only) —
while a pack whose payment, leaf or leaf position was changed does not."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant
from tests.finance.test_import import _upload

from probity.db import drop_immutability_ddl
from probity.ledger import verify_pack
from probity.ledger.chain import TamperKind
from probity.ledger.service import default_keyring, verify_tenant
from probity.models import CaseAlert, LedgerEntry, Order, Payment
from probity.models.alerts import Alert


async def _import(db: AsyncSession, as_user: Any, n: int = 5) -> tuple[int, int, list[str]]:
    """n payments of one customer, the last to a private account (an alert and a case).
    Returns (tenant id, batch seq, payment numbers)."""
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    order = await db.scalar(select(Order).where(Order.customer_id == c.id).limit(1))
    assert order is not None
    lines = ["payment_no,order_no,customer_no,amount,method,payee_account,paid_at"]
    nos = [f"RB-{i}" for i in range(n)]
    for i, no in enumerate(nos):
        payee = "WX-PRIVATE-8888" if i == n - 1 else "MCH-ECOM-0001"
        lines.append(f"{no},{order.order_no},{c.customer_no},{10 + i}.50,alipay,{payee},"
                     f"2026-11-2{i % 9} 10:0{i % 10}")
    r = await _upload(await as_user("finance"), t.id, "payments", "\n".join(lines) + "\n",
                      dry_run=False)
    assert r.status_code == 200, r.text
    seq = await db.scalar(select(LedgerEntry.seq).where(
        LedgerEntry.tenant_id == t.id, LedgerEntry.type == "finance.payment_batch"))
    assert seq is not None
    return t.id, int(seq), nos


async def _drop(db: AsyncSession, dialect: str, table: str) -> None:
    for ddl in drop_immutability_ddl(table, dialect):
        await db.execute(text(ddl))


async def test_batch_verifies(db: AsyncSession, as_user: Any) -> None:
    tid, seq, nos = await _import(db, as_user)
    got = (await db.execute(select(Payment.payment_no, Payment.ledger_index).where(
        Payment.ledger_seq == seq, Payment.tenant_id == tid).order_by(Payment.id))).all()
    assert [tuple(r) for r in got] == [(no, i) for i, no in enumerate(nos)]
    result = await verify_tenant(db, tid)
    assert result.ok, (result.message, result.problems)


async def test_edited_payment_is_named(db: AsyncSession, as_user: Any) -> None:
    tid, seq, _nos = await _import(db, as_user)
    await db.execute(text("UPDATE payments SET amount = 999 WHERE payment_no = 'RB-2' "
                          "AND tenant_id = :t"), {"t": tid})
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.ALTERED
    assert result.first_bad_seq == seq and "RB-2 differs from its leaf 2" in result.message


async def test_reordered_payments_are_named(db: AsyncSession, as_user: Any) -> None:
    tid, seq, _nos = await _import(db, as_user)
    await db.execute(text("UPDATE payments SET ledger_index = 7 - ledger_index "
                          "WHERE payment_no IN ('RB-3', 'RB-4') AND tenant_id = :t"), {"t": tid})
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.REORDERED
    assert result.first_bad_seq == seq and "is at leaf 3, but its content is leaf 4's" \
        in result.message


async def test_dropped_payment_is_named(db: AsyncSession, as_user: Any) -> None:
    tid, seq, _nos = await _import(db, as_user)
    alert_ids = (await db.scalars(select(Alert.id).where(
        Alert.tenant_id == tid, Alert.evidence["payment_no"].as_string() == "RB-1"))).all()
    assert not alert_ids
    await db.execute(text("DELETE FROM payments WHERE payment_no = 'RB-1' AND tenant_id = :t"),
                     {"t": tid})
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.REMOVED
    assert result.first_bad_seq == seq and "leaf 1 has no payment" in result.message


async def test_added_payment_is_named(db: AsyncSession, as_user: Any) -> None:
    tid, seq, _nos = await _import(db, as_user)
    row = (await db.execute(select(Payment.__table__).where(
        Payment.tenant_id == tid, Payment.payment_no == "RB-0"))).one()
    values = {k: v for k, v in row._mapping.items() if k != "id"}
    # A row behind the ledger's back: no entry records it.
    await db.execute(Payment.__table__.insert().values(
        {**values, "payment_no": "RB-X", "ledger_seq": None, "ledger_index": None,
         "ledger_salt": None}))
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.INSERTED
    assert "payment RB-X is in the database but has no ledger entry" in result.message
    # Or claiming a leaf of the batch: that leaf is another payment's.
    await db.execute(text("DELETE FROM payments WHERE payment_no = 'RB-X' AND tenant_id = :t"),
                     {"t": tid})
    await db.execute(Payment.__table__.insert().values({**values, "payment_no": "RB-Y"}))
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.INSERTED and result.first_bad_seq == seq
    assert "RB-Y claims leaf 0" in result.message


async def test_changed_leaf_store_is_named(db: AsyncSession, as_user: Any,
                                           dialect: str) -> None:
    tid, seq, _nos = await _import(db, as_user)
    await _drop(db, dialect, "ledger_batch_leaves")
    blob = await db.scalar(text("SELECT leaves FROM ledger_batch_leaves WHERE tenant_id = :t "
                                "AND seq = :s"), {"t": tid, "s": seq})
    swapped = bytes(blob[32:64]) + bytes(blob[:32]) + bytes(blob[64:])
    await db.execute(text("UPDATE ledger_batch_leaves SET leaves = :b WHERE tenant_id = :t "
                          "AND seq = :s"), {"b": swapped, "t": tid, "s": seq})
    result = await verify_tenant(db, tid)
    assert not result.ok and result.kind == TamperKind.ALTERED and result.first_bad_seq == seq
    assert "Merkle root" in result.message


async def test_erased_salt_needs_a_purge(db: AsyncSession, as_user: Any) -> None:
    tid, seq, _nos = await _import(db, as_user)
    await db.execute(text("UPDATE payments SET ledger_salt = NULL WHERE payment_no = 'RB-0' "
                          "AND tenant_id = :t"), {"t": tid})
    result = await verify_tenant(db, tid)
    assert not result.ok and result.first_bad_seq == seq
    assert "no retention purge records it" in result.message


# --- evidence packs --------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "probity.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _resigned(pack: bytes, name: str, change: Any) -> bytes:
    """The pack with one file changed and the manifest re-hashed and re-signed (by the ledger
    key): only the batch proofs themselves can then catch the change."""
    src = zipfile.ZipFile(io.BytesIO(pack))
    files = {n: src.read(n) for n in src.namelist()}
    files[name] = change(files[name])
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
    from probity.ledger.canonical import canonical_json

    raw = canonical_json(manifest)
    keyring = default_keyring()
    kid, sig = keyring.sign((manifest["format"] + "\n").encode() + raw)
    files["manifest.json"] = raw
    files["manifest.sig"] = ("\u2014 " + kid + " " + base64.b64encode(
        bytes.fromhex(kid) + sig).decode() + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for n, body in files.items():
            dst.writestr(n, body)
    return out.getvalue()


def _edit_json(change: Any) -> Any:
    def edit(body: bytes) -> bytes:
        value = json.loads(body)
        change(value)
        return json.dumps(value, ensure_ascii=False).encode()
    return edit


async def test_case_pack_proves_batched_payments_offline(db: AsyncSession, as_user: Any,
                                                         tmp_path: Path) -> None:
    tid, seq, nos = await _import(db, as_user)
    alert = await db.scalar(select(Alert).where(
        Alert.tenant_id == tid, Alert.evidence["payment_no"].as_string() == nos[-1]))
    assert alert is not None
    case_id = await db.scalar(select(CaseAlert.case_id).where(CaseAlert.alert_id == alert.id))
    assert case_id is not None
    comp = await as_user("compliance")
    r = await comp.get(f"/api/v1/cases/{case_id}/evidence-pack")
    assert r.status_code == 200, r.text
    pack = r.content
    z = zipfile.ZipFile(io.BytesIO(pack))
    assert json.loads(z.read("manifest.json"))["format"] == "probity-evidence-pack/v2"
    records = json.loads(z.read("record_proofs.json"))
    assert {p["no"] for p in records} >= set(nos)
    assert all(p["seq"] == seq for p in records if p["no"] in nos)
    assert seq in {e["seq"] for e in json.loads(z.read("entries.json"))}
    cited = next(p for p in records if p["no"] == nos[-1])
    assert json.loads(cited["leaf"])["payee_account"] == "WX-PRIVATE-8888"
    result = verify_pack(pack, default_keyring())
    assert result.ok, result.problems
    assert result.records_checked == len(records)

    key_file = tmp_path / "ledger.pub"
    key_file.write_text(default_keyring().export_public_keys()[
        str(default_keyring().current_key_id)] + "\n")
    good = tmp_path / "pack.zip"
    good.write_bytes(pack)
    ok = _cli("evidence", "verify", str(good), "--key", str(key_file))
    assert ok.returncode == 0 and "batched records" in ok.stdout, ok.stdout + ok.stderr

    def shown_amount(value: Any) -> None:
        next(p for p in value if p.get("no") == nos[-1])["amount"] = "0.01"

    def leaf_amount(value: Any) -> None:
        item = next(p for p in value if p["no"] == nos[-1])
        item["leaf"] = item["leaf"].replace('"amount":"14.50"', '"amount":"0.01"')

    def leaf_index(value: Any) -> None:
        a, b = (next(p for p in value if p["no"] == no) for no in nos[:2])
        a["index"], b["index"] = b["index"], a["index"]

    def drop_path(value: Any) -> None:
        next(p for p in value if p["no"] == nos[0])["audit_path"].pop()

    cases = [("payments.json", shown_amount, f"payment {nos[-1]} differs from its proven leaf"),
             ("record_proofs.json", leaf_amount, f"record {nos[-1]}: leaf does not lead"),
             ("record_proofs.json", leaf_index, f"record {nos[0]}: leaf does not lead"),
             ("record_proofs.json", drop_path, f"record {nos[0]}: leaf does not lead")]
    for name, change, expected in cases:
        bad = _resigned(pack, name, _edit_json(change))
        assert verify_pack(pack, default_keyring()).ok
        checked = verify_pack(bad, default_keyring())
        assert not checked.ok and any(expected in p for p in checked.problems), (
            expected, checked.problems)
        path = tmp_path / "bad.zip"
        path.write_bytes(bad)
        res = _cli("evidence", "verify", str(path), "--key", str(key_file))
        assert res.returncode == 1 and expected in res.stdout, res.stdout


async def test_retention_erases_salts_and_everything_still_verifies(
        db: AsyncSession, as_user: Any) -> None:
    from datetime import timedelta

    from probity.ledger.retention import purge_tenant
    from probity.models.base import utcnow
    from probity.models.records import RetentionRule

    tid, seq, nos = await _import(db, as_user)
    rule = RetentionRule(tenant_id=tid, record_type="finance.payment", days=365)
    db.add(rule)
    await db.flush()
    later = utcnow() + timedelta(days=400)
    dry = await purge_tenant(db, tid, rule, dry_run=True, actor=None, now=later)
    assert dry.purged >= len(nos)
    assert None not in (await db.scalars(select(Payment.ledger_salt).where(
        Payment.ledger_seq == seq, Payment.tenant_id == tid))).all()
    done = await purge_tenant(db, tid, rule, dry_run=False, actor=None, now=later)
    assert done.purged >= len(nos) and seq in done.seqs
    assert set((await db.scalars(select(Payment.ledger_salt).where(
        Payment.ledger_seq == seq, Payment.tenant_id == tid))).all()) == {None}
    result = await verify_tenant(db, tid)
    assert result.ok, (result.message, result.problems)
    # The case's pack still proves each payment's place by its kept leaf hash (no leaf text).
    alert = await db.scalar(select(Alert).where(
        Alert.tenant_id == tid, Alert.evidence["payment_no"].as_string() == nos[-1]))
    assert alert is not None
    case_id = await db.scalar(select(CaseAlert.case_id).where(CaseAlert.alert_id == alert.id))
    r = await (await as_user("compliance")).get(f"/api/v1/cases/{case_id}/evidence-pack")
    assert r.status_code == 200, r.text
    records = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("record_proofs.json"))
    assert {p["no"]: p["leaf"] for p in records if p["no"] in nos} == dict.fromkeys(nos)
    checked = verify_pack(r.content, default_keyring())
    assert checked.ok, checked.problems

"""The database-backed ledger: append, verify, proofs, checkpoints, triggers and tampering."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import drop_immutability_ddl
from probity.ledger import (
    Keyring,
    TamperKind,
    entry_hash,
    entry_header,
    load_private_key,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from probity.ledger.checkpoint import generate_signing_key
from probity.ledger.service import (
    append_entries,
    append_entry,
    consistency_proof,
    inclusion_proof,
    make_checkpoint,
    verify_tenant,
)
from probity.models import LedgerCheckpoint, LedgerEntry, Tenant, TenantKind


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(load_private_key(generate_signing_key()))


async def _tenant(db: AsyncSession) -> int:
    """A new subsidiary with an empty ledger: the demo seed ledgers HQ's own records (group
    standards and more), signed with the development key rather than this test's keyring."""
    existing = await db.scalar(select(Tenant.id).where(Tenant.code == "LEDGER-TEST"))
    if existing is not None:
        return int(existing)
    hq = await db.scalar(select(Tenant).where(Tenant.code == "HQ"))
    assert hq is not None
    tenant = Tenant(parent_id=hq.id, code="LEDGER-TEST", name="账本测试",
                    kind=TenantKind.subsidiary)
    db.add(tenant)
    await db.flush()
    tenant.path = f"{hq.path}{tenant.id}/"
    await db.flush()
    return int(tenant.id)


async def _seed(db: AsyncSession, keyring: Keyring, n: int = 8) -> tuple[int, list[LedgerEntry]]:
    tenant_id = await _tenant(db)
    entries = [
        await append_entry(db, tenant_id, "test.event", {"i": i, "text": f"事件 {i}"},
                           keyring=keyring, checkpoint=False)
        for i in range(n)
    ]
    return tenant_id, entries


async def test_append_links_entries_and_verifies(db: AsyncSession, keyring: Keyring) -> None:
    tenant_id, entries = await _seed(db, keyring)
    for before, after in itertools.pairwise(entries):
        assert after.seq == before.seq + 1 and after.prev_hash == before.entry_hash
    cp = await make_checkpoint(db, tenant_id, keyring)
    assert cp is not None and cp.tree_size == entries[-1].seq + 1
    assert await make_checkpoint(db, tenant_id, keyring) is None  # nothing new to sign
    result = await verify_tenant(db, tenant_id, keyring)
    assert result.ok, result.message
    assert result.entries == cp.tree_size and result.checkpoints >= 1


async def test_append_makes_a_checkpoint_when_none_is_recent(
    db: AsyncSession, keyring: Keyring
) -> None:
    tenant_id = await _tenant(db)
    entry = await append_entry(db, tenant_id, "test.event", {"x": 1}, keyring=keyring)
    latest = await db.scalar(select(LedgerCheckpoint).where(
        LedgerCheckpoint.tenant_id == tenant_id).order_by(LedgerCheckpoint.id.desc()).limit(1))
    # Either this append signed one, or one younger than a minute already covers the ledger.
    assert latest is not None and latest.tree_size >= 1
    if latest.tree_size == entry.seq + 1:
        assert verify_checkpoint(latest.note, keyring).tree_size == entry.seq + 1


async def test_purgeable_payload_is_salted(db: AsyncSession, keyring: Keyring) -> None:
    tenant_id = await _tenant(db)
    entry = await append_entry(db, tenant_id, "chat.message", {"body": "hi"}, purgeable=True,
                               keyring=keyring, checkpoint=False)
    assert entry.payload is not None and '"_salt"' in entry.payload


@pytest.mark.parametrize("table", ["ledger_entries", "ledger_checkpoints"])
async def test_database_refuses_update_and_delete(
    db: AsyncSession, keyring: Keyring, table: str
) -> None:
    tenant_id, _ = await _seed(db, keyring, 2)
    await make_checkpoint(db, tenant_id, keyring)
    first = await db.scalar(text(f"SELECT max(id) FROM {table}"))
    assert first is not None
    for stmt in (f"UPDATE {table} SET tenant_id = tenant_id WHERE id = {first}",
                 f"DELETE FROM {table} WHERE id = {first}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(stmt))
    assert await db.scalar(text(f"SELECT count(*) FROM {table} WHERE id = {first}")) == 1


async def _drop_triggers(db: AsyncSession, dialect: str) -> None:
    # DDL is transactional on SQLite and PostgreSQL: the test's rollback restores the triggers.
    for ddl in drop_immutability_ddl("ledger_entries", dialect):
        await db.execute(text(ddl))


async def _set_seq(db: AsyncSession, tenant_id: int, old: int, new: int) -> None:
    await db.execute(
        text("UPDATE ledger_entries SET seq = :new WHERE tenant_id = :t AND seq = :old"),
        {"new": new, "old": old, "t": tenant_id})


async def test_tamper_altered_payload(db: AsyncSession, keyring: Keyring, dialect: str) -> None:
    tenant_id, entries = await _seed(db, keyring)
    target = entries[3].seq
    await _drop_triggers(db, dialect)
    await db.execute(
        text("UPDATE ledger_entries SET payload = :p WHERE tenant_id = :t AND seq = :s"),
        {"p": '{"i":3,"text":"nothing happened"}', "t": tenant_id, "s": target})
    result = await verify_tenant(db, tenant_id, keyring)
    assert not result.ok and result.kind == TamperKind.ALTERED
    assert result.first_bad_seq == target and f"entry {target}" in result.message


async def test_tamper_removed_entry(db: AsyncSession, keyring: Keyring, dialect: str) -> None:
    tenant_id, entries = await _seed(db, keyring)
    target = entries[4].seq
    await _drop_triggers(db, dialect)
    await db.execute(text("DELETE FROM ledger_entries WHERE tenant_id = :t AND seq = :s"),
                     {"t": tenant_id, "s": target})
    result = await verify_tenant(db, tenant_id, keyring)
    assert not result.ok and result.kind == TamperKind.REMOVED
    assert result.first_bad_seq == target


async def test_tamper_inserted_entry(db: AsyncSession, keyring: Keyring, dialect: str) -> None:
    tenant_id, entries = await _seed(db, keyring)
    at = entries[3]
    last = entries[-1].seq
    await _drop_triggers(db, dialect)
    # Make room: shift every later entry up by one (highest first, for the unique key).
    for seq in range(last, at.seq - 1, -1):
        await _set_seq(db, tenant_id, seq, seq + 1)
    # A forged entry, correctly hashed and linked to its predecessor.
    time, code = at.entry_time, at.tenant_code
    p_hash = "ab" * 32
    forged = entry_hash(entry_header(at.seq, time, "test.event", code, p_hash, at.prev_hash))
    await db.execute(text(
        "INSERT INTO ledger_entries (tenant_id, seq, entry_time, type, tenant_code, payload_hash, "
        "prev_hash, entry_hash, payload) VALUES (:t, :s, :time, 'test.event', :code, :ph, :prev, "
        ":eh, NULL)"), {"t": tenant_id, "s": at.seq, "time": time, "code": code, "ph": p_hash,
                        "prev": at.prev_hash, "eh": forged})
    result = await verify_tenant(db, tenant_id, keyring)
    assert not result.ok and result.kind == TamperKind.INSERTED
    assert result.first_bad_seq == at.seq, result.message


async def test_tamper_reordered_entries(
    db: AsyncSession, keyring: Keyring, dialect: str
) -> None:
    tenant_id, entries = await _seed(db, keyring)
    a, b = entries[2].seq, entries[3].seq
    await _drop_triggers(db, dialect)
    await _set_seq(db, tenant_id, a, -1)
    await _set_seq(db, tenant_id, b, a)
    await _set_seq(db, tenant_id, -1, b)
    result = await verify_tenant(db, tenant_id, keyring)
    assert not result.ok and result.kind == TamperKind.REORDERED
    assert result.first_bad_seq == a, result.message


async def test_proofs_verify_against_the_signed_checkpoint(
    db: AsyncSession, keyring: Keyring
) -> None:
    tenant_id, entries = await _seed(db, keyring, 5)
    first = await make_checkpoint(db, tenant_id, keyring)
    await _seed(db, keyring, 6)
    second = await make_checkpoint(db, tenant_id, keyring)
    assert first is not None and second is not None
    signed = verify_checkpoint(second.note, keyring)
    for entry in entries:
        proof = await inclusion_proof(db, tenant_id, entry.seq)
        assert proof.tree_size == signed.tree_size and proof.checkpoint_note == second.note
        assert verify_inclusion(bytes.fromhex(proof.entry_hash), entry.seq, signed.tree_size,
                                [bytes.fromhex(h) for h in proof.audit_path], signed.root_hash)
    old = verify_checkpoint(first.note, keyring)
    cons = await consistency_proof(db, tenant_id, old.tree_size, signed.tree_size)
    assert verify_consistency(old.tree_size, signed.tree_size, old.root_hash, signed.root_hash,
                              [bytes.fromhex(h) for h in cons.proof])


async def test_checkpoint_verifies_after_key_rotation(
    db: AsyncSession, keyring: Keyring
) -> None:
    tenant_id, _ = await _seed(db, keyring, 3)
    old_cp = await make_checkpoint(db, tenant_id, keyring)
    rotated = keyring.rotated(load_private_key(generate_signing_key()))
    await _seed(db, rotated, 2)
    new_cp = await make_checkpoint(db, tenant_id, rotated)
    assert old_cp is not None and new_cp is not None and old_cp.key_id != new_cp.key_id
    verify_checkpoint(old_cp.note, rotated)  # the retired public key is still trusted
    assert (await verify_tenant(db, tenant_id, rotated)).ok
    only_new = Keyring(public_keys=[rotated.public_keys[new_cp.key_id]])
    result = await verify_tenant(db, tenant_id, only_new)
    assert not result.ok and result.problems  # an unknown key is reported, not ignored


async def test_append_after_a_rolled_back_savepoint_stays_contiguous(
    db: AsyncSession, keyring: Keyring
) -> None:
    tenant_id, entries = await _seed(db, keyring, 2)
    with pytest.raises(RuntimeError):
        async with db.begin_nested():
            await append_entry(db, tenant_id, "test.event", {"lost": True}, keyring=keyring,
                               checkpoint=False)
            raise RuntimeError("roll the savepoint back")
    after = await append_entry(db, tenant_id, "test.event", {"kept": True}, keyring=keyring,
                               checkpoint=False)
    assert after.seq == entries[-1].seq + 1 and after.prev_hash == entries[-1].entry_hash
    assert (await verify_tenant(db, tenant_id, keyring)).ok


async def test_append_entries_continues_the_same_chain(
    db: AsyncSession, keyring: Keyring
) -> None:
    tenant_id, entries = await _seed(db, keyring, 2)
    bulk = await append_entries(db, tenant_id, [("test.event", {"n": n}) for n in range(5)],
                                keyring=keyring, checkpoint=False)
    assert [e.seq for e in bulk] == list(range(entries[-1].seq + 1, entries[-1].seq + 6))
    assert bulk[0].prev_hash == entries[-1].entry_hash
    single = await append_entry(db, tenant_id, "test.event", {}, keyring=keyring,
                                checkpoint=False)
    assert single.prev_hash == bulk[-1].entry_hash
    assert (await verify_tenant(db, tenant_id, keyring)).ok

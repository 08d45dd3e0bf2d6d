"""Issue 17: a due ledger checkpoint is signed on the chat writer's direct path (SQLite's bare
sqlite3 connection, PostgreSQL's bare psycopg one: each test runs on both when
PROBITY_TEST_DATABASE_URL is PostgreSQL) from the tenant's Merkle range the path keeps current
(`probity.ledger.ranges`), instead of a fallback to the session path and a read of every entry
since the last checkpoint. The checkpoint is the one `make_checkpoint` makes for the same tree
and time, byte for byte; it verifies (`verify_tenant`, `probity ledger verify --checkpoints`);
its note is published after commit and never on a rollback; and the range is right when other
appenders (the session path, an import, another connection) write in between."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.test_writer import BLOCKED, Published, _conversations

from probity.chat import direct
from probity.chat.send import prepare_send
from probity.chat.writer import MessageWriter
from probity.db import make_engine
from probity.ledger import publish, service
from probity.ledger.checkpoint import verify_checkpoint
from probity.ledger.merkle import CompactRange
from probity.ledger.ranges import Tracked
from probity.ledger.service import (
    append_entries,
    default_keyring,
    make_checkpoint,
    verify_tenant,
)
from probity.models import Conversation, LedgerCheckpoint, LedgerEntry, Tenant
from probity.monitoring import enforce

COLUMNS = ("tenant_id", "tree_size", "root_hash", "timestamp", "key_id", "signature", "note",
           "peaks", "created_at")


class Due:
    """Makes the next batch's checkpoint due on the direct path: the writer looks again
    (`_checked` cleared) and the latest checkpoint looks five minutes old to it."""

    def __init__(self, writer: MessageWriter) -> None:
        self.writer = writer
        self.original = direct.utcnow

    def __enter__(self) -> None:
        self.writer._checked.clear()
        later = self.original() + timedelta(minutes=5)
        direct.utcnow = lambda: later  # type: ignore[assignment]

    def __exit__(self, *exc: Any) -> None:
        direct.utcnow = self.original  # type: ignore[assignment]


async def _leaves(s: AsyncSession, tenant_id: int) -> list[bytes]:
    hashes = await s.scalars(select(LedgerEntry.entry_hash).where(
        LedgerEntry.tenant_id == tenant_id).order_by(LedgerEntry.seq))
    return [bytes.fromhex(h) for h in hashes]


def _range(leaves: list[bytes]) -> CompactRange:
    merkle = CompactRange()
    merkle.extend(leaves)
    return merkle


async def _checkpoints(s: AsyncSession, tenant_id: int) -> list[LedgerCheckpoint]:
    return list((await s.scalars(select(LedgerCheckpoint).where(
        LedgerCheckpoint.tenant_id == tenant_id).order_by(LedgerCheckpoint.id))).all())


async def _check_against_leaves(s: AsyncSession, row: LedgerCheckpoint) -> None:
    """`row` signs the root of the tenant's entries 0..tree_size-1, with their peaks."""
    merkle = _range((await _leaves(s, row.tenant_id))[:row.tree_size])
    assert merkle.size == row.tree_size
    assert row.root_hash == merkle.root().hex()
    assert row.peaks == ",".join(p.hex() for p in merkle.peaks)
    signed = verify_checkpoint(row.note, default_keyring())
    assert (signed.tree_size, signed.root_hash.hex()) == (row.tree_size, row.root_hash)


async def _tenant_of(engine: Any, conv_id: int) -> int:
    async with AsyncSession(engine) as s:
        tenant_id = await s.scalar(select(Conversation.tenant_id)
                                   .where(Conversation.id == conv_id))
    assert tenant_id is not None
    return tenant_id


async def _send(writer: MessageWriter, conv: Any, pub: Published, tag: str, n: int = 1,
                text: str = "好的，我帮您查一下") -> None:
    conv_id, customer, agent = conv
    sends = [await prepare_send(conv_id, customer if i % 2 else agent, pub, text=text,
                                client_id=f"{tag}{i}") for i in range(n)]
    await asyncio.gather(*(writer.submit(p) for p in sends))


async def _prime(writer: MessageWriter, conv: Any, pub: Published) -> None:
    """Batches until one went the direct way (the first may find cold caches and take the
    session path): the thread, its connection and the tenant's range exist."""
    for i in range(5):
        await _send(writer, conv, pub, f"prime{i}-", 2)
        if writer.direct_batches:
            return
    raise AssertionError("no batch went the direct way")


async def test_a_due_checkpoint_is_made_on_the_direct_path_as_make_checkpoint_makes_it(
        writer_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enforce.reset()
    convs = _conversations(writer_url, 2)
    pub = Published()
    folder = tmp_path / "published"
    publish.configure(folder)
    writer = MessageWriter(writer_url)
    engine = make_engine(writer_url)
    try:
        await _prime(writer, convs[0], pub)
        assert writer._direct is not None
        tenant_id = await _tenant_of(engine, convs[0][0])
        async with AsyncSession(engine) as s:
            code = str(await s.scalar(select(Tenant.code).where(Tenant.id == tenant_id)))
            before = await _checkpoints(s, tenant_id)
        fallbacks, made = writer.fallbacks, writer._direct.checkpoints
        # One batch of one message with the checkpoint due, at a fixed signing time.
        at = service.utcnow()
        monkeypatch.setattr(service, "utcnow", lambda: at)
        with Due(writer):
            await _send(writer, convs[1], pub, "b")
        assert writer.fallbacks == fallbacks  # no session path
        assert writer._direct.checkpoints == made + 1
        async with AsyncSession(engine) as s:
            after = await _checkpoints(s, tenant_id)
            assert len(after) == len(before) + 1
            row = after[-1]
            entries = await s.scalar(select(func.count()).select_from(LedgerEntry)
                                     .where(LedgerEntry.tenant_id == tenant_id))
            assert row.tree_size == entries  # every entry, the batch's own included
            await _check_against_leaves(s, row)
            ours = {c: getattr(row, c) for c in COLUMNS}
            # What make_checkpoint makes for the same tree (from the checkpoint before) and
            # the same time: the same row, byte for byte (Ed25519 signs deterministically).
            previous = max((c for c in before if c.tree_size < row.tree_size),
                           key=lambda c: (c.tree_size, c.id), default=None)
            theirs = await make_checkpoint(s, tenant_id, default_keyring(), latest=previous)
            assert theirs is not None
            assert {c: getattr(theirs, c) for c in COLUMNS} == ours
            await s.rollback()
            assert (await verify_tenant(s, tenant_id, checkpoints_dir=folder)).ok
        # Published after its commit, where publish.queue writes the session path's.
        note = publish.note_path(folder, code, ours["tree_size"], ours["note"])
        assert note.read_text(encoding="utf-8") == ours["note"]
        env = {**os.environ, "PROBITY_DATABASE_URL": writer_url, "PROBITY_ENV": "test"}
        env.pop("PROBITY_CHECKPOINT_DIR", None)
        out = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "probity.cli", "ledger", "verify",
                             "--tenant", code, "--checkpoints", str(folder)],
            env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and f"{code}: OK" in out.stdout, out.stdout + out.stderr
    finally:
        publish.configure(None)
        await writer.close()
        await engine.dispose()


async def test_the_range_is_right_when_other_appenders_write_in_between(
        writer_url: str) -> None:
    """The session path (a blocked message: its alert), an import-like bulk append and a
    one-entry append on other connections write between the direct path's batches; each time
    the range reads what they appended (once) and the checkpoint signs the root of every
    entry. A kept range that no longer fits (another chain's hash, a larger size) is rebuilt
    from the latest checkpoint instead of being trusted."""
    enforce.reset()
    convs = _conversations(writer_url, 2)
    pub = Published()
    writer = MessageWriter(writer_url)
    engine = make_engine(writer_url)
    try:
        await _prime(writer, convs[0], pub)
        assert writer._direct is not None
        ranges = writer._direct.ranges
        tenant_id = await _tenant_of(engine, convs[0][0])

        async def elsewhere(n: int) -> None:  # another appender (its own connection)
            async with AsyncSession(engine) as s:
                await append_entries(s, tenant_id, [("test.event", {"i": i}) for i in range(n)],
                                     checkpoint=False)
                await s.commit()

        for round_, interleave in enumerate(("session", "import", "one")):
            caught_up = ranges.caught_up
            if interleave == "session":  # the writer's own session path (alert entries)
                fallbacks = writer.fallbacks
                blocked, _ = await writer.submit(await prepare_send(
                    convs[0][0], convs[0][2], pub, text=BLOCKED, client_id=f"x{round_}"))
                assert blocked.decision == "block" and writer.fallbacks == fallbacks
            else:
                await elsewhere(300 if interleave == "import" else 1)
            made = writer._direct.checkpoints
            with Due(writer):
                await _send(writer, convs[1], pub, f"r{round_}-", 2)
            assert ranges.caught_up == caught_up + 1, interleave
            assert writer._direct.checkpoints == made + 1
            async with AsyncSession(engine) as s:
                row = (await _checkpoints(s, tenant_id))[-1]
                await _check_against_leaves(s, row)
                assert row.tree_size == len(await _leaves(s, tenant_id))
        # A kept range of another chain (same size, another head hash), then one larger
        # than the ledger: neither is extended; each is rebuilt, and signs the right root.
        for spoil in ("hash", "size"):
            kept = ranges.kept(tenant_id)
            assert kept is not None
            if spoil == "hash":
                ranges._kept[tenant_id] = Tracked(kept.merkle, "ab" * 32)
            else:
                bigger = kept.merkle.copy()
                bigger.extend([b"\x07" * 32] * 5)
                ranges._kept[tenant_id] = Tracked(bigger, kept.last)
            rebuilt = ranges.rebuilt
            with Due(writer):
                await _send(writer, convs[1], pub, f"s-{spoil}-")
            assert ranges.rebuilt == rebuilt + 1
            async with AsyncSession(engine) as s:
                row = (await _checkpoints(s, tenant_id))[-1]
                await _check_against_leaves(s, row)
                assert row.tree_size == len(await _leaves(s, tenant_id))
        async with AsyncSession(engine) as s:
            assert (await verify_tenant(s, tenant_id)).ok
    finally:
        await writer.close()
        await engine.dispose()


async def test_a_rolled_back_checkpoint_is_neither_kept_nor_published(
        writer_url: str, tmp_path: Path) -> None:
    """A batch that fails after its checkpoint's INSERT rolls back whole: no row, no note,
    and the range stays at what was committed (the session path then stores the batch)."""
    enforce.reset()
    convs = _conversations(writer_url, 1)
    pub = Published()
    folder = tmp_path / "published"
    publish.configure(folder)
    writer = MessageWriter(writer_url)
    engine = make_engine(writer_url)
    try:
        await _prime(writer, convs[0], pub)
        store = writer._direct
        assert store is not None
        tenant_id = await _tenant_of(engine, convs[0][0])
        kept = store.ranges.kept(tenant_id)
        assert kept is not None
        notes: list[str] = []
        checkpoint, execute = store.ranges.checkpoint, store._execute

        def spy(*args: Any) -> Any:
            signed, made = checkpoint(*args)
            notes.append(made.note)
            return signed, made

        def failing(sql: str, params: tuple[Any, ...]) -> None:
            execute(sql, params)  # the checkpoint's INSERT, then the batch fails
            raise RuntimeError("after the checkpoint")

        store.ranges.checkpoint = spy  # type: ignore[method-assign]
        store._execute = failing  # type: ignore[method-assign]
        fallbacks = writer.fallbacks
        try:
            with Due(writer):
                await _send(writer, convs[0], pub, "f")
        finally:
            del store._execute
        assert writer.fallbacks == fallbacks + 1  # rolled back; the session path stored it
        assert len(notes) == 1
        after = store.ranges.kept(tenant_id)
        assert after is not None and after.merkle.size == kept.merkle.size
        assert not any(p.read_text(encoding="utf-8") == notes[0]
                       for p in folder.rglob("*.note"))
        async with AsyncSession(engine) as s:
            assert await s.scalar(select(func.count()).select_from(LedgerCheckpoint)
                                  .where(LedgerCheckpoint.note == notes[0])) == 0
        # The next due checkpoint is made from the committed range, caught up with the
        # session path's entries, and published.
        with Due(writer):
            await _send(writer, convs[0], pub, "g")
        assert len(notes) == 2
        async with AsyncSession(engine) as s:
            row = (await _checkpoints(s, tenant_id))[-1]
            assert row.note == notes[1]
            await _check_against_leaves(s, row)
            assert (await verify_tenant(s, tenant_id, checkpoints_dir=folder)).ok
        assert any(p.read_text(encoding="utf-8") == notes[1] for p in folder.rglob("*.note"))
    finally:
        publish.configure(None)
        await writer.close()
        await engine.dispose()


async def test_a_batch_without_a_due_checkpoint_extends_the_range_after_its_commit(
        writer_url: str) -> None:
    """A batch whose checkpoint is not looked at leaves its tenant's Merkle range to after its
    commit, out of the write turn (`LedgerRanges.extend_committed`): the kept range then
    covers every entry, the batch's own included. When that fails (here the read of another
    appender's entries) the batch stays committed and acknowledged, the tenant's range is
    dropped, and the next due batch rebuilds it in its transaction and signs the right root."""
    enforce.reset()
    convs = _conversations(writer_url, 1)
    pub = Published()
    writer = MessageWriter(writer_url)
    engine = make_engine(writer_url)
    try:
        await _prime(writer, convs[0], pub)
        store = writer._direct
        assert store is not None
        ranges = store.ranges
        tenant_id = await _tenant_of(engine, convs[0][0])
        calls: list[str] = []
        extend, committed = ranges.extend, ranges.extend_committed
        failing_read = False

        def in_turn(*args: Any) -> Any:
            calls.append("extend")
            return extend(*args)

        def after_commit(tenant_id: int, rows: Any, query: Any, run: Any) -> None:
            calls.append("after commit")

            def read(sql: str, params: Any) -> Any:
                if failing_read:
                    raise RuntimeError("the read after the commit failed")
                return query(sql, params)

            ranges.extend = extend  # type: ignore[method-assign]
            try:
                committed(tenant_id, rows, read, run)
            finally:
                ranges.extend = in_turn  # type: ignore[method-assign]

        ranges.extend = in_turn  # type: ignore[method-assign]
        ranges.extend_committed = after_commit  # type: ignore[method-assign]
        try:
            await _send(writer, convs[0], pub, "n", 3)
            assert calls == ["after commit"]
            async with AsyncSession(engine) as s:
                leaves = await _leaves(s, tenant_id)
            kept = ranges.kept(tenant_id)
            assert kept is not None and kept.merkle.size == len(leaves)
            assert kept.merkle.root() == _range(leaves).root()

            # Another appender's entry, then a batch whose read of it fails after its commit.
            async with AsyncSession(engine) as s:
                await append_entries(s, tenant_id, [("test.event", {"i": 1})],
                                     checkpoint=False)
                await s.commit()
            fallbacks, direct_batches = writer.fallbacks, writer.direct_batches
            failing_read = True
            await _send(writer, convs[0], pub, "k", 2)
        finally:
            del ranges.extend, ranges.extend_committed
        assert (writer.fallbacks, writer.direct_batches) == (fallbacks, direct_batches + 1)
        assert ranges.kept(tenant_id) is None
        async with AsyncSession(engine) as s:
            assert len(await _leaves(s, tenant_id)) == len(leaves) + 1 + 2
        rebuilt = ranges.rebuilt
        with Due(writer):
            await _send(writer, convs[0], pub, "d")
        assert ranges.rebuilt == rebuilt + 1
        async with AsyncSession(engine) as s:
            row = (await _checkpoints(s, tenant_id))[-1]
            await _check_against_leaves(s, row)
            assert row.tree_size == len(await _leaves(s, tenant_id))
            assert (await verify_tenant(s, tenant_id)).ok
    finally:
        await writer.close()
        await engine.dispose()

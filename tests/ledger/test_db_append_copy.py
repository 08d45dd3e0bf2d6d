"""Issue 17: on PostgreSQL an append of `service.PG_COPY_MIN` entries or more sends its rows with
COPY (text format) instead of a pipelined executemany. The rows are the executemany's, byte for
byte (payloads and ref ids whose text needs COPY's escapes included); the head is still read
after the tenant's append lock, so a stale guess — another appender wrote since — or another
connection appending at the same time leaves one chain that verifies."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import Database
from probity.ledger import service
from probity.ledger.service import append_entries, append_entries_psycopg, verify_tenant
from probity.models import Tenant, TenantKind

# Strings whose canonical JSON holds backslashes (COPY's escape character) and non-ASCII text,
# and ref ids (stored as given) with raw tabs, newlines, carriage returns and backslashes.
ODD = ["tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", "\\.", '"quoted"',
       "您好，退款已处理 🙂", "\u0001\u001f\u007f", "end\\"]


def _items(n: int, start: int = 0) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for i in range(start, start + n):
        odd = ODD[i % len(ODD)]
        payload: dict[str, Any] = {"i": i, "text": odd, "nested": {"list": [odd, i, None]}}
        if i % 3 == 0:
            payload["message_id"] = f"m{i}{odd}"[:64]
            payload["conversation_id"] = i // 7
        items.append(("test.event" if i % 2 else "test.other_event", payload))
    return items


async def _new_tenant(db: AsyncSession, code: str) -> int:
    tenant = Tenant(code=code, name=code, kind=TenantKind.hq, path="/")
    db.add(tenant)
    await db.flush()
    return int(tenant.id)


async def _stored(db: AsyncSession, tenant_id: int, since: int
                  ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rows = (await db.execute(text(
        "SELECT tenant_id, seq, entry_time, type, tenant_code, payload_hash, prev_hash, "
        "entry_hash, payload FROM ledger_entries WHERE tenant_id = :t AND seq >= :s "
        "ORDER BY seq"), {"t": tenant_id, "s": since})).all()
    refs = (await db.execute(text(
        "SELECT tenant_id, seq, ref_type, ref_id FROM ledger_refs WHERE tenant_id = :t "
        "AND seq >= :s ORDER BY seq, id"), {"t": tenant_id, "s": since})).all()
    return [tuple(r) for r in rows], [tuple(r) for r in refs]


@pytest.fixture
def statements(db: AsyncSession) -> Iterator[list[str]]:
    """The first words of every statement the session's connection reports."""
    seen: list[str] = []

    def listen(_c: object, _cur: object, statement: str, *_a: object) -> None:
        seen.append(" ".join(statement.split()[:2]))

    target = db.bind.sync_engine  # type: ignore[union-attr]
    event.listen(target, "before_cursor_execute", listen)
    yield seen
    event.remove(target, "before_cursor_execute", listen)


async def test_copy_rows_are_the_executemany_rows(
        db: AsyncSession, dialect: str, monkeypatch: pytest.MonkeyPatch,
        statements: list[str]) -> None:
    """The same items on the same head, at the same time: COPY stores exactly the rows and
    refs the executemany stores, and exactly what `append_entries` returned."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's COPY append")
    now = datetime(2026, 12, 6, 17, 0, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(service, "utcnow", lambda: now)
    monkeypatch.setattr(service, "_COPY_CHUNK", 7)  # several writes per COPY
    tenant_id = await _new_tenant(db, "COPY-ROWS")
    items = _items(3 * service.PG_COPY_MIN)
    stored: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
    for path, least in (("copy", 1), ("executemany", 10**9)):
        monkeypatch.setattr(service, "PG_COPY_MIN", least)
        service._PG_HEADS.clear()
        del statements[:]
        async with db.begin_nested() as savepoint:
            entries = await append_entries(db, tenant_id, items, checkpoint=False)
            stored[path] = await _stored(db, tenant_id, 0)
            await savepoint.rollback()
        assert [dataclasses.astuple(e) for e in entries] == stored[path][0]
        copied = [s for s in statements if s.startswith("COPY")]
        assert copied == (["COPY ledger_entries", "COPY ledger_refs"] if path == "copy" else [])
    rows, refs = stored["copy"]
    assert rows == stored["executemany"][0] and refs == stored["executemany"][1]
    assert [r[1] for r in rows] == list(range(len(items)))
    assert any("\t" in r[3] for r in refs) and any("\\" in r[3] for r in refs)  # escaped
    entries = await append_entries(db, tenant_id, items, checkpoint=False)
    assert (await verify_tenant(db, tenant_id)).ok


async def test_copy_append_checks_the_guessed_head(
        db: AsyncSession, dialect: str, statements: list[str]) -> None:
    """A COPY-sized append with a right, a stale (behind: another process appended) and a
    wrong (ahead: the appending transaction rolled back) guess of the head lands on the true
    head every time."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's COPY append")
    tenant_id = await _new_tenant(db, "COPY-GUESS")
    conn = await db.connection()
    key = (conn.sync_connection.engine.url, tenant_id)  # type: ignore[union-attr]
    n = service.PG_COPY_MIN
    async with db.begin_nested():
        first = await append_entries(db, tenant_id, _items(n), checkpoint=False)
    assert service._PG_HEADS[key][0] == first[-1].seq == n - 1
    last, code = first[-1], first[-1].tenant_code
    for k, guess in enumerate([(last.seq, last.entry_hash, code),  # right
                               (last.seq - 1, last.prev_hash, code),  # behind
                               (last.seq + 5, "1" * 64, code)],  # ahead
                              start=1):
        service._PG_HEADS[key] = guess
        async with db.begin_nested():
            entries = await append_entries(db, tenant_id, _items(n, k * n), checkpoint=False)
        assert entries[0].seq == last.seq + 1 and entries[0].prev_hash == last.entry_hash
        last = entries[-1]
    assert statements.count("COPY ledger_entries") == 4
    assert (await verify_tenant(db, tenant_id)).ok


async def test_a_copy_that_collides_is_an_integrity_error(db: AsyncSession, dialect: str) -> None:
    """A COPY on a wrong head (here: the transaction's cached head, forged one behind)
    collides with the unique (tenant, seq) like the INSERT: SQLAlchemy's IntegrityError, and
    the savepoint takes nothing along."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's COPY append")
    tenant_id = await _new_tenant(db, "COPY-CLASH")
    first = await append_entries(db, tenant_id, _items(service.PG_COPY_MIN), checkpoint=False)
    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            last = first[-1]
            service._remember_head(db, tenant_id, (last.seq - 1, last.prev_hash,
                                                   last.tenant_code))
            await append_entries(db, tenant_id, _items(service.PG_COPY_MIN), checkpoint=False)
    rows, _refs = await _stored(db, tenant_id, 0)
    assert len(rows) == len(first)
    assert (await verify_tenant(db, tenant_id)).ok


@pytest.fixture(scope="module")
def pg_url(fresh_postgres: Any) -> str:
    """A database of the module's own that the appenders commit to."""
    url: str = fresh_postgres("ledgercopy")
    return url


def test_concurrent_appenders_keep_one_chain(pg_url: str) -> None:
    """Three connections — two bare psycopg ones, each its own process as far as the head
    guesses go, and the application's session path — append COPY-sized and small batches to
    one tenant at once, committing each: every append waits for the lock, reads the head
    after it, and the tenant's ledger is one chain that verifies. One bare appender passes no
    dialect: the checkpoint's time is read with psycopg's own (it raised once the tenant had a
    checkpoint)."""
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as con:
        tenant_id = con.execute(
            "INSERT INTO tenants (code, name, kind, path, timezone, created_at) "
            "VALUES ('COPY-RACE', 'race', 'hq', '/', 'UTC', now()) RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        con.commit()
    sizes = [service.PG_COPY_MIN, 3, 2 * service.PG_COPY_MIN, 1] * 3
    dialect = psycopg_dialect.dialect()
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def bare(name: str) -> None:
        try:
            with psycopg.connect(dsn) as con:
                start.wait()
                for size in sizes:
                    _e, latest, _ran = append_entries_psycopg(
                        con, f"process-{name}", tenant_id, _items(size),
                        checkpoint_time=True, dialect=dialect if name == "a" else None)
                    assert latest is None or latest.tzinfo is not None
                    con.commit()
        except BaseException as exc:
            errors.append(exc)

    async def session_path() -> None:
        db = Database(pg_url)
        try:
            start.wait()
            for size in sizes:
                async with db.sessionmaker() as session:
                    await append_entries(session, tenant_id, _items(size))
                    await session.commit()
        finally:
            await db.dispose()

    async def check() -> None:
        db = Database(pg_url)
        try:
            async with db.sessionmaker() as session:
                result = await verify_tenant(session, tenant_id)
                assert result.ok, result.message
                assert result.entries == 3 * sum(sizes)
                seqs = list(await session.scalars(text(
                    "SELECT seq FROM ledger_entries WHERE tenant_id = :t ORDER BY seq"),
                    {"t": tenant_id}))
                assert seqs == list(range(3 * sum(sizes)))
        finally:
            await db.dispose()

    threads = [threading.Thread(target=bare, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    try:
        asyncio.run(session_path())
    finally:
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    asyncio.run(check())


def test_copy_escapes_round_trip_in_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The COPY text of the rows (pure): one line a row, fields split by tabs, and the escapes
    undone give the fields back; written in pieces of whole rows."""
    rows = [(1, 0, "2026-12-06T17:00:00.000000Z", "test.event", "T", "a" * 64, "b" * 64,
             "c" * 64, odd) for odd in ODD] + [(1, 1, "t", "x", "T", "h", "p", "e", None)]
    whole = list(service.copy_text(service._PG_COPY_ENTRIES, rows))
    monkeypatch.setattr(service, "_COPY_CHUNK", 4)
    pieces = list(service.copy_text(service._PG_COPY_ENTRIES, rows))
    assert len(whole) == 1 and len(pieces) == 3 and "".join(pieces) == whole[0]
    assert all(piece.endswith("\n") for piece in pieces)
    lines = whole[0].split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 1

    def unescape(field: str) -> str | None:
        if field == "\\N":
            return None
        out, chars = [], iter(field)
        for ch in chars:
            if ch == "\\":
                nxt = next(chars)
                out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(nxt, nxt))
            else:
                out.append(ch)
        return "".join(out)

    for line, row in zip(lines, rows, strict=False):
        fields = line.split("\t")
        assert len(fields) == 9
        assert unescape(fields[8]) == row[8]
        assert fields[:8] == [str(v) for v in row[:8]]

"""Data building shared by the benchmarks: a fresh migrated database, bulk inserts in chunks, and
the group every HR benchmark starts from (an HQ, one subsidiary, one position, teams and their
employees inserted in bulk).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, create_engine, insert, pool, select, text

from probity.db import sync_url
from probity.migrate import upgrade
from probity.models import Employee, EmploymentStatus, OrgUnit, Position, Tenant


def reset_postgres(url: str) -> None:
    """Drop and re-create the public schema: never point a benchmark at a database you need."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database(url: str) -> None:
    """An empty, migrated database (a PostgreSQL URL has its public schema dropped first)."""
    if url.startswith("postgresql"):
        reset_postgres(url)
    upgrade(url)


async def chunked(session: Any, model: Any, rows: list[dict[str, Any]], size: int = 5000
                  ) -> None:
    """Core bulk insert (executemany) in chunks."""
    for i in range(0, len(rows), size):
        await session.execute(insert(model), rows[i:i + size])


@dataclass
class Group:
    hq: int
    hq_path: str
    sub: int
    sub_path: str
    position: int
    units: list[int]
    employees: list[int]  # in insertion order; employee i is in team units[i % len(units)]


async def build_group(session: Any, *, employees: int, teams: int, employee_no: str = "A",
                      name: str = "客服") -> Group:
    """HQ 集团 → subsidiary 子公司, a P1 agent position at HQ, `teams` teams in the subsidiary and
    `employees` active employees hired in 2020 spread over them. Flushed, not committed."""
    now = datetime.now(UTC)
    hq = Tenant(code="HQ", name="集团", kind="hq", path="")
    session.add(hq)
    await session.flush()
    hq.path = f"/{hq.id}/"
    sub = Tenant(code="SUB", name="子公司", kind="subsidiary", parent_id=hq.id, path="")
    session.add(sub)
    await session.flush()
    sub.path = f"{hq.path}{sub.id}/"
    pos = Position(tenant_id=hq.id, code="CS1", title="客服专员", grade="P1")
    session.add(pos)
    await session.flush()
    await chunked(session, OrgUnit, [{"tenant_id": sub.id, "code": f"T{i:03d}",
                                      "name": f"团队{i}", "kind": "team", "created_at": now}
                                     for i in range(teams)])
    units = list((await session.scalars(select(OrgUnit.id).where(OrgUnit.tenant_id == sub.id)
                                        .order_by(OrgUnit.id))).all())
    await chunked(session, Employee, [{
        "tenant_id": sub.id, "org_unit_id": units[i % teams], "position_id": pos.id,
        "employee_no": f"{employee_no}{i:06d}", "name": f"{name}{i}",
        "hire_date": date(2020, 1, 1), "status": EmploymentStatus.active, "created_at": now}
        for i in range(employees)])
    emps = list((await session.scalars(select(Employee.id).where(Employee.tenant_id == sub.id)
                                       .order_by(Employee.id))).all())
    return Group(hq.id, hq.path, sub.id, sub.path, pos.id, units, emps)


class RawWriter:
    """Bulk rows straight through the synchronous DBAPI driver, off the ORM and Core: SQLite
    `executemany` in big batches (one transaction per batch, synchronous=OFF while building),
    PostgreSQL `COPY`. Values are converted once by the column types' own bind processors
    (`value`, `processor`), so what is stored is exactly what the application would store. The
    caller gives explicit ids; `finish` moves PostgreSQL's id sequences past them."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(sync_url(url), poolclass=pool.NullPool)
        self.dialect = self.engine.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self.conn: Any = self.engine.raw_connection()
        self.tables: set[str] = set()
        if self.sqlite:
            cur = self.conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")  # 256 MiB
            cur.close()

    def processor(self, model: Any, column: str) -> Any:
        """The column type's bind processor (None when values pass as they are)."""
        return model.__table__.c[column].type.bind_processor(self.dialect)

    def value(self, model: Any, column: str, value: Any) -> Any:
        if value is None:
            return None
        proc = self.processor(model, column)
        if proc is not None:
            return proc(value)
        if isinstance(model.__table__.c[column].type, JSON):  # psycopg adapts JSON itself
            return json.dumps(list(value) if isinstance(value, tuple) else value)
        return value

    def insert(self, model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]],
               batch: int = 100_000) -> int:
        """Insert already-converted row tuples; returns how many."""
        table = model.__table__.name
        self.tables.add(table)
        names = ", ".join(columns)
        n = 0
        if self.sqlite:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            cur = self.conn.cursor()
            buf: list[Sequence[Any]] = []
            for row in rows:
                buf.append(row)
                if len(buf) >= batch:
                    cur.executemany(sql, buf)
                    self.conn.commit()
                    n += len(buf)
                    buf = []
            if buf:
                cur.executemany(sql, buf)
                n += len(buf)
            self.conn.commit()
            cur.close()
            return n
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        self.conn.commit()
        return n

    def finish(self) -> None:
        if not self.sqlite:
            with self.conn.cursor() as cur:
                for table in sorted(self.tables):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM {table}))")
                    cur.execute(f"ANALYZE {table}")
            self.conn.commit()
        # SQLite is left without ANALYZE statistics, as the application's own databases are.
        self.conn.close()
        self.engine.dispose()

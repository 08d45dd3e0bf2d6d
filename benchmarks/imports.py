"""Import framework benchmark: the same orders file through finance's own importer (the
baseline) and through the framework's `orders` kind, then employees and chat transcripts.

Run: ``.venv/bin/python benchmarks/imports.py [--rows N]`` (default 20,000). Writes the
``imports`` section of docs/BENCHMARKS.md. A fresh migrated SQLite file with the demo group;
each import is planned (validate + resolve) and committed in one transaction; the load average
is recorded because the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _report import write_section
from sqlalchemy import select

from probity.config import Settings
from probity.db import Database
from probity.demo import seed_demo
from probity.finance import importer as fin
from probity.imports.engine import apply_import, digest, plan_import
from probity.imports.reading import read_table
from probity.migrate import upgrade
from probity.models import Customer, Tenant


def orders_csv(n: int, prefix: str, customers: list[str]) -> bytes:
    out = io.StringIO()
    out.write("order_no,customer_no,item,amount,status,placed_at\n")
    for i in range(n):
        out.write(f"{prefix}{i:08d},{customers[i % len(customers)]},商品{i % 50},"
                  f"{59 + i % 900}.00,completed,2026-10-{1 + i % 28:02d} 10:00:00\n")
    return out.getvalue().encode()


def employees_csv(n: int) -> bytes:
    out = io.StringIO()
    out.write("工号,姓名,入职日期,部门编码,手机\n")
    for i in range(n):
        out.write(f"B{i:07d},员工{i},2024-{1 + i % 12:02d}-01,ECOM-T{1 + i % 2},"
                  f"139{i:08d}\n")
    return out.getvalue().encode("gbk")


def transcripts_jsonl(n: int, customers: list[str]) -> bytes:
    import json

    lines = []
    for i in range(n):
        conv = i // 10
        lines.append(json.dumps({
            "conversation_ref": f"OLD-{conv}", "message_ref": str(i % 10),
            "team_code": "ECOM-T1", "customer_no": customers[conv % len(customers)],
            "sent_at": f"2025-0{1 + conv % 9}-1{conv % 9} 10:{i % 10:02d}:00",
            "sender_role": "customer" if i % 2 == 0 else "system",
            "body": f"第{i}条历史消息：请问订单什么时候发货？"}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


async def framework(db: Database, tid: int, kind: str, data: bytes, name: str
                    ) -> tuple[float, float, int, int]:
    async with db.sessionmaker() as session:
        start = time.perf_counter()
        ctx = await plan_import(session, kind, tid, read_table(data, name))
        planned = time.perf_counter() - start
        assert not ctx.plan.error_count, ctx.plan.errors[:3]
        await apply_import(ctx, source="bench", filename=name, sha256=digest(data))
        await session.commit()
        return planned, time.perf_counter() - start, len(ctx.plan.inserts), ctx.plan.unchanged


async def finance(db: Database, tid: int, data: bytes) -> tuple[float, float, int, int]:
    async with db.sessionmaker() as session:
        start = time.perf_counter()
        headers, rows = fin.read_table(data, "orders.csv")
        plan = await fin.plan_import(session, tid, "orders", headers, rows)
        planned = time.perf_counter() - start
        await fin.apply_plan(session, plan, None, source="file", filename="orders.csv",
                             sha256=fin.digest(data), run_rules=False)
        await session.commit()
        return planned, time.perf_counter() - start, len(plan.inserts), plan.unchanged


async def main(rows: int) -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        await seed_demo(Settings(database_url=url), if_empty=False)
        db = Database(url)
        async with db.sessionmaker() as session:
            tid = await session.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
            assert tid is not None
            customers = list((await session.scalars(select(Customer.customer_no).where(
                Customer.tenant_id == tid))).all())
        results = [
            ("orders, finance importer (baseline)",
             *await finance(db, tid, orders_csv(rows, "FA", customers))),
            ("orders, import framework", *await framework(
                db, tid, "orders", orders_csv(rows, "FB", customers), "orders.csv")),
            ("orders again, framework (idempotent)", *await framework(
                db, tid, "orders", orders_csv(rows, "FB", customers), "orders.csv")),
            ("employees, GBK CSV", *await framework(db, tid, "employees", employees_csv(rows),
                                                    "staff.csv")),
            ("chat transcripts, JSONL (ledgered per message)", *await framework(
                db, tid, "transcripts", transcripts_jsonl(rows, customers), "chat.jsonl")),
        ]
        await db.dispose()
    lines = [
        "## Import framework (issue 14.5 / 13.6)",
        "",
        f"`benchmarks/imports.py`: {rows:,}-row files into a migrated SQLite file with the demo "
        "group, planned (read → validate in a worker thread → resolve natural keys) and "
        "committed in one transaction. Baseline: the same orders file through finance's own "
        "importer in the same run. Shared machine: load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start.",
        "",
        "| import | rows | inserted | unchanged | validate + resolve | total | rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, planned, total, inserted, unchanged in results:
        lines.append(f"| {name} | {rows:,} | {inserted:,} | {unchanged:,} | {planned:.1f} s | "
                     f"{total:.1f} s | {rows / total:,.0f} |")
    body = "\n".join(lines)
    print(body)
    write_section("imports", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().rows))

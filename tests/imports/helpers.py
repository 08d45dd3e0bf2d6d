"""Running an import kind straight through the engine (no job): plan, then apply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.imports.engine import Plan, apply_import, digest, plan_import
from probity.imports.reading import read_table
from probity.models import Tenant


async def tenant_id(db: AsyncSession, code: str) -> int:
    tid = await db.scalar(select(Tenant.id).where(Tenant.code == code))
    assert tid is not None
    return int(tid)


async def run_kind(db: AsyncSession, kind: str, tid: int, text: str, *, commit: bool = True,
                   name: str = "f.csv", mapping: dict[str, str] | None = None) -> Plan:
    data = text.encode()
    ctx = await plan_import(db, kind, tid, read_table(data, name), mapping=mapping)
    if commit and not ctx.plan.error_count:
        await apply_import(ctx, source="test", filename=name, sha256=digest(data))
        await db.flush()
    return ctx.plan


def counts(plan: Plan) -> dict[str, Any]:
    return {"insert": len(plan.inserts), "update": len(plan.updates),
            "unchanged": plan.unchanged, "errors": plan.error_count}

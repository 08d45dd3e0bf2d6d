"""`probity screen labels`: reviewer labels as training lines for `probity screen train`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer


async def _export(out: Path, tenant: str | None) -> int:
    from sqlalchemy import select

    from probity.alerts.feedback import export_training_lines
    from probity.config import get_settings
    from probity.db import Database
    from probity.models import Tenant

    db = Database(get_settings().database_url)
    try:
        async with db.sessionmaker() as session:
            tenant_ids = None
            if tenant is not None:
                tid = await session.scalar(select(Tenant.id).where(Tenant.code == tenant))
                if tid is None:
                    raise typer.BadParameter(f"no tenant with code {tenant!r}")
                tenant_ids = [int(tid)]
            n = 0
            with out.open("w", encoding="utf-8") as fh:
                async for line in export_training_lines(session, tenant_ids):
                    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                    n += 1
            return n
    finally:
        await db.dispose()


def export_labels(
    out: Annotated[Path, typer.Option("--out", help="JSON lines to write.")] = Path(
        "labels.jsonl"),
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant code (default: all)."
                                               )] = None,
) -> None:
    """Export reviewer labels (confirmed, false positive, missed) as training lines."""
    n = asyncio.run(_export(out, tenant))
    typer.echo(f"{n} labelled messages -> {out}")

"""`probity finance …`: file imports with a progress bar, anomaly rules; `probity cases sweep`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

finance_app = typer.Typer(help="Finance data in (CSV/XLSX) and anomaly rules.",
                          no_args_is_help=True)
cases_app = typer.Typer(help="Case housekeeping: grouping and SLA clocks.", no_args_is_help=True)
console = Console(stderr=True)


async def _tenant_id(session: Any, code: str) -> int:
    from sqlalchemy import select

    from probity.models import Tenant

    tid = await session.scalar(select(Tenant.id).where(Tenant.code == code))
    if tid is None:
        console.print(f"[red]error:[/red] no subsidiary with code {code!r}")
        raise typer.Exit(2)
    return int(tid)


async def _import(path: Path, data: bytes, kind: str, tenant: str, mapping: dict[str, str],
                  ignore: list[str], commit: bool) -> int:
    from probity.config import get_settings
    from probity.db import Database
    from probity.errors import DomainError
    from probity.finance.importer import apply_plan, digest, plan_import, read_table

    db = Database(get_settings().database_url)
    try:
        async with db.sessionmaker() as session:
            tenant_id = await _tenant_id(session, tenant)
            with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                          TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                          console=console) as bar:
                check = bar.add_task("validate", total=None)
                write = bar.add_task("write", total=None, visible=False)

                def progress(stage: str, done: int, total: int) -> None:
                    if stage == "validate":
                        bar.update(check, completed=done)
                    else:
                        bar.update(write, completed=done, total=total or None, visible=True)

                try:
                    headers, rows = read_table(data, path.name)
                    plan = await plan_import(session, tenant_id, kind, headers, rows,
                                             mapping=mapping, ignore=ignore,
                                             progress=progress)
                    bar.update(check, completed=plan.rows, total=plan.rows)
                    summary = plan.summary()
                    if plan.error_count:
                        _errors(summary)
                        return 1
                    if commit:
                        batch, alerts = await apply_plan(
                            session, plan, None, source="file", filename=path.name,
                            sha256=digest(data), progress=progress)
                        await session.commit()
                        summary |= {"import_id": batch.id, "new_alerts": alerts}
                except DomainError as exc:
                    console.print(f"[red]error:[/red] {exc.message}")
                    if exc.extra.get("errors"):
                        _errors(exc.extra)
                    return 1
        keys = ("rows", "insert", "update", "unchanged", "new_customers", "import_id",
                "new_alerts")
        console.print(("committed: " if commit else "dry run (nothing written): ") + ", ".join(
            f"{k} {summary[k]}" for k in keys if k in summary))
        return 0
    finally:
        await db.dispose()


def _errors(summary: dict[str, Any]) -> None:
    console.print(f"{summary.get('error_count')} row error(s); nothing was imported",
                  soft_wrap=True)
    for e in summary.get("errors", [])[:50]:
        console.print(f"  row {e['row']}" + (f", {e['column']}" if e.get("column") else "")
                      + f": {e['error']}", soft_wrap=True, markup=False)


@finance_app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file")],
    kind: Annotated[str, typer.Option(help="orders | payments | refunds | payees")],
    tenant: Annotated[str, typer.Option(help="Subsidiary code, e.g. ECOM")],
    mapping: Annotated[str | None, typer.Option(help='JSON {"file column": "field"}')] = None,
    ignore: Annotated[str, typer.Option(help="Comma list of columns to ignore")] = "",
    commit: Annotated[bool, typer.Option("--commit/--dry-run",
                                         help="Write (all rows or none)")] = False,
) -> None:
    """Import a file: validate every row, then (with --commit) write all of it or nothing."""
    raise typer.Exit(asyncio.run(_import(
        path, path.read_bytes(), kind, tenant, json.loads(mapping) if mapping else {},
        [i for i in ignore.split(",") if i.strip()], commit)))


@finance_app.command("rules")
def run_rules(tenant: Annotated[str, typer.Option(help="Subsidiary code")]) -> None:
    """Run the subsidiary's anomaly rules now (alerts are grouped into cases)."""
    async def go() -> int:
        from probity.config import get_settings
        from probity.db import Database
        from probity.finance.rules import run_rules as run

        db = Database(get_settings().database_url)
        try:
            async with db.sessionmaker() as session:
                alerts = await run(session, await _tenant_id(session, tenant))
                await session.commit()
                console.print(f"{len(alerts)} new alert(s)")
                return 0
        finally:
            await db.dispose()
    raise typer.Exit(asyncio.run(go()))


@cases_app.command("sweep")
def sweep() -> None:
    """Group alerts that are in no case yet and record/notify SLA warnings and breaches.
    Run it every few minutes from a scheduler (cron, systemd timer)."""
    async def go() -> int:
        from probity.auth.deps import commit
        from probity.cases.service import group_pending_alerts, sla_sweep
        from probity.config import get_settings
        from probity.db import Database

        db = Database(get_settings().database_url)
        try:
            async with db.sessionmaker() as session:
                cases = await group_pending_alerts(session, None)
                sla = await sla_sweep(session, None)
                await commit(session)  # then the notifications
                console.print(f"{len(cases)} case(s) took new alerts; {len(sla)} SLA event(s)")
                return 0
        finally:
            await db.dispose()
    raise typer.Exit(asyncio.run(go()))

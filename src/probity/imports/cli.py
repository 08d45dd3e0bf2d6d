"""`probity import …` and `probity export`: the import framework from the command line.

Exit codes: 0 done (or a clean dry run); 1 the input was refused (encoding, format, columns,
row errors — nothing was written); 2 bad usage (unknown tenant, kind or template).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

import_app = typer.Typer(help="Import data (CSV, XLSX, JSON Lines) or a tenant export.",
                         no_args_is_help=True)
console = Console(stderr=True)


def _say_error(exc: Any) -> None:
    from probity.i18n import translator

    console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True, markup=False)
    zh = exc.localized(translator("zh_CN"))
    if zh != exc.message:
        console.print(f"       {zh}", soft_wrap=True, markup=False)
    errors = exc.extra.get("errors") or [e for s in (exc.extra.get("kinds") or {}).values()
                                         for e in s.get("errors", [])]
    for e in errors[:50]:
        console.print(f"  row {e['row']}" + (f", {e['column']}" if e.get("column") else "")
                      + f": {e['error']} / {e['error_zh']}", soft_wrap=True, markup=False)


async def _tenant_id(session: Any, code: str) -> int:
    from sqlalchemy import select

    from probity.models import Tenant

    tid = await session.scalar(select(Tenant.id).where(Tenant.code == code))
    if tid is None:
        console.print(f"[red]error:[/red] no tenant with code {code!r}")
        raise typer.Exit(2)
    return int(tid)


async def _with_db(fn: Any) -> int:
    from probity.config import get_settings
    from probity.db import Database
    from probity.ledger import publish

    settings = get_settings()
    publish.configure(settings.checkpoint_dir)
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            return int(await fn(session))
    finally:
        await db.dispose()


@import_app.command("kinds")
def kinds() -> None:
    """List what can be imported: each kind, its natural key and its fields (* required)."""
    from probity.imports.registry import load_kinds

    for k in sorted(load_kinds().values(), key=lambda k: k.order):
        fields = " ".join(f.name + ("*" if f.required else "") for f in k.fields)
        typer.echo(f"{k.name:16} key={','.join(k.key):32} {fields}")


@import_app.command("file")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="CSV, XLSX or JSONL file")],
    kind: Annotated[str, typer.Option(help="What the file holds (see `probity import kinds`)")],
    tenant: Annotated[str, typer.Option(help="Tenant code, e.g. ECOM")],
    mapping: Annotated[str | None, typer.Option(help='JSON {"file column": "field"}')] = None,
    template: Annotated[str | None, typer.Option(help="A saved mapping template's name")] = None,
    ignore: Annotated[str, typer.Option(help="Comma list of columns to ignore")] = "",
    encoding: Annotated[str | None, typer.Option(help="utf-8, gbk, gb18030 (default: detect)")
                        ] = None,
    commit: Annotated[bool, typer.Option("--commit/--dry-run",
                                         help="Write (every row, or none)")] = False,
) -> None:
    """Validate every row of a file (dry run, the default) or import it (--commit)."""
    data = path.read_bytes()

    async def run(session: Any) -> int:
        from sqlalchemy import select

        from probity.errors import DomainError
        from probity.imports.engine import apply_import, digest, plan_import
        from probity.imports.reading import read_table
        from probity.imports.registry import get_kind
        from probity.models import ImportTemplate

        tenant_id = await _tenant_id(session, tenant)
        try:
            get_kind(kind)
        except DomainError as exc:
            _say_error(exc)
            return 2
        cols: dict[str, str] = json.loads(mapping) if mapping else {}
        ignored = [i for i in ignore.split(",") if i.strip()]
        if template:
            row = await session.scalar(select(ImportTemplate).where(
                ImportTemplate.tenant_id == tenant_id, ImportTemplate.kind == kind,
                ImportTemplate.name == template))
            if row is None:
                console.print(f"[red]error:[/red] no {kind} template named {template!r}")
                return 2
            cols, ignored = {**row.mapping, **cols}, [*row.ignore, *ignored]
        with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                      TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                      console=console) as bar:
            check = bar.add_task("validate", total=None)
            write = bar.add_task("write", total=None, visible=False)

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage == "validate":
                    bar.update(check, completed=done, total=total)
                else:
                    bar.update(write, completed=done, total=total, visible=True)

            try:
                table = read_table(data, path.name, encoding)
                ctx = await plan_import(session, kind, tenant_id, table, mapping=cols,
                                        ignore=ignored, progress=progress)
                summary = ctx.plan.summary()
                if ctx.plan.error_count:
                    from probity.errors import InvalidInput

                    raise InvalidInput(f"{ctx.plan.error_count} row(s) have errors; nothing "
                                       "was imported", template="{count} row(s) have errors; "
                                       "nothing was imported.",
                                       params={"count": ctx.plan.error_count}, **summary)
                if commit:
                    run_row = await apply_import(ctx, source="cli", filename=path.name,
                                                 sha256=digest(data),
                                                 mapping={"mapping": cols, "ignore": ignored})
                    await session.commit()
                    summary["import_run_id"] = run_row.id
            except DomainError as exc:
                await session.rollback()
                _say_error(exc)
                return 1
        keys = ("rows", "insert", "update", "unchanged", "new_customers", "conversations",
                "import_run_id")
        console.print(("committed: " if commit else "dry run (nothing written): ") + ", ".join(
            f"{k} {summary[k]}" for k in keys if k in summary) + (
            f" (encoding {table.encoding})" if table.encoding else ""))
        return 0

    raise typer.Exit(asyncio.run(_with_db(run)))


@import_app.command("package")
def import_package(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A zip made by `probity export`")],
    tenant: Annotated[str | None, typer.Option(
        help="Target tenant code (default: the exported tenant's; created when the "
             "database is empty)")] = None,
    commit: Annotated[bool, typer.Option("--commit/--dry-run",
                                         help="Write (everything, or nothing)")] = False,
) -> None:
    """Import a whole tenant export (every kind, in order, in one transaction); the source
    ledger is verified and referenced from the new one."""
    async def run(session: Any) -> int:
        from probity.errors import DomainError
        from probity.imports.package import import_package as go

        try:  # the zip is read member by member from disk, never whole into memory
            result = await go(session, path, actor=None, tenant_code=tenant,
                              dry_run=not commit)
        except DomainError as exc:
            await session.rollback()
            _say_error(exc)
            return 1
        if commit:
            await session.commit()
        else:
            await session.rollback()
        src = result["source_ledger"]
        console.print(f"source ledger {src['source_tenant']}: {src['size']} entries, "
                      + ("verified" if src["verified"] else f"NOT verified: {src['problem']}"))
        for name, s in result["kinds"].items():
            console.print(f"{name}: rows {s['rows']}, insert {s['insert']}, update "
                          f"{s['update']}, unchanged {s['unchanged']}")
        console.print(("committed into " if commit else "dry run (nothing written) into ")
                      + result["tenant_code"])
        return 0

    raise typer.Exit(asyncio.run(_with_db(run)))


def export_tenant(
    tenant: Annotated[str, typer.Option(help="Tenant code")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip to write",
                                         dir_okay=False)],
) -> None:
    """Export every record of a tenant (JSON Lines + CSV in a zip, with its ledger)."""
    async def run(session: Any) -> int:
        from probity.audit.service import record_audit
        from probity.imports.export import write_export

        tenant_id = await _tenant_id(session, tenant)
        with output.open("wb") as out:
            manifest = await write_export(session, tenant_id, out)
        size = output.stat().st_size
        record_audit(session, None, "export.built", target_type="tenant", target_id=tenant_id,
                     tenant_id=tenant_id, actor_name="cli",
                     after={"file": output.name, "size": size, "source": "cli"})
        await session.commit()
        rows = sum(m["rows"] for n, m in manifest["files"].items() if n.endswith(".jsonl"))
        console.print(f"{output}: {size:,} bytes, {rows:,} rows in "
                      f"{len(manifest['files'])} files, ledger {manifest['ledger']['size']} "
                      "entries")
        return 0

    raise typer.Exit(asyncio.run(_with_db(run)))

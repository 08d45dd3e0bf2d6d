"""`probity ledger ...`: verify the tenants' ledgers, sign checkpoints, print proofs.

Exit codes: 0 OK; 1 the ledger does not verify (the first bad entry is named); 2 bad usage
(unknown tenant, sizes out of range).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.config import get_settings
from probity.db import Database

ledger_app = typer.Typer(help="The tamper-evident ledger: verify, checkpoint, prove.",
                         no_args_is_help=True)
err = Console(stderr=True)


async def _tenants(session: AsyncSession, code: str | None) -> list[tuple[int, str]]:
    from probity.models import Tenant

    stmt = select(Tenant.id, Tenant.code).order_by(Tenant.id)
    if code is not None:
        stmt = stmt.where(Tenant.code == code)
    rows = [(int(r[0]), str(r[1])) for r in await session.execute(stmt)]
    if code is not None and not rows:
        raise typer.BadParameter(f"no tenant with code {code!r}", param_hint="--tenant")
    return rows


async def _with_session(fn: Any) -> Any:
    from probity.ledger import publish

    settings = get_settings()
    publish.configure(settings.checkpoint_dir)
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            return await fn(session)
    finally:
        await db.dispose()


@ledger_app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="Tenant code (default: every tenant)")] = None,
    checkpoints: Annotated[Path | None, typer.Option(
        "--checkpoints", help="A directory of published checkpoints (PROBITY_CHECKPOINT_DIR, "
        "or a witness's copy) to check the ledger against as well", file_okay=False,
        exists=True)] = None,
    rows: Annotated[bool, typer.Option(
        "--rows/--no-rows", help="Also cross-check the application rows (messages, alerts, "
        "case events, audit rows, payments) against their entries")] = True,
) -> None:
    """Recompute every hash chain and Merkle root and check them against the signed checkpoints,
    and the application rows against their entries; names the first entry that differs."""
    from probity.ledger.service import verify_tenant

    async def run(session: AsyncSession) -> bool:
        all_ok = True
        for tenant_id, code in await _tenants(session, tenant):
            result = await verify_tenant(session, tenant_id, checkpoints_dir=checkpoints,
                                         rows_too=rows)
            if result.ok:
                typer.echo(f"{code}: OK {result.entries} entries, {result.checkpoints} "
                           f"checkpoint(s)" + (", rows agree" if rows else ""))
            else:
                all_ok = False
                where = (f" {result.kind.value} at seq {result.first_bad_seq}"
                         if result.kind is not None else "")
                typer.echo(f"{code}: FAILED{where}: {result.message}")
                for problem in result.problems:
                    typer.echo(f"{code}:   {problem}")
        return all_ok

    if not asyncio.run(_with_session(run)):
        raise typer.Exit(1)


@ledger_app.command("checkpoint")
def checkpoint(
    tenant: Annotated[str | None, typer.Option(help="Tenant code (default: every tenant)")] = None,
) -> None:
    """Sign a checkpoint for every ledger that grew since its last one (run it from cron)."""
    from probity.ledger.service import default_keyring, make_checkpoint

    async def run(session: AsyncSession) -> None:
        keyring = default_keyring()
        for tenant_id, code in await _tenants(session, tenant):
            row = await make_checkpoint(session, tenant_id, keyring)
            await session.commit()
            if row is not None:
                typer.echo(f"{code}: checkpoint at size {row.tree_size} "
                           f"root {row.root_hash} key {row.key_id}")
            else:
                typer.echo(f"{code}: nothing new to sign")

    asyncio.run(_with_session(run))


@ledger_app.command("prove")
def prove(
    tenant: Annotated[str, typer.Option(help="Tenant code")],
    seq: Annotated[int, typer.Option(help="Entry seq")],
    size: Annotated[int | None, typer.Option(help="Tree size (default: latest checkpoint)")] = None,
) -> None:
    """Print an inclusion proof (JSON) for one entry against a signed checkpoint."""
    from probity.ledger.service import inclusion_proof

    async def run(session: AsyncSession) -> dict[str, Any]:
        (tenant_id, _code), = await _tenants(session, tenant)
        return (await inclusion_proof(session, tenant_id, seq, size)).to_json()

    try:
        typer.echo(json.dumps(asyncio.run(_with_session(run)), indent=2))
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@ledger_app.command("consistency")
def consistency(
    tenant: Annotated[str, typer.Option(help="Tenant code")],
    from_size: Annotated[int, typer.Option("--from", help="Older tree size")],
    to_size: Annotated[int | None, typer.Option("--to", help="Newer tree size")] = None,
) -> None:
    """Print a consistency proof (JSON): the older tree is a prefix of the newer one."""
    from probity.ledger.service import consistency_proof

    async def run(session: AsyncSession) -> dict[str, Any]:
        (tenant_id, _code), = await _tenants(session, tenant)
        return (await consistency_proof(session, tenant_id, from_size, to_size)).to_json()

    try:
        typer.echo(json.dumps(asyncio.run(_with_session(run)), indent=2))
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@ledger_app.command("purge")
def purge(
    tenant: Annotated[str | None, typer.Option(help="Tenant code (default: every tenant)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only, change nothing")] = False,
) -> None:
    """Apply the retention rules: remove personal content past its period (keeping every hash,
    so the ledger still verifies), skipping anything under a legal hold."""
    from probity.auth.deps import after_commit, commit
    from probity.ledger.retention import purge as run_purge

    settings = get_settings()

    async def run(session: AsyncSession) -> None:
        ids = [tenant_id for tenant_id, _code in await _tenants(session, tenant)]
        codes = dict(await _tenants(session, tenant))
        outcomes = await run_purge(session, None, tenant_ids=ids, dry_run=dry_run,
                                   attachments_dir=settings.attachments_dir,
                                   after_commit=after_commit)
        await commit(session)
        if not outcomes:
            typer.echo("no retention rules apply")
        verb = "would purge" if dry_run else "purged"
        for o in outcomes:
            typer.echo(f"{codes.get(o.tenant_id, o.tenant_id)}: {o.record_type} older than "
                       f"{o.days} days (before {o.cutoff}): {verb} {o.purged} of {o.eligible}, "
                       f"{o.held} under legal hold, {o.attachments_removed} attachment file(s)")

    asyncio.run(_with_session(run))


@ledger_app.command("public-key")
def public_key(
    all_keys: Annotated[bool, typer.Option("--all", help="Also the retired keys")] = False,
) -> None:
    """Print the public key that verifies checkpoints and evidence packs (base64, raw Ed25519);
    with --all, every known key as "<key_id> <key>" lines (a file `evidence verify` accepts)."""
    from probity.ledger.service import default_keyring

    keyring = default_keyring()
    keys = keyring.export_public_keys()
    if all_keys:
        for kid, text in keys.items():
            typer.echo(f"{kid} {text}")
        return
    current = keyring.current_key_id
    if current is None:
        err.print("[red]error:[/red] no signing key configured")
        raise typer.Exit(2)
    typer.echo(keys[current])

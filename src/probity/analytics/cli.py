"""`probity analytics …`: fill the staffing cube for any range of history from the rota
(`staffing-refresh`; the 15-minute job covers only the last month) and seal finished months of
the rollup cube (`seal-months`; the nightly job does it too)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console

analytics_app = typer.Typer(help="Risk analytics housekeeping: staffing history, sealed months.",
                            no_args_is_help=True)
console = Console(stderr=True)

MAX_REFRESH_DAYS = 1100  # three years of rota in one command
CHUNK_DAYS = 31  # one transaction per tenant and month of days


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"{name} is not a date (YYYY-MM-DD): {value!r}") from None


def refresh_range(first: str, last: str) -> tuple[date, date]:
    """The inclusive local days to refresh; a clear error for a bad, reversed or too long
    range."""
    lo, hi = _day(first, "--from"), _day(last, "--to")
    if lo > hi:
        raise _fail(f"the date range is reversed: --from {lo} is after --to {hi}")
    if (hi - lo).days + 1 > MAX_REFRESH_DAYS:
        raise _fail(f"the date range is longer than {MAX_REFRESH_DAYS} days "
                    f"({(hi - lo).days + 1}); refresh it in parts")
    return lo, hi


async def _staffing(first: date, last: date, tenant_code: str | None) -> tuple[int, int]:
    from sqlalchemy import select

    from probity.analytics.staffing import refresh
    from probity.config import get_settings
    from probity.db import Database
    from probity.models import ShiftAssignment, Tenant

    db = Database(get_settings().database_url)
    try:
        async with db.sessionmaker() as session:
            if tenant_code is not None:
                tid = await session.scalar(select(Tenant.id).where(Tenant.code == tenant_code))
                if tid is None:
                    raise _fail(f"no tenant with code {tenant_code!r}")
                tenants = [int(tid)]
            else:  # every tenant with a rota
                tenants = [int(t) for t in (await session.scalars(
                    select(ShiftAssignment.tenant_id).distinct()
                    .order_by(ShiftAssignment.tenant_id))).all()]
        cells = 0
        for tid in tenants:
            lo = first
            while lo <= last:
                hi = min(last, lo + timedelta(days=CHUNK_DAYS - 1))
                async with db.sessionmaker() as session:
                    cells += await refresh(session, tid, lo, hi)
                    await session.commit()
                lo = hi + timedelta(days=1)
        return len(tenants), cells
    finally:
        await db.dispose()


@analytics_app.command("staffing-refresh")
def staffing_refresh(
    first: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD (inclusive)")],
    tenant: Annotated[str | None, typer.Option(
        help="Only this tenant (code); default: every tenant with a rota")] = None,
) -> None:
    """Recompute agents on shift (the staffing cube) from the rota for a range of local days —
    history the 15-minute job (last 31 days) does not cover, e.g. after importing a rota.
    Idempotent: a day's rows are replaced."""
    lo, hi = refresh_range(first, last)
    tenants, cells = asyncio.run(_staffing(lo, hi, tenant))
    console.print(f"[green]staffing refreshed[/green] {lo} … {hi}: {tenants} tenant(s), "
                  f"{cells:,} day × hour cell(s) with someone on shift")


async def _seal() -> list[date]:
    from probity.analytics.months import seal_months
    from probity.config import get_settings
    from probity.db import Database

    db = Database(get_settings().database_url)
    try:
        async with db.sessionmaker() as session:
            months = await seal_months(session)
            await session.commit()
        return months
    finally:
        await db.dispose()


@analytics_app.command("seal-months")
def seal_months_command() -> None:
    """Sum the month rows of every finished month of the rollup cube (as the nightly job)."""
    months = asyncio.run(_seal())
    console.print(f"[green]{len(months)} month(s) sealed[/green]"
                  + (f": {', '.join(m.isoformat()[:7] for m in months)}" if months else ""))

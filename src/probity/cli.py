"""The `probity` command line: serve, migrate, demo data, accounts, tokens and health checks."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from probity.alerts.labels_cli import export_labels
from probity.analytics.cli import analytics_app
from probity.config import PROJECT_ROOT, SOCKET_PROTOCOL, ConfigurationError, get_settings
from probity.finance.cli import cases_app, finance_app
from probity.imports.cli import export_tenant, import_app
from probity.jobs.cli import scheduler, worker
from probity.ledger.cli import ledger_app
from probity.ledger.evidence_cli import evidence_app
from probity.screening.cli import screen_app
from probity.webhooks.cli import webhooks_app

app = typer.Typer(help="Probity (廉盾): the integrity platform for customer service.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False)
demo_app = typer.Typer(help="Seed or reset the demo group.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Manage bearer API tokens.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(ledger_app, name="ledger")
app.add_typer(evidence_app, name="evidence")
app.add_typer(finance_app, name="finance")
app.add_typer(cases_app, name="cases")
app.add_typer(import_app, name="import")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(analytics_app, name="analytics")
app.command("export")(export_tenant)
_screen = screen_app()
_screen.command("labels")(export_labels)
app.add_typer(_screen, name="screen")
app.command("worker")(worker)
app.command("scheduler")(scheduler)
openapi_app = typer.Typer(help="The versioned OpenAPI document (docs/openapi/).",
                          no_args_is_help=True)
app.add_typer(openapi_app, name="openapi")
console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@openapi_app.command("dump")
def openapi_dump(
    check: Annotated[bool, typer.Option(help="Only compare with the snapshot; exit 1 on a "
                                        "difference, naming breaking changes")] = False,
) -> None:
    """Write /api/openapi.json to docs/openapi/v<major>.json (after an additive API change)."""
    from probity import openapi

    if check:
        problems = openapi.check()
        for line in problems:
            console.print(line)
        raise typer.Exit(1 if problems else 0)
    before = openapi.latest_snapshot()
    if before is not None:
        path, old = before
        broken = openapi.breaking_changes(old, openapi.current_schema())
        if broken and openapi.major(str(old["info"]["version"])) == openapi.major(
                openapi.API_VERSION):
            for line in broken:
                console.print(f"  [red]breaking:[/red] {line}")
            raise fail(f"breaking changes against {path.name}: bump the major of API_VERSION in "
                       "src/probity/openapi.py first (or undo them), then run this again")
    target = openapi.dump()
    typer.echo(f"wrote {target.relative_to(PROJECT_ROOT)} (API {openapi.API_VERSION})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the web app and API (http://127.0.0.1:8000 by default)."""
    import uvicorn

    settings = get_settings()
    try:
        settings.check_production()
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc
    from probity.ops.logs import configure_logging

    configure_logging()  # JSON lines with request ids in production (PROBITY_LOG_FORMAT)
    console.print(f"Probity on http://{host or settings.host}:{port or settings.port}")
    # Our handler on the root logger formats uvicorn's lines too; access lines come from
    # probity.ops.metrics (with the request id), so uvicorn's own access log is off.
    # The sockets' protocol: uvicorn's, with a short path for chat frames (issue 17).
    # No permessage-deflate on the sockets: chat frames are a few hundred bytes, and zlib's
    # compress + flush per frame was ~0.3 ms of the event loop per message (issue 17).
    options: dict[str, Any] = {
        "app": "probity.app:create_app", "factory": True, "log_level": "info",
        "proxy_headers": True, "log_config": None, "access_log": False,
        "ws_per_message_deflate": False, "ws": SOCKET_PROTOCOL}
    if workers < 1:
        raise fail("--workers must be at least 1")
    if workers == 1:
        uvicorn.run(host=host or settings.host, port=port or settings.port, **options)
        return
    # Several workers: the dispatcher places every socket of a conversation in one worker
    # (probity.dispatch), so its screening context stays in that worker's memory.
    from probity import dispatch

    code = dispatch.serve(dispatch.WorkerSpec(options, probity_logging=True), workers,
                          host or settings.host, port or settings.port)
    if code:
        raise fail("the workers could not be started or stopped cleanly (see the log above)",
                   code)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply database migrations (SQLite or PostgreSQL)."""
    from probity.migrate import current_revision, upgrade

    url = get_settings().database_url
    before = current_revision(url)
    upgrade(url, revision)
    after = current_revision(url)
    if before == after:
        console.print(f"[green]database is up to date[/green] (revision {after})")
    else:
        console.print(f"[green]database migrated[/green] from {before or 'an empty database'} "
                      f"to revision {after}")


@demo_app.command("seed")
def demo_seed(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if data exists")] = False,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
) -> None:
    """Create the demo group: HQ, three subsidiaries, ~200 employees, customers and orders."""
    from probity.demo import seed_demo

    created = asyncio.run(seed_demo(get_settings(), if_empty=if_empty, seed=seed))
    if created:
        console.print("[green]demo group created[/green]; sign in as admin / Demo-Pass-2026!")
    else:
        console.print("database already has data; demo seed skipped")


@demo_app.command("reset")
def demo_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm wiping the database")] = False,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
) -> None:
    """Wipe the database (downgrade + upgrade) and seed the demo group again."""
    if not yes:
        raise fail("this deletes all data; pass --yes to confirm", 2)
    from probity.demo import seed_demo
    from probity.migrate import downgrade, upgrade

    settings = get_settings()
    downgrade(settings.database_url, "base")
    upgrade(settings.database_url)
    asyncio.run(seed_demo(settings, if_empty=False, seed=seed))
    console.print("[green]demo group re-created[/green]")


@user_app.command("create")
def user_create(
    username: str,
    tenant: Annotated[str, typer.Option(help="Home tenant code, e.g. HQ")],
    role: Annotated[list[str], typer.Option(help="role[:tenant_code[:team_code]], repeatable")],
    display_name: Annotated[str | None, typer.Option(help="Shown name")] = None,
    password: Annotated[str | None, typer.Option(
        help="Password (prompted if omitted)", prompt=True, hide_input=True,
        confirmation_prompt=True)] = None,
) -> None:
    """Create an account with one or more scoped roles."""
    from probity.admin import create_user_cli
    from probity.errors import DomainError

    try:
        uid = asyncio.run(create_user_cli(get_settings(), username, display_name or username,
                                          password, tenant, role))
    except DomainError as exc:
        raise fail(exc.message, 2) from exc
    console.print(f"[green]created user {username} (id {uid})[/green]")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expires after this many days")] = None,
) -> None:
    """Create a bearer API token for a user; prints it once on stdout."""
    from probity.admin import create_token_cli
    from probity.errors import DomainError

    try:
        plain = asyncio.run(create_token_cli(get_settings(), username, name, days))
    except DomainError as exc:
        raise fail(exc.message, 2) from exc
    typer.echo(plain)


@app.command()
def check() -> None:
    """Check the configuration, the database and Redis (if configured)."""
    from probity.admin import run_checks

    results = asyncio.run(run_checks(get_settings()))
    ok = True
    for name, passed, detail in results:
        mark = "[green]ok[/green]" if passed else "[red]FAIL[/red]"
        console.print(f"{mark:>22}  {name}: {detail}")
        ok = ok and passed
    if not ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # python -m probity.cli
    app()

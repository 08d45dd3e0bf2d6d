"""`probity worker` and `probity scheduler`: the processes that run jobs when a broker is
configured (PROBITY_BROKER_URL). Without one, `probity serve` runs both itself."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console

from probity.config import get_settings

console = Console(stderr=True)

NO_BROKER = ("no broker is configured (PROBITY_BROKER_URL=redis://…): without one, "
             "`probity serve` runs the jobs and the schedules itself")


def _configure_logging() -> None:
    from probity.ops.logs import configure_logging

    configure_logging()


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process")] = 2,
) -> None:
    """Run background jobs from the broker until SIGTERM/SIGINT (finishes running jobs first)."""
    from probity.jobs.runtime import DramatiqRuntime, set_runtime

    settings = get_settings()
    if not settings.broker_url:
        console.print(f"[red]error:[/red] {NO_BROKER}")
        raise typer.Exit(2)
    _configure_logging()
    runtime = DramatiqRuntime(settings, embedded=False)
    set_runtime(runtime)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    running = runtime.start_worker(threads)
    logging.getLogger("probity.jobs").info("worker started: %d thread(s), queues %s", threads,
                                           sorted(runtime.broker.get_declared_queues()))
    stop.wait()
    running.stop(timeout=30_000)


def scheduler() -> None:
    """Fire the registered schedules (SLA sweep, checkpoints, retention purge, …) as jobs.
    Run one; a second one is harmless (each period makes one job)."""
    from probity.db import Database
    from probity.jobs.runtime import DramatiqRuntime, set_runtime
    from probity.jobs.scheduler import JobScheduler, planned

    settings = get_settings()
    if not settings.broker_url:
        console.print(f"[red]error:[/red] {NO_BROKER}")
        raise typer.Exit(2)
    _configure_logging()

    async def main() -> None:
        db = Database(settings.database_url)
        set_runtime(DramatiqRuntime(settings, embedded=False))
        jobs = JobScheduler(settings, db.write_sessionmaker)  # see DramatiqRuntime
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        jobs.start()
        for entry, period in planned(settings):
            console.print(f"{entry.name}: {f'every {period}s' if period else entry.cron}")
        try:
            await stop.wait()
        finally:
            jobs.shutdown()
            await db.dispose()

    asyncio.run(main())

"""Production shape: the app only enqueues, `probity worker` processes run the jobs from Redis.
A worker killed mid-job (SIGKILL) has its message re-delivered to another worker, and the job's
effect happens exactly once."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest
from tests.jobs.conftest import SECRET, Procs, wait_for
from tests.jobs.helpers import effects, enqueue_now, job_row

from probity.config import Settings

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL")
pytestmark = [pytest.mark.redis,
              pytest.mark.skipif(not REDIS_URL, reason="PROBITY_TEST_REDIS_URL is not set "
                                                       "(a Redis for the job broker)")]


@pytest.fixture
def prefix() -> Iterator[str]:
    """A namespace of our own in the shared Redis, removed afterwards."""
    import redis

    name = f"probity-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL or "")
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)
    client.close()


def test_a_killed_worker_s_job_completes_exactly_once_on_another(procs: Procs, db_url: str,
                                                                 prefix: str) -> None:
    assert REDIS_URL
    broker = {"PROBITY_BROKER_URL": REDIS_URL, "PROBITY_REDIS_CHANNEL_PREFIX": prefix,
              # a silent worker is presumed dead after 2 s; every command looks for such
              "PROBITY_JOBS_HEARTBEAT_TIMEOUT_MS": "2000",
              "PROBITY_JOBS_MAINTENANCE_CHANCE": "1000000"}
    env = procs.env(db_url, **broker)
    first = procs.start(["worker", "--threads", "1"], env, "worker1")
    settings = Settings(database_url=db_url, secret_key=SECRET, broker_url=REDIS_URL,
                        redis_channel_prefix=prefix, task_modules=["tests.jobs.slow_tasks"])
    job_id = enqueue_now(settings, "tests.slow", {"steps": 40, "step_s": 0.2, "marker": "k"})

    wait_for(lambda: job_row(db_url, job_id)["progress_done"] >= 3, what="worker 1 to start it")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    row = job_row(db_url, job_id)
    assert row["state"] == "running" and row["attempts"] == 1 and effects(db_url, job_id) == 0

    procs.start(["worker", "--threads", "2"], env, "worker2")
    done = wait_for(lambda: (r := job_row(db_url, job_id))["state"] == "done" and r,
                    what="the re-delivered job", timeout=120)
    assert done["attempts"] == 2 and done["result"] == {"steps": 40, "attempt": 2}
    assert effects(db_url, job_id) == 1, "exactly once"
    assert str(os.getpid()) not in (done["worker"] or "")

    # A job that fails twice is retried with backoff by the worker and then succeeds.
    flaky = enqueue_now(settings, "tests.flaky", {"fail_times": 2})
    flaky_row = wait_for(lambda: (r := job_row(db_url, flaky))["state"] in ("done", "failed")
                         and r, what="the flaky job", timeout=60)
    assert flaky_row["state"] == "done" and flaky_row["attempts"] == 3
    assert effects(db_url, flaky) == 1


def test_probity_scheduler_fires_the_sla_sweep_for_the_workers(procs: Procs, db_url: str,
                                                               prefix: str) -> None:
    assert REDIS_URL
    schedules = ('{"cases.sla_sweep": 1, "ledger.checkpoints": 0, "jobs.recover": 0, '
                 '"ledger.retention_purge": 0}')
    env = procs.env(db_url, PROBITY_BROKER_URL=REDIS_URL, PROBITY_REDIS_CHANNEL_PREFIX=prefix,
                    PROBITY_SCHEDULES=schedules)
    procs.start(["scheduler"], env, "scheduler")
    procs.start(["scheduler"], env, "scheduler2")  # a second one by mistake changes nothing
    procs.start(["worker"], env, "worker")

    from tests.jobs.helpers import query

    def sweeps() -> list[tuple[str, str]] | None:
        rows = query(db_url, "SELECT idempotency_key, state FROM jobs WHERE task = "
                             "'cases.sla_sweep' ORDER BY id")
        done = [r for r in rows if r[1] == "done"]
        return rows if len(done) >= 3 else None  # type: ignore[return-value]

    rows = wait_for(sweeps, what="three SLA sweeps run by the worker", timeout=60)
    keys = [k for k, _ in rows]
    assert len(keys) == len(set(keys)), "two schedulers, still one job per period"

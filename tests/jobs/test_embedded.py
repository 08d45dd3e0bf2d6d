"""`make run` with no broker: the app process runs the jobs (worker threads) and the schedules
itself; jobs survive the process (killed mid-job, restarted: done once)."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import datetime

from tests.jobs.conftest import PROBITY, REPO, SECRET, Procs, login, wait_for
from tests.jobs.helpers import effects, enqueue_now, job_row, query

from probity.config import Settings
from probity.jobs.registry import SCHEDULES, load_tasks

load_tasks()
# Every schedule off (0) unless a test turns one on: a cron firing mid-test (say the 15-minute
# staffing refresh) would take SQLite's one write lock from the job under test.
QUIET = dict.fromkeys(SCHEDULES, 0)


def test_ledger_verification_runs_in_the_embedded_worker(procs: Procs, db_url: str) -> None:
    env = procs.env(db_url, PROBITY_SCHEDULES=json.dumps({**QUIET, "cases.sla_sweep": 0}))
    base = procs.serve(env)
    comp = login(base, "compliance")
    status = comp.get("/api/v1/ledger/status").json()
    tenant = next(s for s in status if s["size"] > 0)
    r = comp.post("/api/v1/ledger/verify", json={"tenant_id": tenant["tenant_id"]})
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    done = wait_for(lambda: (v := comp.get(f"/api/v1/ledger/verifications/{vid}").json())
                    ["state"] != "running" and v, what="the verification")
    # (the request's own audit row is ledgered too, so the ledger grew by one)
    assert done["state"] == "ok" and done["entries_checked"] >= tenant["size"], done

    job = next(j for j in comp.get("/api/v1/jobs").json() if j["task"] == "ledger.verify")
    assert job["state"] == "done" and job["result"]["ok"] is True
    assert job["done"] == job["total"] == done["entries_checked"]
    page = comp.get(f"/jobs/{job['id']}", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-state="done"' in page.text
    # Someone else's job, in no scope of theirs, is 404 like a missing one.
    for other in ("agent", "finance"):
        client = login(base, other)
        assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404
        assert client.get("/api/v1/jobs/999999").status_code == 404


def test_the_embedded_scheduler_runs_the_sla_sweep_on_time(procs: Procs, db_url: str) -> None:
    # SQLite has one writer: this test only reads while the 1-second sweeps write.
    procs.serve(procs.env(db_url, PROBITY_SCHEDULES=json.dumps({**QUIET, "cases.sla_sweep": 1})))

    # The scheduler fired the SLA sweep once per 1-second period, on time, and it ran.
    def three_sweeps() -> list[tuple[str, str, str, str]] | None:
        rows = query(db_url, "SELECT idempotency_key, created_at, state, result FROM jobs "
                             "WHERE task = 'cases.sla_sweep' AND state = 'done' ORDER BY id")
        return rows if len(rows) >= 3 else None  # type: ignore[return-value]

    sweeps = wait_for(three_sweeps, what="three SLA sweeps", timeout=60)
    slots = [datetime.fromisoformat(key.split("@", 1)[1]) for key, *_ in sweeps]
    assert slots == sorted(set(slots)), "one job per period"
    for (_key, created, _state, result), slot in zip(sweeps, slots, strict=True):
        fired = datetime.fromisoformat(created).replace(tzinfo=slot.tzinfo)
        assert 0 <= (fired - slot).total_seconds() < 5, (slot, fired)  # in its own period
        assert set(json.loads(result)) == {"cases", "sla_events"}


def test_jobs_survive_a_killed_app_and_retry_with_backoff(procs: Procs, db_url: str,
                                                          tmp_path: object) -> None:
    settings = Settings(database_url=db_url, secret_key=SECRET)
    slow = enqueue_now(settings, "tests.slow", {"steps": 30, "step_s": 0.2, "marker": "x"})
    flaky = enqueue_now(settings, "tests.flaky", {"fail_times": 2})
    env = procs.env(db_url, PROBITY_SCHEDULES=json.dumps({**QUIET, "cases.sla_sweep": 0}))
    app = procs.start(["serve", "--port", "0"], env, "app1")
    # The app found the queued jobs at start; kill it (SIGKILL) while the slow one runs.
    wait_for(lambda: job_row(db_url, slow)["progress_done"] >= 2, what="the job to progress")
    app.send_signal(signal.SIGKILL)
    app.wait(timeout=10)
    row = job_row(db_url, slow)
    assert row["state"] == "running" and row["attempts"] == 1 and effects(db_url, slow) == 0

    procs.serve(env, name="app2")  # the restart sends the unfinished job again
    done = wait_for(lambda: (r := job_row(db_url, slow))["state"] == "done" and r,
                    what="the resumed job", timeout=90)
    assert done["attempts"] == 2 and done["result"] == {"steps": 30, "attempt": 2}
    assert done["progress_done"] == done["progress_total"] == 30
    assert effects(db_url, slow) == 1, "the effect happened exactly once"
    assert done["payload"] is None

    flaky_row = wait_for(lambda: (r := job_row(db_url, flaky))["state"] in ("done", "failed")
                         and r, what="the flaky job", timeout=60)
    assert flaky_row["state"] == "done" and flaky_row["attempts"] == 3, flaky_row
    assert effects(db_url, flaky) == 1
    assert "fails on purpose" in (flaky_row["last_error"] or "")


def test_worker_and_scheduler_refuse_to_start_without_a_broker(tmp_path: object) -> None:
    env = Procs.env(Procs(tmp_path), "sqlite+aiosqlite:////nonexistent/x.db")  # type: ignore[arg-type]
    for command in ("worker", "scheduler"):
        out = subprocess.run([PROBITY, command], env=env, cwd=REPO, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 2 and "PROBITY_BROKER_URL" in out.stderr, out.stderr

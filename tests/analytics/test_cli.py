"""`probity analytics staffing-refresh` fills the staffing cube for history beyond the job's 31
days, and refuses bad ranges with a clear message and a non-zero exit; `seal-months` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text

from probity.models import Employee, OrgUnit, ShiftAssignment, ShiftTemplate, StaffingCube, Tenant

CLI = [sys.executable, "-m", "probity.cli"]
DAY = date(2024, 3, 4)  # far beyond the job's window


def run(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def rota_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with one subsidiary (UTC display zone), a team, and two agents on
    the rota on DAY (08:00–16:00 and 12:00–20:00 UTC)."""
    db = tmp_path_factory.mktemp("analytics-cli") / "cli.db"
    assert run(["migrate"], db).returncode == 0
    eng = create_engine(f"sqlite:///{db}")
    now = datetime.now(UTC)
    with eng.begin() as c:
        tid = c.execute(insert(Tenant).values(code="ROTA", name="排班子公司", kind="subsidiary",
                                              path="", timezone="UTC", created_at=now)
                        .returning(Tenant.id)).scalar_one()
        c.execute(text("UPDATE tenants SET path = :p WHERE id = :i"), {"p": f"/{tid}/", "i": tid})
        team = c.execute(insert(OrgUnit).values(tenant_id=tid, code="ROTA-T", name="排班组",
                                                kind="team", created_at=now)
                         .returning(OrgUnit.id)).scalar_one()
        tpl = c.execute(insert(ShiftTemplate).values(
            tenant_id=tid, code="E", name="早班", start_time=time(8), end_time=time(16),
            break_minutes=0, created_at=now).returning(ShiftTemplate.id)).scalar_one()
        for i, start in enumerate((8, 12)):
            emp = c.execute(insert(Employee).values(
                tenant_id=tid, org_unit_id=team, employee_no=f"R{i}", name=f"坐席{i}",
                hire_date=DAY - timedelta(days=100), created_at=now)
                .returning(Employee.id)).scalar_one()
            at = datetime.combine(DAY, time(start), UTC)
            c.execute(insert(ShiftAssignment).values(
                tenant_id=tid, org_unit_id=team, employee_id=emp, template_id=tpl, day=DAY,
                starts_at=at, ends_at=at + timedelta(hours=8), created_at=now))
    eng.dispose()
    return db


def test_staffing_refresh_fills_history(rota_db: Path) -> None:
    r = run(["analytics", "staffing-refresh", "--from", (DAY - timedelta(days=40)).isoformat(),
             "--to", (DAY + timedelta(days=5)).isoformat(), "--tenant", "ROTA"], rota_db)
    assert r.returncode == 0, r.stderr
    assert "staffing refreshed" in r.stderr
    eng = create_engine(f"sqlite:///{rota_db}")
    with eng.connect() as c:
        hours = dict(c.execute(select(StaffingCube.local_hour, StaffingCube.agent_hours).where(
            StaffingCube.grain == "D", StaffingCube.period == DAY)).all())
        day = c.execute(select(StaffingCube.agent_hours).where(
            StaffingCube.grain == "b", StaffingCube.period == DAY)).scalar_one()
    eng.dispose()
    # 08–12 one agent, 12–16 two, 16–20 one: 16 agent-hours.
    assert hours == {**dict.fromkeys(range(8, 12), 1), **dict.fromkeys(range(12, 16), 2),
                     **dict.fromkeys(range(16, 20), 1)}
    assert day == 16
    again = run(["analytics", "staffing-refresh", "--from", DAY.isoformat(), "--to",
                 DAY.isoformat()], rota_db)  # every tenant with a rota; idempotent
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("args, message", [
    (["--from", "2024-13-01", "--to", "2024-03-04"], "--from is not a date"),
    (["--from", "2024-03-01", "--to", "soon"], "--to is not a date"),
    (["--from", "2024-03-05", "--to", "2024-03-04"], "the date range is reversed"),
    (["--from", "2019-01-01", "--to", "2024-03-04"], "longer than 1100 days"),
    (["--from", "2024-03-01", "--to", "2024-03-04", "--tenant", "NOPE"], "no tenant with code"),
])
def test_bad_ranges_are_clear_errors(rota_db: Path, args: list[str], message: str) -> None:
    r = run(["analytics", "staffing-refresh", *args], rota_db)
    assert r.returncode != 0
    assert message in " ".join(r.stderr.split())


def test_seal_months_runs(rota_db: Path) -> None:
    r = run(["analytics", "seal-months"], rota_db)
    assert r.returncode == 0, r.stderr
    assert "month(s) sealed" in r.stderr

"""Risk-analytics benchmark (issue 11): dashboards at 10 million messages / 100,000 alerts
(target p95 ≤ 300 ms) and the rollup hook's cost on the chat send path (target ≤ 5% CPU).

Run: ``.venv/bin/python benchmarks/analytics.py [--messages N --alerts N --days N]
[--runs N] [--batches N] [--database-url URL] [--section dashboards|send|all] [--note TEXT]``.
Writes the ``analytics_<dialect>`` section of docs/BENCHMARKS.md.

1. **Dashboards.** On a fresh, migrated database (SQLite temp file by default; a PostgreSQL URL
   has its public schema dropped and re-created first — never point it at a database you need)
   it builds an HQ with 3 subsidiaries and 12 teams, then writes the rollup rows that N messages
   spread over `--days` days would leave (every hour × team × 4 tenure bands × 3 shifts, counts
   drawn around N / rows; attempts ~3%, three times that on weekend evenings) — directly, not
   through the send path, which would take hours at this scale — plus `--alerts` alert rows and
   a fifth as many cases, and the cube rows those hourly rows feed (as the hook would). Each
   dashboard query (heat-map, tenure, league, trends, findings,
   outcome, drill-down, CSV export) is timed `--runs` times for the last 90 and 365 days as an
   HQ admin; baseline in the same run: the raw weekday × hour aggregate over the alerts table
   (the smallest raw table a dashboard without rollups would have to scan), and the heat-map
   read from the per-team grains (as before the tenant-level grains of migration 0027).
   On PostgreSQL the tables are ANALYZEd after the bulk load (as autovacuum would do).
2. **Send path.** 200 active conversations; for each batch size of `--sizes` (default 1, 2, 5,
   10 and 64 messages; 5% blocked), batches screened with `prepare_send` (+ `policy_for_sender`)
   and stored with `store_messages` + commit, alternating batch by batch with the hook on and
   off (`record_batch` replaced by a no-op) after three warm-up batches of each; CPU time of the
   process (`time.process_time`, every thread) per batch, on vs off — the hook's fixed
   per-batch cost shows at the small sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _report import write_section
from sqlalchemy import create_engine, insert, text

from probity.auth.permissions import Grant, Principal
from probity.db import Database, sync_url
from probity.migrate import upgrade
from probity.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    OrgUnit,
    Role,
    ShiftTemplate,
    Tenant,
)

ZONE = ZoneInfo("Asia/Shanghai")
BANDS = ("lt3m", "3to12m", "1to3y", "gt3y")
AGENTS_PER_TEAM = 20


def fresh_database(url: str | None) -> str:
    if url is None:
        path = Path(tempfile.mkdtemp()) / "analytics-bench.db"
        url = f"sqlite+aiosqlite:///{path}"
    elif url.startswith("postgresql"):
        eng = create_engine(sync_url(url))
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    upgrade(url)
    return url


def build_org(url: str) -> dict[str, Any]:
    eng = create_engine(sync_url(url))
    with eng.begin() as c:
        hq = c.execute(insert(Tenant).values(code="BHQ", name="基准总部", kind="hq", path="",
                                             created_at=datetime.now(UTC))
                       .returning(Tenant.id)).scalar_one()
        c.execute(text("UPDATE tenants SET path = :p WHERE id = :i"), {"p": f"/{hq}/", "i": hq})
        subs, teams = [], []
        for s in range(3):
            sid = c.execute(insert(Tenant).values(
                code=f"BS{s}", name=f"子公司{s}", kind="subsidiary", parent_id=hq,
                path="", created_at=datetime.now(UTC)).returning(Tenant.id)).scalar_one()
            c.execute(text("UPDATE tenants SET path = :p WHERE id = :i"),
                      {"p": f"/{hq}/{sid}/", "i": sid})
            subs.append(sid)
            for t in range(4):
                tid = c.execute(insert(OrgUnit).values(
                    tenant_id=sid, code=f"T{s}{t}", name=f"团队{s}-{t}", kind="team",
                    created_at=datetime.now(UTC)).returning(OrgUnit.id)).scalar_one()
                teams.append((sid, tid))
        employees: dict[int, list[int]] = {}
        for n, (sid, tid) in enumerate(teams):
            for i in range(AGENTS_PER_TEAM):
                employees.setdefault(tid, []).append(c.execute(insert(Employee).values(
                    tenant_id=sid, org_unit_id=tid, employee_no=f"E{n:02d}{i:03d}",
                    name=f"坐席{n}-{i}", hire_date=date.today() - timedelta(days=45 * i + n),
                    created_at=datetime.now(UTC)).returning(Employee.id)).scalar_one())
    eng.dispose()
    return {"hq": hq, "subs": subs, "teams": teams, "employees": employees}


def _raw_insert(url: str, table: str, columns: tuple[str, ...],
                rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert with the driver's own `executemany` (no SQLAlchemy per-row work): on SQLite
    datetimes and dates as SQLAlchemy stores them ('YYYY-MM-DD HH:MM:SS.ffffff', naive UTC;
    'YYYY-MM-DD'), on PostgreSQL psycopg's COPY."""
    if not rows:
        return
    if url.startswith("sqlite"):
        import sqlite3

        path = url.split("///", 1)[1]
        con = sqlite3.connect(path)
        fixed = [tuple(v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                       if isinstance(v, datetime) else v.isoformat()
                       if isinstance(v, date) else v for v in r) for r in rows]
        with con:
            con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                            f"({', '.join('?' * len(columns))})", fixed)
        con.close()
        return
    import psycopg

    dsn = sync_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as con, con.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def fill_rollups(url: str, org: dict[str, Any], messages: int, days: int, seed: int = 1) -> int:
    """The hourly rows N messages would leave, and the cube rows they feed (summed per team
    and hour first: the day × hour and month grains do not depend on band or shift) — the
    month grains and `analytics_rollup_months` rows of the months the nightly job would have
    sealed (`analytics.months`)."""
    from probity.analytics.months import sealable_before
    from probity.analytics.rollup import ALL_TEAMS, COUNTERS, CUBE_KEY

    rng = random.Random(seed)
    gauss, rand = rng.gauss, rng.random
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    sealable = sealable_before(end.date())
    hours = days * 24
    shifts = (0, 1, 2)
    per_row = messages / (hours * len(org["teams"]) * len(BANDS) * len(shifts))
    sd = per_row ** 0.5
    ncnt = len(COUNTERS)
    hourly: list[tuple[Any, ...]] = []
    cube: dict[tuple[Any, ...], list[int]] = {}
    total = 0

    def add(key: tuple[Any, ...], vals: list[int]) -> None:
        acc = cube.get(key)
        if acc is None:
            cube[key] = list(vals)
        else:
            for i in range(ncnt):
                acc[i] += vals[i]

    cols = ("tenant_id", "team_id", "tenure_band", "shift_id", "hour", "local_dow",
            "local_hour", *COUNTERS)
    for h in range(hours):
        at = end - timedelta(hours=hours - h)
        local = at.astimezone(ZONE)
        dow, lh, day = local.weekday(), local.hour, local.date()
        month = day.replace(day=1)
        rate = 0.09 if dow >= 5 and 18 <= lh < 21 else 0.03
        for sid, tid in org["teams"]:
            team_sum = [0] * ncnt
            for band in BANDS:
                band_sum = [0] * ncnt
                for shift in shifts:
                    m = max(0, int(gauss(per_row, sd) + 0.5))
                    total += m
                    att = int(m * rate + rand())
                    vals = [m, m // 2, m // 6, att, att // 3, att, att // 2]
                    hourly.append((sid, tid, band, shift, at, dow, lh, *vals))
                    for i in range(ncnt):
                        band_sum[i] += vals[i]
                add(("b", day, sid, tid, band, -1, -1), band_sum)
                for i in range(ncnt):
                    team_sum[i] += band_sum[i]
            add(("d", day, sid, tid, "*", dow, lh), team_sum)
            add(("D", day, sid, ALL_TEAMS, "*", dow, lh), team_sum)
            if month < sealable:  # the month rows of sealed months only, as the product
                add(("m", month, sid, tid, "*", dow, lh), team_sum)
                add(("M", month, sid, ALL_TEAMS, "*", dow, lh), team_sum)
        if len(hourly) >= 200_000:
            _raw_insert(url, "analytics_rollup_hourly", cols, hourly)
            print(f"  … {h * 100 // hours}% of the hours", flush=True)
            hourly = []
    _raw_insert(url, "analytics_rollup_hourly", cols, hourly)
    written = hours * len(org["teams"]) * len(BANDS) * len(shifts)
    _raw_insert(url, "analytics_rollup_cube", (*CUBE_KEY, *COUNTERS),
                [(*k, *v) for k, v in cube.items()])
    _raw_insert(url, "analytics_rollup_months", ("month", "sealed_at"),
                [(m, datetime.now(UTC)) for m in sorted({k[1] for k in cube if k[0] == "M"})])
    print(f"  rollup rows: {written:,} hourly, {len(cube):,} cube, for {total:,} messages",
          flush=True)
    return total


def fill_alerts(url: str, org: dict[str, Any], alerts: int, days: int, seed: int = 2) -> None:
    """`alerts` alert rows over `days` (2% finance, 3% customer reports, the rest screening),
    a fifth as many cases (each linked to one alert; 80% decided), raw `executemany`."""
    import json

    rng = random.Random(seed)
    now = datetime.now(UTC)
    emps = org.get("employees") or {}
    cols = ("id", "tenant_id", "org_unit_id", "agent_employee_id", "sender_role", "decision",
            "category", "categories", "severity", "snippet", "spans", "created_at", "source",
            "subject")
    cats, spans = json.dumps(["contact"]), json.dumps([])
    rows: list[tuple[Any, ...]] = []
    meta: list[tuple[int, int, int | None, datetime, str]] = []
    for i in range(1, alerts + 1):
        sid, tid = rng.choice(org["teams"])
        agent = rng.choice(emps[tid]) if emps.get(tid) else None
        at = now - timedelta(seconds=rng.randrange(days * 86400))
        source = "finance" if i % 50 == 0 else "customer_report" if i % 33 == 0 else "screening"
        rows.append((i, sid, tid, agent, "agent", "block", "contact", cats, 3, "***", spans, at,
                     source, "agent"))
        meta.append((sid, tid, agent, at, source))
    _raw_insert(url, "alerts", cols, rows)
    case_cols = ("id", "tenant_id", "org_unit_id", "agent_employee_id", "title", "status",
                 "severity", "subject", "last_alert_at", "triage_due_at", "decision_due_at",
                 "created_at", "decision", "decided_at", "appeal_count")
    cases, links = [], []
    picked = rng.sample(range(1, alerts + 1), alerts // 5)
    for n, aid in enumerate(picked, start=1):
        sid, tid, agent, at, _source = meta[aid - 1]
        decided = rng.random() < 0.8
        cases.append((n, sid, tid, agent, "基准案件", "closed" if decided else "new", 3, "agent",
                       at, at + timedelta(hours=2), at + timedelta(days=3), at,
                       rng.choice(["substantiated", "unsubstantiated"]) if decided else None,
                       at + timedelta(hours=rng.randrange(1, 72)) if decided else None, 0))
        links.append((n, n, aid, at))
    _raw_insert(url, "cases", case_cols, cases)
    _raw_insert(url, "case_alerts", ("id", "case_id", "alert_id", "created_at"), links)


def fill_rota(url: str, org: dict[str, Any], days: int) -> int:
    """A rota for every benchmark agent over `days` (6 days a week, 8-hour shifts at 08:00,
    12:00 or 16:00 local, by agent), raw `executemany`/COPY; then the staffing cube from it
    through `analytics.staffing.refresh` (the product's own code) per subsidiary."""
    from datetime import time as dtime

    from probity.analytics.staffing import refresh

    eng = create_engine(sync_url(url))
    templates: dict[tuple[int, int], int] = {}
    with eng.begin() as c:
        for sid in org["subs"]:
            for k, hour in enumerate((8, 12, 16)):
                templates[(sid, k)] = c.execute(insert(ShiftTemplate).values(
                    tenant_id=sid, code=f"S{k}", name=f"班次{k}", start_time=dtime(hour),
                    end_time=dtime((hour + 8) % 24), break_minutes=0,
                    created_at=datetime.now(UTC)).returning(ShiftTemplate.id)).scalar_one()
    eng.dispose()
    today = datetime.now(ZONE).date()
    rows: list[tuple[Any, ...]] = []
    n = 0
    cols = ("tenant_id", "org_unit_id", "employee_id", "template_id", "day", "starts_at",
            "ends_at", "created_at")
    now = datetime.now(UTC)
    for sid, tid in org["teams"]:
        for i, emp in enumerate(org["employees"].get(tid, [])):
            k = i % 3
            for d in range(days + 1):
                day = today - timedelta(days=days - d)
                if (day.toordinal() + i) % 7 == 0:
                    continue  # a day off a week
                start = datetime.combine(day, dtime(8 + 4 * k), ZONE)
                rows.append((sid, tid, emp, templates[(sid, k)], day, start,
                             start + timedelta(hours=8), now))
        if len(rows) >= 100_000:
            _raw_insert(url, "shift_assignments", cols, rows)
            n += len(rows)
            rows = []
    _raw_insert(url, "shift_assignments", cols, rows)
    n += len(rows)

    async def staff() -> None:
        db = Database(url)
        async with db.sessionmaker() as s:
            for sid in org["subs"]:
                await refresh(s, sid, today - timedelta(days=days), today + timedelta(days=1))
            await s.commit()
        await db.dispose()

    t = time.perf_counter()
    asyncio.run(staff())
    print(f"  rota: {n:,} shift assignments; staffing cube refreshed in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    return n


def existing_org(url: str) -> dict[str, Any]:
    eng = create_engine(sync_url(url))
    with eng.begin() as c:
        hq = c.execute(text("SELECT id FROM tenants WHERE code = 'BHQ'")).scalar_one()
        teams = [(int(t), int(u)) for t, u in c.execute(text(
            "SELECT tenant_id, id FROM org_units WHERE code LIKE 'T%' ORDER BY id")).all()]
        subs = sorted({t for t, _u in teams})
        employees: dict[int, list[int]] = {}
        for eid, unit in c.execute(text(
                "SELECT id, org_unit_id FROM employees WHERE employee_no LIKE 'E%' ORDER BY id")):
            employees.setdefault(int(unit), []).append(int(eid))
    eng.dispose()
    return {"hq": hq, "subs": subs, "teams": teams, "employees": employees}


def existing_total(url: str) -> int:
    eng = create_engine(sync_url(url))
    with eng.begin() as c:
        total = int(c.execute(text("SELECT sum(messages) FROM analytics_rollup_hourly"))
                    .scalar_one() or 0)
    eng.dispose()
    return total


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def bench_dashboards(url: str, org: dict[str, Any], runs: int) -> list[tuple[str, ...]]:
    from probity.analytics import export, findings, outcome, queries
    from probity.i18n import translator

    db = Database(url)
    principal = Principal(user_id=0, username="bench", display_name="bench",
                          tenant_id=org["hq"], employee_id=None, customer_id=None,
                          grants=[Grant(Role.hq_admin, org["hq"], f"/{org['hq']}/")])
    _ = translator("zh_CN")
    results: list[tuple[str, ...]] = []

    async def timed(name: str, days: int, fn: Callable[[Any, Any], Awaitable[Any]]) -> None:
        samples = []
        for i in range(runs + 1):
            async with db.sessionmaker() as s:
                t = time.perf_counter()
                f = await queries.filters(s, principal, start=(
                    date.today() - timedelta(days=days - 1)).isoformat(), end=None)
                await fn(s, f)
                if i:  # the first run warms caches
                    samples.append((time.perf_counter() - t) * 1000)
        results.append((name, f"{days} d", f"{statistics.median(samples):.0f}",
                        f"{pct(samples, 0.95):.0f}", f"{max(samples):.0f}"))
        print(f"  {name:<22} {days:>3} d  p50 {statistics.median(samples):7.1f} ms  "
              f"p95 {pct(samples, 0.95):7.1f} ms", flush=True)

    async def baseline(s: Any, f: Any) -> Any:
        expr = ("strftime('%w', created_at), strftime('%H', created_at)"
                if db.engine.dialect.name == "sqlite"
                else "extract(dow from created_at), extract(hour from created_at)")
        return (await s.execute(text(
            f"SELECT {expr}, count(*) FROM alerts WHERE created_at >= :a GROUP BY 1, 2"),
            {"a": f.utc_from})).all()

    async def per_team_heatmap(s: Any, f: Any) -> Any:
        """The heat-map as it read the cube before the tenant-level grains (migration 0027):
        the per-team month and day rows (what a team filter or a team-scoped reader reads)."""
        grains = queries.heat_grains
        queries.heat_grains = lambda _p, _f: ("m", "d")  # type: ignore[assignment]
        try:
            return await queries.heatmap(s, principal, f)
        finally:
            queries.heat_grains = grains  # type: ignore[assignment]

    async def csv(s: Any, f: Any) -> Any:
        return export.csv_bytes(*export.table("heatmap", await queries.heatmap(s, principal, f)))

    for days in (90, 365):
        await timed("baseline: raw alerts", days, baseline)
        await timed("heat-map", days, lambda s, f: queries.heatmap(s, principal, f))
        await timed("heat-map, per-team grains", days, per_team_heatmap)
        await timed("tenure bands", days, lambda s, f: queries.by_tenure(s, principal, f))
        await timed("league table", days, lambda s, f: queries.league(s, principal, f))
        await timed("trends", days, lambda s, f: queries.trends(s, principal, f))
        await timed("findings", days,
                    lambda s, f: findings.detect(s, principal, f, translator("zh_CN")))
        await timed("outcome", days, lambda s, f: outcome.outcome(s, principal, f))
        await timed("drill-down (Sat 19h)", days,
                    lambda s, f: queries.drill(s, principal, f, dow=5, hour=19))
        await timed("CSV export (heat-map)", days, csv)
    await db.dispose()
    return results


async def bench_send(url: str, org: dict[str, Any], batches: int,
                     sizes: tuple[int, ...] = (64,)) -> list[dict[str, float]]:
    """Per batch size: the chat writer's batch (screen + store + commit) with the rollup hook
    and without it (`record_batch` a no-op, no `policy_for_sender`), alternating batch by
    batch in the same run; process CPU (every thread) per batch and per message."""
    from probity.auth.effects import commit
    from probity.chat import store
    from probity.chat.conversations import Participant
    from probity.chat.send import prepare_send
    from probity.monitoring.enforce import policy_for_sender
    from probity.screening import default_policy

    db = Database(url)
    sid, tid = org["teams"][0]
    async with db.sessionmaker() as s:
        emps = []
        for i in range(20):
            e = Employee(tenant_id=sid, org_unit_id=tid, employee_no=f"B{os.getpid()}-{i:04d}",
                         name=f"坐席{i}",
                         hire_date=date.today() - timedelta(days=30 * i))
            s.add(e)
            emps.append(e)
        cust = Customer(tenant_id=sid, customer_no=f"BC{os.getpid()}-{time.time_ns() % 10**6}",
                        name="客户")
        s.add(cust)
        await s.flush()
        convs = []
        for i in range(200):
            c = Conversation(tenant_id=sid, org_unit_id=tid, customer_id=cust.id,
                             agent_employee_id=emps[i % 20].id,
                             status=ConversationStatus.active)
            s.add(c)
            convs.append((c, emps[i % 20]))
        await s.commit()
        conv_ids = [(c.id, e.id) for c, e in convs]
    policy = await asyncio.to_thread(default_policy)
    # As the chat writer does (probity.chat.writer): the synchronous driver behind the asyncio
    # API (no driver-thread hand-off per statement), with the writer's priority on SQLite.
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from probity.db import PRIORITY_OPTION, make_direct_engine

    direct = make_direct_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    writer_engine = (direct.execution_options(**{PRIORITY_OPTION: True})
                     if url.startswith("sqlite") else direct)
    writer_sessions = async_sessionmaker(writer_engine, expire_on_commit=False)

    async def noop(_session: Any, _rows: Any, _conn: Any = None) -> None:
        return None

    real = store.record_batch
    rng = random.Random(3)

    async def publish(_c: str, _e: dict[str, Any]) -> None:
        return None

    Spec = list[tuple[int, int, bool, str]]

    def draw(size: int) -> Spec:
        """One batch's messages: (conversation, agent, sent by the agent, text); 5% blocked."""
        out: Spec = []
        for _ in range(size):
            conv_id, emp_id = rng.choice(conv_ids)
            text_ = "加我vx abc12345，私下聊" if rng.random() < 0.05 else "请问什么时候发货？"
            out.append((conv_id, emp_id, rng.random() < 0.5, text_))
        return out

    async def one_batch(mode: str, spec: Spec) -> float:
        store.record_batch = real if mode == "on" else noop  # type: ignore[assignment]
        t = time.process_time()
        async with writer_sessions() as s:
            sends = []
            for conv_id, emp_id, agent, text_ in spec:
                who = Participant("agent" if agent else "customer",
                                  None, emp_id if agent else None, None)
                p = policy
                if mode == "on":
                    p = await policy_for_sender(policy, sid, who.role, who.employee_id,
                                                session=s)
                sends.append(await prepare_send(conv_id, who, publish, text=text_, policy=p))
            await store.store_messages(s, sends)
            await commit(s)
        return time.process_time() - t

    out: list[dict[str, float]] = []
    try:
        for size in sizes:
            # The same number of messages per size (at least `batches` pairs), after a few
            # warm-up pairs. Each pair sends the same drawn batch (senders, texts, blocks)
            # once with the hook and once without, in alternating order: the blocked
            # messages' alerts and cases, which cost far more than the hook, are the same on
            # both sides, and the hook's cost is the mean paired difference.
            n = max(batches, (batches * 64) // size)
            for _ in range(3):
                spec = draw(size)
                await one_batch("on", spec)
                await one_batch("off", spec)
            cpu: dict[str, list[float]] = {"on": [], "off": []}
            diffs: list[float] = []
            for b in range(n):
                spec = draw(size)
                first, second = ("on", "off") if b % 2 == 0 else ("off", "on")
                got = {first: await one_batch(first, spec)}
                got[second] = await one_batch(second, spec)
                cpu["on"].append(got["on"])
                cpu["off"].append(got["off"])
                diffs.append(got["on"] - got["off"])
            on_mean = statistics.fmean(cpu["on"]) * 1000
            off_mean = statistics.fmean(cpu["off"]) * 1000
            on_med = statistics.median(cpu["on"]) * 1000
            off_med = statistics.median(cpu["off"]) * 1000
            hook = statistics.fmean(diffs) * 1000
            half = 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5 * 1000
            row = {"size": size, "batches": n, "on_ms": on_mean, "off_ms": off_mean,
                   "on_median_ms": on_med, "off_median_ms": off_med,
                   "hook_ms": hook, "hook_low": hook - half, "hook_high": hook + half,
                   "overhead": hook / off_mean * 100,
                   "overhead_low": (hook - half) / off_mean * 100,
                   "overhead_high": (hook + half) / off_mean * 100,
                   "messages": n * size * 2}
            out.append(row)
            print(f"  send path, batches of {size:>2}: CPU per batch hook on "
                  f"{on_mean:.3f} ms, off {off_mean:.3f} ms (medians {on_med:.3f} / "
                  f"{off_med:.3f}); hook {hook:+.3f} ms (95% CI {hook - half:+.3f} to "
                  f"{hook + half:+.3f}), overhead {row['overhead']:+.1f}% "
                  f"({row['overhead_low']:+.1f} to {row['overhead_high']:+.1f}%)", flush=True)
    finally:
        store.record_batch = real  # type: ignore[assignment]
        await direct.dispose()
        await db.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--batches", type=int, default=60,
                    help="batches per mode for 64-message batches (smaller batches get more, "
                    "so that each size sends about as many messages)")
    ap.add_argument("--sizes", default="1,2,5,10,64",
                    help="batch sizes of the send-path section, comma-separated")
    ap.add_argument("--database-url")
    ap.add_argument("--section", choices=("dashboards", "send", "all"), default="all")
    ap.add_argument("--note", default="")
    ap.add_argument("--report-key", help="the docs/BENCHMARKS.md section to write (default "
                    "analytics_<dialect>, or analytics_send_<dialect> for --section send)")
    ap.add_argument("--reuse", help="a database URL this script built before: migrate it to "
                    "the head and time the dashboards again, without rebuilding the data")
    ap.add_argument("--add-rota", action="store_true",
                    help="with --reuse: add the rota and staffing cube (built before they existed)")
    ap.add_argument("--build-only", action="store_true",
                    help="build the data (print its URL for --reuse) and stop")
    args = ap.parse_args()
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.reuse:
        url = args.reuse
        upgrade(url)
        org = existing_org(url)
    else:
        url = fresh_database(args.database_url)
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"{dialect}: {url} (load {load_before})", flush=True)
    if not args.reuse:
        org = build_org(url)
    key = args.report_key or (f"analytics_send_{dialect}" if args.section == "send"
                              else f"analytics_{dialect}")
    title = ("rollup hook on the send path" if args.section == "send"
             else "dashboards" if args.section == "dashboards" else "dashboards and send path")
    lines = [f"## Risk analytics, {title} — {dialect} (`benchmarks/analytics.py`)", ""]
    if args.note:
        lines += [args.note, ""]
    if args.section in ("dashboards", "all"):
        t = time.perf_counter()
        if args.reuse:
            total = existing_total(url)
            if args.add_rota:
                fill_rota(url, org, args.days)
        else:
            total = fill_rollups(url, org, args.messages, args.days)
            fill_alerts(url, org, args.alerts, args.days)
            fill_rota(url, org, args.days)
        if dialect == "postgresql":
            eng = create_engine(sync_url(url))
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
            eng.dispose()
        print(f"  data written in {time.perf_counter() - t:.0f} s", flush=True)
        if args.build_only:
            return
        results = asyncio.run(bench_dashboards(url, org, args.runs))
        lines += [f"Dashboards over rollups for {total:,} messages in {args.days} days "
                  f"({args.days * 24 * len(org['teams']) * 12:,} rollup rows: hour × 12 teams "
                  f"× 4 tenure bands × 3 shifts) and {args.alerts:,} alerts / "
                  f"{args.alerts // 5:,} cases, as an HQ admin (whole group), {args.runs} runs "
                  "each after one warm-up; target p95 ≤ 300 ms. The baseline is the raw "
                  "weekday × hour aggregate over the alerts table alone.", "",
                  "| query | range | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
        lines += [f"| {' | '.join(r)} |" for r in results]
        lines.append("")
    if args.section in ("send", "all"):
        sizes = tuple(int(x) for x in args.sizes.split(","))
        rows = asyncio.run(bench_send(url, org, args.batches, sizes))
        lines += ["Send path: the chat writer's batch (screen with `prepare_send`, store with "
                  "`store_messages`, commit; 5% of messages blocked) with the rollup hook "
                  "(`record_batch` + `policy_for_sender`) and without it (`record_batch` a "
                  "no-op), in pairs: each drawn batch (senders, texts, the blocked ones) is "
                  "sent once each way, in alternating order, after 3 warm-up pairs; process "
                  "CPU time (every thread) per batch; the hook's cost is the mean paired "
                  "difference, with a 95% interval. Target: the hook adds ≤ 5% CPU.", "",
                  "| batch size | pairs | CPU per batch, hook on (mean / median ms) "
                  "| hook off (mean / median ms) | hook's cost per batch (ms, 95% CI) "
                  "| overhead (95% CI) |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {int(r['size'])} | {int(r['batches'])} | {r['on_ms']:.2f} / "
                         f"{r['on_median_ms']:.2f} | {r['off_ms']:.2f} / "
                         f"{r['off_median_ms']:.2f} | {r['hook_ms']:+.3f} "
                         f"({r['hook_low']:+.3f} to {r['hook_high']:+.3f}) | "
                         f"**{r['overhead']:+.1f}%** ({r['overhead_low']:+.1f} to "
                         f"{r['overhead_high']:+.1f}%) |")
        lines.append("")
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(f"Load average before / after: {load_before} / {load_after} (2 cores, shared "
                 "with other engineers' test runs: figures are indicative).")
    write_section(key, "\n".join(lines) + kept_reading(key))


READING = "<!-- reading -->"


def kept_reading(key: str) -> str:
    """The hand-written reading of the section (from a `<!-- reading -->` line on, without the
    old measurement stamp), kept below the new figures so that a re-run does not erase the
    before/after comparisons written there."""
    import re

    from _report import REPORT

    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    m = re.search(rf"<!-- {re.escape(key)}:start -->(.*?)<!-- {re.escape(key)}:end -->",
                  text, re.S)
    if not m or READING not in m.group(1):
        return ""
    kept = [ln for ln in m.group(1).split(READING, 1)[1].strip("\n").splitlines()
            if not ln.startswith("_Measured ")]
    return "\n\n" + READING + "\n" + "\n".join(kept).rstrip()


if __name__ == "__main__":
    main()

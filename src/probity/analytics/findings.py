"""Findings: windows and cohorts whose rate is significantly above the rest.

Candidates (from the rollups, three grouped queries):
* time windows — weekdays / weekends × eight 3-hour blocks of the tenant's local day; the rate is
  warn/block messages (attempts, from agents or customers) per message;
* tenure bands and teams — the agents' own warn/block messages per agent message.

Each candidate is compared with everything else in the same range and scope by the exact
conditional Poisson rate-ratio test (`stats.rate_ratio_test`, one-sided); the p-values of all
candidates tested together are adjusted by Benjamini–Hochberg (false discovery rate 5%; Holm is
available with ``method="holm"``). A finding is a candidate with adjusted p < 0.05, a ratio above
1 and at least `MIN_EVENTS` events; it is phrased the way HR reads it, e.g.
"周末 18:00–21:00 违规率为其他时段的 2.7 倍 (95% CI 2.1–3.4)".

`finding_cohort()` gives a finding's cohort in a stable shape (`FindingCohort`) — tenant(s),
team ids, tenure band, weekday/hour window, period — for monitoring rules and for training's
course assignment (`cohort_employees()`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import queries
from probity.analytics.queries import Filters
from probity.analytics.rollup import tenure_band
from probity.analytics.stats import benjamini_hochberg, holm, rate_ratio_test
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenants_in_scope
from probity.errors import InvalidInput, NotFound
from probity.models import Employee, EmploymentStatus, OrgUnit, Tenant
from probity.models.analytics import TENURE_BANDS

ALPHA = 0.05
MIN_EVENTS = 5
BLOCKS = tuple((h, h + 3) for h in range(0, 24, 3))
DAYTYPES = {"weekday": (0, 1, 2, 3, 4), "weekend": (5, 6)}
Gettext = Callable[..., str]


@dataclass(frozen=True)
class FindingCohort:
    """Who and when a finding is about — the stable shape monitoring and training use."""

    key: str
    tenant_id: int  # the tenant a rule made from it belongs to
    tenant_ids: list[int]  # every tenant it covers (the tenant's subtree within scope)
    team_ids: list[int] = field(default_factory=list)  # empty: every team
    tenure_band: str | None = None  # lt3m | 3to12m | 1to3y | gt3y | None: every band
    days: list[int] | None = None  # local weekdays, 0 = Monday; None: every day
    start_hour: int | None = None  # local hours [start, end); None: all day
    end_hour: int | None = None
    period_from: str = ""  # the range the finding was found in (local days, inclusive)
    period_to: str = ""

    def as_rule_cohort(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("key", "tenant_id", "period_from", "period_to"):
            d.pop(k)
        return d


def parse_key(key: str) -> dict[str, Any]:
    """`window:weekend:18-21`, `tenure:lt3m`, `team:12` → cohort fields (422 otherwise)."""
    parts = key.split(":")
    try:
        if parts[0] == "window" and len(parts) == 3 and parts[1] in DAYTYPES:
            lo, hi = (int(x) for x in parts[2].split("-"))
            if (lo, hi) in BLOCKS:
                return {"days": list(DAYTYPES[parts[1]]), "start_hour": lo, "end_hour": hi}
        if parts[0] == "tenure" and len(parts) == 2 and parts[1] in TENURE_BANDS:
            return {"tenure_band": parts[1]}
        if parts[0] == "team" and len(parts) == 2 and 0 < int(parts[1]) < 2**31:
            return {"team_ids": [int(parts[1])]}
    except ValueError:
        pass
    raise InvalidInput(f"unknown finding {key!r}", code="unknown_finding",
                       template="Unknown finding {key}", params={"key": key[:80]})


async def _scope_tenants(session: AsyncSession, principal: Principal, f: Filters) -> list[int]:
    tenants = await tenants_in_scope(session, principal, Perm.analytics_read)
    ids = [t.id for t in tenants if not f.tenant_path or t.path.startswith(f.tenant_path)]
    return ids


async def finding_cohort(session: AsyncSession, principal: Principal, key: str,
                         f: Filters) -> FindingCohort:
    """The cohort a finding key names, within the caller's scope and the filters' tenant."""
    fields = parse_key(key)
    tenant_ids = await _scope_tenants(session, principal, f)
    if not tenant_ids:
        raise NotFound("no tenant in scope", code="out_of_scope")
    team_ids = fields.get("team_ids") or []
    if team_ids:
        unit = await session.get(OrgUnit, team_ids[0])
        if unit is None or unit.tenant_id not in tenant_ids:
            raise InvalidInput("unknown team", code="unknown_team", template="Unknown team")
    tenant_id = f.tenant_id or (principal.tenant_id if principal.tenant_id in tenant_ids
                                else tenant_ids[0])
    return FindingCohort(key=key, tenant_id=tenant_id, tenant_ids=tenant_ids,
                         team_ids=team_ids, tenure_band=fields.get("tenure_band"),
                         days=fields.get("days"), start_hour=fields.get("start_hour"),
                         end_hour=fields.get("end_hour"), period_from=f.start.isoformat(),
                         period_to=f.end.isoformat())


async def cohort_employees(session: AsyncSession, cohort: FindingCohort,
                           on: date | None = None) -> list[int]:
    """Employee ids of the agents a cohort names on a day (default: today): active employees
    of its tenants (and teams), in its tenure band. A time window does not narrow the people —
    whoever works in the tenants is in it; training may narrow further by the rota."""
    on = on or date.today()
    stmt = select(Employee.id, Employee.hire_date).where(
        Employee.tenant_id.in_(cohort.tenant_ids),
        Employee.status != EmploymentStatus.left)
    if cohort.team_ids:
        stmt = stmt.where(Employee.org_unit_id.in_(cohort.team_ids))
    else:
        stmt = stmt.where(Employee.org_unit_id.is_not(None))
    rows = (await session.execute(stmt.order_by(Employee.id))).all()
    return [eid for eid, hired in rows
            if cohort.tenure_band is None or tenure_band(hired, on) == cohort.tenure_band]


def window_label(_: Gettext, daytype: str, lo: int, hi: int) -> str:
    days = _("Weekends") if daytype == "weekend" else _("Weekdays")
    return f"{days} {lo:02d}:00–{hi:02d}:00"


def _fmt(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x:.1f}"


async def detect(session: AsyncSession, principal: Principal, f: Filters, _: Gettext, *,
                 method: str = "bh", alpha: float = ALPHA) -> dict[str, Any]:
    # Three statements: the heat-map's cube parts (no staffing), the day × band grain per
    # tenant, team and band (bands and teams summed from it here), the teams' names.
    heat = await queries.heatmap(session, principal, f, staffing=False)
    cohorts = await queries.cohort_sums(session, principal, f)
    by_band: dict[str, dict[str, int]] = {b: {"violations": 0, "agent_messages": 0}
                                          for b in TENURE_BANDS}
    by_team: dict[int, dict[str, int]] = {}
    for r in cohorts:
        for acc in (by_band.get(r["tenure_band"]),
                    by_team.setdefault(int(r["team_id"]),
                                       {"violations": 0, "agent_messages": 0})):
            if acc is not None:
                acc["violations"] += int(r["violations"])
                acc["agent_messages"] += int(r["agent_messages"])
    names = dict((await session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_([t for t in by_team if t > 0])))).all()) if by_team else {}
    tenure: dict[str, list[dict[str, Any]]] = {
        "bands": [{"tenure_band": b, **by_band[b]} for b in TENURE_BANDS]}
    team_rows: list[dict[str, Any]] = [{"team_id": t, "name": names.get(t, "—"), **v}
                                       for t, v in by_team.items()]
    team_rows.sort(key=lambda r: (-(r["violations"] / r["agent_messages"]
                                    if r["agent_messages"] else 0), r["name"]))
    lg: dict[str, list[dict[str, Any]]] = {"teams": team_rows}
    candidates: list[dict[str, Any]] = []
    # Windows: attempts per message.
    total_x = sum(int(c["attempts"]) for c in heat["cells"])
    total_n = sum(int(c["messages"]) for c in heat["cells"])
    for daytype, days in DAYTYPES.items():
        for lo, hi in BLOCKS:
            x = sum(int(c["attempts"]) for c in heat["cells"]
                    if c["local_dow"] in days and lo <= c["local_hour"] < hi)
            n = sum(int(c["messages"]) for c in heat["cells"]
                    if c["local_dow"] in days and lo <= c["local_hour"] < hi)
            candidates.append({"key": f"window:{daytype}:{lo}-{hi}", "kind": "window",
                               "metric": "attempt_rate", "x1": x, "n1": n,
                               "x2": total_x - x, "n2": total_n - n,
                               "label": window_label(_, daytype, lo, hi),
                               "drill": {"daytype": daytype, "hours": f"{lo}-{hi}"}})
    # Cohorts of agents: their own warn/block per agent message.
    bx = sum(int(b["violations"]) for b in tenure["bands"])
    bn = sum(int(b["agent_messages"]) for b in tenure["bands"])
    for b in tenure["bands"]:
        candidates.append({"key": f"tenure:{b['tenure_band']}", "kind": "tenure",
                           "metric": "violation_rate", "x1": int(b["violations"]),
                           "n1": int(b["agent_messages"]), "x2": bx - int(b["violations"]),
                           "n2": bn - int(b["agent_messages"]),
                           "label": _("tenure." + b["tenure_band"]),
                           "drill": {"band": b["tenure_band"]}})
    tx = sum(int(t["violations"]) for t in lg["teams"] if t["team_id"])
    tn = sum(int(t["agent_messages"]) for t in lg["teams"] if t["team_id"])
    for t in lg["teams"]:
        if not t["team_id"]:
            continue
        candidates.append({"key": f"team:{t['team_id']}", "kind": "team",
                           "metric": "violation_rate", "x1": int(t["violations"]),
                           "n1": int(t["agent_messages"]), "x2": tx - int(t["violations"]),
                           "n2": tn - int(t["agent_messages"]), "label": t["name"],
                           "drill": {"team": t["team_id"]}})
    tested = [c for c in candidates if c["n1"] > 0 and c["n2"] > 0]
    for c in tested:
        rr = rate_ratio_test(c["x1"], c["n1"], c["x2"], c["n2"])
        c.update(ratio=rr.ratio, ci_low=rr.low, ci_high=rr.high, p_value=rr.p_value)
    adjust = holm if method == "holm" else benjamini_hochberg
    for c, p in zip(tested, adjust([c["p_value"] for c in tested]), strict=True):
        c["p_adjusted"] = p
    found = []
    for c in sorted(tested, key=lambda c: (c["p_adjusted"], -c["ratio"])):
        if c["p_adjusted"] >= alpha or c["x1"] < MIN_EVENTS or not c["ratio"] > 1:
            continue
        params = {"window": c["label"], "team": c["label"], "band": c["label"],
                  "ratio": _fmt(c["ratio"]), "low": _fmt(c["ci_low"]),
                  "high": _fmt(c["ci_high"])}
        if c["kind"] == "window":
            text = _("{window} violation rate is {ratio} times that of other times "
                     "(95% CI {low}–{high})", **params)
        elif c["kind"] == "tenure":
            text = _("Agents {band}: violation rate is {ratio} times that of other agents "
                     "(95% CI {low}–{high})", **params)
        else:
            text = _("{team}: violation rate is {ratio} times that of other teams "
                     "(95% CI {low}–{high})", **params)
        found.append({
            "key": c["key"], "kind": c["kind"], "metric": c["metric"], "text": text,
            "events": c["x1"], "exposure": c["n1"],
            "rate": round(c["x1"] / c["n1"], 6), "baseline_rate":
                round(c["x2"] / c["n2"], 6) if c["n2"] else None,
            "ratio": round(c["ratio"], 4) if not math.isinf(c["ratio"]) else None,
            "ci_low": round(c["ci_low"], 4),
            "ci_high": round(c["ci_high"], 4) if not math.isinf(c["ci_high"]) else None,
            "p_value": c["p_value"], "p_adjusted": c["p_adjusted"], "drill": c["drill"]})
    return {"findings": found, "tested": len(tested), "method": method, "alpha": alpha,
            "filters": f.params()}


def default_period(f: Filters) -> tuple[date, date]:
    return f.start, f.end


def shift_back(f: Filters, days: int) -> Filters:
    return Filters(f.start - timedelta(days=days), f.end - timedelta(days=days), f.zone,
                   f.tenant_id, f.tenant_path, f.team_id)


async def tenant_name(session: AsyncSession, tenant_id: int) -> str:
    return str(await session.scalar(select(Tenant.name).where(Tenant.id == tenant_id)) or "")

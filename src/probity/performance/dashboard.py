"""Dashboard figures from the frozen scores of closed cycles, per team, subsidiary or group:
violation rate (share of employees with a substantiated violation), share of bonus-eligible
employees, refusal ratio (refusals / offers received); and the same before and after a day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.models import AppraisalCycle, CycleStatus, OrgUnit, PerformanceScore, Tenant
from probity.performance.scope import cycle_filter


@dataclass
class Tally:
    employees: int = 0
    violating: int = 0
    eligible: int = 0
    refusals: int = 0
    offers: int = 0

    def add(self, violations: int, eligible: bool, refusals: int, offers: int) -> None:
        self.employees += 1
        self.violating += 1 if violations else 0
        self.eligible += 1 if eligible else 0
        self.refusals += refusals
        self.offers += offers

    def figures(self) -> dict[str, Any]:
        n = self.employees
        return {"employees": n,
                "violation_rate": round(self.violating / n, 4) if n else None,
                "eligible_share": round(self.eligible / n, 4) if n else None,
                "refusal_ratio": round(self.refusals / self.offers, 4) if self.offers else None,
                "refusals": self.refusals, "offers": self.offers}


async def dashboard_data(session: AsyncSession, principal: Principal, *, level: str,
                         split: date | None) -> dict[str, Any]:
    scope = principal.scope(Perm.performance_read)
    rows = (await session.execute(
        select(AppraisalCycle.id, AppraisalCycle.name, AppraisalCycle.starts_on,
               AppraisalCycle.ends_on, PerformanceScore.org_unit_id, Tenant.path,
               PerformanceScore.violations, PerformanceScore.bonus_eligible,
               PerformanceScore.refusals, PerformanceScore.offers)
        .join(PerformanceScore, PerformanceScore.cycle_id == AppraisalCycle.id)
        .join(Tenant, Tenant.id == PerformanceScore.tenant_id)
        .where(AppraisalCycle.status == CycleStatus.closed,
               cycle_filter(principal, Perm.performance_read),
               scope.filter(PerformanceScore.tenant_id, PerformanceScore.org_unit_id))
        .order_by(AppraisalCycle.starts_on, AppraisalCycle.id))).all()
    units = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).all())
    tenants = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    cycles: dict[int, dict[str, Any]] = {}
    per: dict[tuple[str, int], Tally] = defaultdict(Tally)
    halves: dict[tuple[str, str], Tally] = defaultdict(Tally)
    names: dict[str, str] = {}
    for cid, cname, starts, ends, unit, path, violations, eligible, refusals, offers in rows:
        cycles.setdefault(cid, {"id": cid, "name": cname, "starts_on": starts.isoformat(),
                                "ends_on": ends.isoformat()})
        parts = [int(p) for p in path.strip("/").split("/") if p]
        if level == "team":
            key, name = f"team:{unit}", units.get(unit, "—") if unit else "—"
        elif level == "subsidiary":
            sub = parts[1] if len(parts) > 1 else parts[0]
            key, name = f"tenant:{sub}", tenants.get(sub, "—")
        else:
            key, name = f"tenant:{parts[0]}", tenants.get(parts[0], "—")
        names[key] = name
        per[(key, cid)].add(violations, eligible, refusals, offers)
        if split is not None:
            if ends < split:
                halves[(key, "before")].add(violations, eligible, refusals, offers)
            elif starts >= split:
                halves[(key, "after")].add(violations, eligible, refusals, offers)
    series = []
    for key in sorted(names, key=lambda k: names[k]):
        points = [{"cycle_id": cid, "cycle": c["name"], **per[(key, cid)].figures()}
                  for cid, c in cycles.items() if (key, cid) in per]
        entry: dict[str, Any] = {"key": key, "name": names[key], "points": points}
        if split is not None:
            entry["before"] = halves[(key, "before")].figures()
            entry["after"] = halves[(key, "after")].figures()
        series.append(entry)
    return {"level": level, "split": split.isoformat() if split else None,
            "cycles": list(cycles.values()), "series": series}

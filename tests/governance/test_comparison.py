"""Subsidiary comparison: rates per 1,000 conversations, substantiation, median alert →
decision time, outliers, and the drill-down to teams and cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Alert, Case, CaseAlert, Conversation, Customer, OrgUnit, Tenant
from probity.models.base import utcnow
from probity.models.cases import CaseStatus


async def _activity(db: AsyncSession, code: str, conversations: int, violations: int,
                    attempts: int, decided: list[tuple[str, float]]) -> tuple[int, int]:
    """Conversations, alerts and decided cases in one team of the subsidiary `code`."""
    tenant = await db.scalar(select(Tenant).where(Tenant.code == code))
    assert tenant is not None
    team = await db.scalar(select(OrgUnit).where(OrgUnit.tenant_id == tenant.id,
                                                 OrgUnit.kind == "team").order_by(OrgUnit.id))
    customer = await db.scalar(select(Customer).where(Customer.tenant_id == tenant.id))
    assert team is not None and customer is not None
    now = utcnow() - timedelta(days=3)
    convs = [Conversation(tenant_id=tenant.id, org_unit_id=team.id, customer_id=customer.id,
                          created_at=now) for _ in range(conversations)]
    db.add_all(convs)
    await db.flush()
    alerts = [Alert(tenant_id=tenant.id, org_unit_id=team.id, conversation_id=convs[0].id,
                    sender_role="agent" if i < violations else "customer",
                    subject="agent" if i < violations else "customer", decision="warn",
                    category="contact", categories=["contact"], severity=2, snippet="x",
                    spans=[], source="screening", created_at=now)
             for i in range(violations + attempts)]
    db.add_all(alerts)
    await db.flush()
    for i, (decision, hours) in enumerate(decided):
        case = Case(tenant_id=tenant.id, org_unit_id=team.id, title=f"t{i}",
                    status=CaseStatus.substantiated if decision == "substantiated"
                    else CaseStatus.unsubstantiated, severity=2, last_alert_at=now,
                    triage_due_at=now, decision_due_at=now, decision=decision,
                    decided_at=now + timedelta(hours=hours), created_at=now)
        db.add(case)
        await db.flush()
        db.add(CaseAlert(case_id=case.id, alert_id=alerts[i].id, created_at=now))
    await db.flush()
    return tenant.id, team.id


async def test_comparison_figures_outliers_and_drill_down(as_user: Any, db: AsyncSession
                                                          ) -> None:
    # HOME: far above anything the demo's own activity brings to the group average.
    home, home_team = await _activity(db, "HOME", 200, 120, 4,
                                      [("substantiated", 10), ("substantiated", 30),
                                       ("unsubstantiated", 20)])
    # TRAVEL: no violation at all, so it stands out low whatever the demo's own activity adds
    # to the group average.
    travel, _ = await _activity(db, "TRAVEL", 200, 0, 4, [("unsubstantiated", 5)])
    admin = await as_user("admin")
    r = await admin.get("/standards/compare")
    assert r.status_code == 200
    from probity.auth.service import load_principal
    from probity.governance.comparison import compare_subsidiaries
    from probity.models import User

    uid = await db.scalar(select(User.id).where(User.username == "admin"))
    principal = await load_principal(db, int(uid or 0))
    assert principal is not None
    now = utcnow()
    table = await compare_subsidiaries(db, principal, now - timedelta(days=30), now)
    rows = {r.name: r for r in table.rows}
    h = rows["廉盾家电有限公司"]
    assert h.figures.conversations == 200 and h.figures.violation_rate == 600.0
    assert h.figures.attempt_rate == 20.0
    assert round(h.figures.substantiation_rate or 0, 1) == 66.7
    assert h.figures.median_hours == 20.0
    # The group pools every subsidiary shown; HOME's violation rate stands out.
    assert table.group.conversations == sum(r.figures.conversations for r in table.rows)
    assert h.outliers["violation_rate"] == "high"
    assert rows["廉盾旅行有限公司"].outliers["violation_rate"] == "low"
    assert f'data-testid="row-{home}"' in r.text and 'data-outlier="high"' in r.text
    teams = await admin.get(f"/standards/compare/{home}")
    assert teams.status_code == 200 and f'data-testid="row-{home_team}"' in teams.text
    cases = await admin.get(f"/standards/compare/teams/{home_team}")
    assert cases.status_code == 200 and cases.text.count('href="/cases/') >= 6
    # A subsidiary's compliance officer sees only their own subsidiary; others are 404.
    comp = await as_user("compliance")
    assert (await comp.get(f"/standards/compare/{travel}")).status_code == 404
    mine = await comp.get("/standards/compare")
    assert "廉盾家电有限公司" not in mine.text

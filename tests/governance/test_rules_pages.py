"""Pages for the rules that only had an API: notification rules and legal holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Customer, LegalHold, NotificationRule, Tenant


async def test_notification_rules_page(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    c = await as_user("compliance")
    assert (await c.get("/standards/notification-rules")).status_code == 200
    r = await c.post("/standards/notification-rules", data={
        "csrf_token": c.headers["X-CSRF-Token"], "tenant_id": str(ecom), "channel": "in_app",
        "role": "compliance", "min_severity": "2", "events": ["case.opened", "case.decided"]})
    assert r.status_code == 303, r.text
    rule = await db.scalar(select(NotificationRule).where(NotificationRule.tenant_id == ecom,
                                                          NotificationRule.min_severity == 2))
    assert rule is not None and rule.events == "case.opened,case.decided"
    bad = await c.post("/standards/notification-rules", data={
        "csrf_token": c.headers["X-CSRF-Token"], "tenant_id": str(ecom), "channel": "wecom"})
    assert bad.status_code == 422 and 'data-testid="error"' in bad.text
    r = await c.post(f"/standards/notification-rules/{rule.id}/deactivate",
                     data={"csrf_token": c.headers["X-CSRF-Token"]})
    assert r.status_code == 303
    hr = await as_user("hr")
    assert (await hr.get("/standards/notification-rules")).status_code == 403


async def test_legal_holds_page(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    customer = await db.scalar(select(Customer.id).where(Customer.tenant_id == ecom))
    c = await as_user("compliance")
    r = await c.post("/standards/legal-holds", data={
        "csrf_token": c.headers["X-CSRF-Token"], "tenant_id": str(ecom),
        "subject_type": "customer", "subject_id": str(customer), "reason": "litigation"})
    assert r.status_code == 303, r.text
    hold = await db.scalar(select(LegalHold).where(LegalHold.subject_id == customer))
    assert hold is not None and hold.reason == "litigation"
    page = await c.get("/standards/legal-holds")
    assert page.status_code == 200 and "litigation" in page.text
    r = await c.post(f"/standards/legal-holds/{hold.id}/release",
                     data={"csrf_token": c.headers["X-CSRF-Token"], "reason": "settled"})
    assert r.status_code == 303
    auditor = await as_user("auditor")  # reads, cannot set
    assert (await auditor.get("/standards/legal-holds")).status_code == 200
    assert (await auditor.post("/standards/legal-holds", data={
        "csrf_token": auditor.headers["X-CSRF-Token"], "tenant_id": str(ecom),
        "subject_type": "customer", "subject_id": str(customer), "reason": "x"})
            ).status_code == 403

"""Access in one place (issue 16): the read-only auditor starts no work and no conversations;
routes name permissions, never roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth import deps
from probity.models import Tenant


async def test_auditor_cannot_start_verification_jobs(as_user: Any, db: AsyncSession) -> None:
    hq = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    c = await as_user("auditor")
    r = await c.post("/api/v1/ledger/verify", json={"tenant_id": hq})
    assert r.status_code == 403, r.text
    page = await c.get("/ledger", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'action="/ledger/verify"' not in page.text


async def test_staff_cannot_start_customer_conversations(as_user: Any) -> None:
    for who in ("auditor", "hr"):
        c = await as_user(who)
        r = await c.post("/api/v1/chat/conversations",
                         json={"order_no": "X", "phone_last4": "0000"})
        assert r.status_code == 403 and r.json()["code"] == "staff_account", (who, r.text)


def test_no_route_checks_role_names() -> None:
    assert not hasattr(deps, "require_role")


async def test_customer_phones_are_masked_without_the_contact_permission(as_user: Any) -> None:
    phones = {}
    for who in ("auditor", "finance"):
        c = await as_user(who)
        r = await c.get("/api/v1/customers", params={"limit": 5})
        assert r.status_code == 200, r.text
        phones[who] = [row["phone"] for row in r.json() if row["phone"]]
    assert phones["auditor"] and all("*" in p for p in phones["auditor"])
    assert phones["finance"] and all("*" not in p for p in phones["finance"])

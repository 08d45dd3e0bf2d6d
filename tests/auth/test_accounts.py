"""Who may mint and revoke tokens for whom, and what an administrator may put into an account.

Regression tests for issue 16 (items 1 and 2): a subsidiary's HR minted tokens for the HQ admin,
and granted roles on, or bound accounts to, another subsidiary's teams and employees.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import ApiToken, Employee, OrgUnit, Tenant, User

STRONG = "Blue-Harbor-42"


async def _uid(db: AsyncSession, username: str) -> int:
    uid = await db.scalar(select(User.id).where(User.username == username))
    assert uid is not None
    return uid


async def _tenant(db: AsyncSession, code: str) -> Tenant:
    t = await db.scalar(select(Tenant).where(Tenant.code == code))
    assert t is not None
    return t


async def _team(db: AsyncSession, code: str) -> OrgUnit:
    u = await db.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert u is not None
    return u


async def test_hr_cannot_mint_tokens_for_hq_admin_or_auditor(as_user: Any, db: AsyncSession
                                                             ) -> None:
    c = await as_user("hr")
    for victim in ("admin", "auditor", "compliance", "finance"):
        r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": await _uid(db, victim)})
        assert r.status_code == 404, (victim, r.text)
    # Another subsidiary's team lead is out of scope too.
    other_lead = await db.scalar(
        select(User.id).join(Employee, Employee.id == User.employee_id)
        .join(Tenant, Tenant.id == Employee.tenant_id).where(Tenant.code == "HOME").limit(1))
    assert other_lead is not None
    r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": other_lead})
    assert r.status_code == 404
    # A missing user looks the same.
    r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": 2_000_000_000})
    assert r.status_code == 404


async def test_hr_mints_for_an_agent_in_scope_and_for_itself(as_user: Any, db: AsyncSession
                                                            ) -> None:
    c = await as_user("hr")
    r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": await _uid(db, "agent")})
    assert r.status_code == 201, r.text
    # A team lead of its own subsidiary (line management is delegable).
    assert (await c.post("/api/v1/tokens", json={"name": "x", "user_id": await _uid(db, "lead")})
            ).status_code == 201
    assert (await c.post("/api/v1/tokens", json={"name": "mine"})).status_code == 201


async def test_agent_cannot_mint_for_anyone_else(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("agent")
    r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": await _uid(db, "lead")})
    assert r.status_code == 404


async def test_revoking_someone_elses_token_is_404_unless_administered(
        as_user: Any, db: AsyncSession) -> None:
    c = await as_user("admin")
    minted = {}
    for who in ("auditor", "agent"):
        r = await c.post("/api/v1/tokens", json={"name": "t", "user_id": await _uid(db, who)})
        assert r.status_code == 201
        minted[who] = r.json()["id"]
    c = await as_user("hr")
    assert (await c.delete(f"/api/v1/tokens/{minted['auditor']}")).status_code == 404
    token = await db.get(ApiToken, minted["auditor"])
    assert token is not None and token.revoked_at is None
    assert (await c.delete(f"/api/v1/tokens/{minted['agent']}")).status_code == 200
    c = await as_user("finance")
    assert (await c.delete(f"/api/v1/tokens/{minted['agent']}")).status_code == 404


async def test_grant_on_another_subsidiarys_team_is_refused(as_user: Any, db: AsyncSession
                                                            ) -> None:
    c = await as_user("hr")
    ecom = await _tenant(db, "ECOM")
    home_team = await _team(db, "HOME-T1")
    r = await c.post("/api/v1/users", json={
        "username": "sneaky.lead", "display_name": "x", "password": STRONG,
        "tenant_id": ecom.id,
        "roles": [{"role": "team_lead", "tenant_id": ecom.id, "org_unit_id": home_team.id}]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_org_unit", r.text
    own_team = await _team(db, "ECOM-T2")
    ok = await c.post("/api/v1/users", json={
        "username": "new.lead", "display_name": "x", "password": STRONG, "tenant_id": ecom.id,
        "roles": [{"role": "team_lead", "tenant_id": ecom.id, "org_unit_id": own_team.id}]})
    assert ok.status_code == 201, ok.text


async def test_binding_another_subsidiarys_employee_is_refused(as_user: Any, db: AsyncSession
                                                               ) -> None:
    c = await as_user("hr")
    ecom = await _tenant(db, "ECOM")
    home = await _tenant(db, "HOME")
    bound = select(User.employee_id).where(User.employee_id.is_not(None))
    foreign = await db.scalar(select(Employee.id).where(
        Employee.tenant_id == home.id, Employee.id.not_in(bound)).limit(1))
    assert foreign is not None
    r = await c.post("/api/v1/users", json={
        "username": "spy", "display_name": "x", "password": STRONG, "tenant_id": ecom.id,
        "employee_id": foreign, "roles": []})
    assert r.status_code == 422 and r.json()["code"] == "unknown_employee", r.text


async def test_hr_cannot_grant_roles_more_privileged_than_its_own(as_user: Any,
                                                                  db: AsyncSession) -> None:
    c = await as_user("hr")
    ecom = await _tenant(db, "ECOM")
    for role in ("compliance", "finance", "auditor", "hq_admin"):
        r = await c.post("/api/v1/users", json={
            "username": f"up.{role}", "display_name": "x", "password": STRONG,
            "tenant_id": ecom.id, "roles": [{"role": role, "tenant_id": ecom.id}]})
        assert r.status_code == 422 and r.json()["code"] == "privileged_role", (role, r.text)


async def test_huge_ids_are_4xx_not_5xx(as_user: Any) -> None:
    c = await as_user("admin")
    r = await c.post("/api/v1/tokens", json={"name": "x", "user_id": 2**40})
    assert r.status_code == 404
    assert (await c.delete(f"/api/v1/tokens/{2**40}")).status_code == 404
    r = await c.post("/api/v1/users", json={
        "username": "big", "display_name": "x", "password": STRONG, "tenant_id": 2**40,
        "roles": []})
    assert r.status_code == 422

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import login

from probity.auth.passwords import check_password_policy
from probity.errors import InvalidInput
from probity.models import ApiToken, AuditEntry, User


async def test_login_sets_session_and_logout_ends_it(client: httpx.AsyncClient) -> None:
    me = await login(client, "hr")
    assert me["username"] == "hr"
    assert (await client.get("/api/v1/me")).status_code == 200
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_wrong_password_is_401_problem(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": "hr", "password": "nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "bad_credentials"
    # An unknown user looks exactly the same.
    r2 = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope"})
    assert r2.status_code == 401 and r2.json()["code"] == "bad_credentials"


async def test_lockout_after_repeated_failures(client: httpx.AsyncClient, db: AsyncSession,
                                               settings: Any) -> None:
    for _ in range(settings.lockout_threshold - 1):
        r = await client.post("/api/v1/auth/login", json={"username": "finance", "password": "x"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "finance", "password": "x"})
    assert r.status_code == 429
    assert r.headers["retry-after"]
    # Even the right password is refused while locked.
    from probity.demo import DEMO_PASSWORD

    r = await client.post("/api/v1/auth/login",
                          json={"username": "finance", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    user = await db.scalar(select(User).where(User.username == "finance"))
    assert user is not None and user.locked_until is not None and user.lockouts == 1
    actions = (await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "user", AuditEntry.target_id == str(user.id)))).all()
    assert actions.count("auth.login_failed") == settings.lockout_threshold - 1
    assert "auth.locked" in actions


async def test_successful_login_resets_failure_count(client: httpx.AsyncClient,
                                                     db: AsyncSession) -> None:
    for _ in range(2):
        await client.post("/api/v1/auth/login", json={"username": "lead", "password": "bad"})
    await login(client, "lead")
    user = await db.scalar(select(User).where(User.username == "lead"))
    assert user is not None and user.failed_logins == 0


def test_password_policy() -> None:
    for weak in ["short1A!", "alllowercaseletters", "Password123", "hr-Strong-Pass-1"]:
        try:
            check_password_policy(weak, username="hr", min_length=10)
        except InvalidInput:
            continue
        raise AssertionError(f"{weak!r} passed the policy")
    check_password_policy("Blue-Harbor-42", username="hr", min_length=10)


async def test_user_create_enforces_policy_and_scope(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("hr")
    tenants = (await c.get("/api/v1/tenants")).json()
    ecom = next(t for t in tenants if t["code"] == "ECOM")
    weak = await c.post("/api/v1/users", json={
        "username": "new.agent", "display_name": "新客服", "password": "123",
        "tenant_id": ecom["id"], "roles": [{"role": "agent", "tenant_id": ecom["id"]}]})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    escalate = await c.post("/api/v1/users", json={
        "username": "sneaky", "display_name": "x", "password": "Blue-Harbor-42",
        "tenant_id": ecom["id"], "roles": [{"role": "hq_admin", "tenant_id": ecom["id"]}]})
    assert escalate.status_code == 422 and escalate.json()["code"] == "privileged_role"
    hq = await db.scalar(select(User.tenant_id).where(User.username == "admin"))
    outside = await c.post("/api/v1/users", json={
        "username": "outside", "display_name": "x", "password": "Blue-Harbor-42",
        "tenant_id": hq, "roles": []})
    assert outside.status_code == 422 and outside.json()["code"] == "unknown_tenant"
    ok = await c.post("/api/v1/users", json={
        "username": "new.agent", "display_name": "新客服", "password": "Blue-Harbor-42",
        "tenant_id": ecom["id"], "roles": [{"role": "agent", "tenant_id": ecom["id"]}]})
    assert ok.status_code == 201, ok.text
    stored = await db.scalar(select(User).where(User.username == "new.agent"))
    assert stored is not None and stored.password_hash.startswith("$argon2")  # type: ignore[union-attr]


async def test_api_token_lifecycle(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await login(client, "auditor")
    r = await client.post("/api/v1/tokens", json={"name": "export job"})
    assert r.status_code == 201
    plain = r.json()["token"]
    # Only the hash is stored.
    assert await db.scalar(select(func.count()).select_from(ApiToken)
                           .where(ApiToken.token_hash == plain)) == 0
    bearer = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with bearer:
        me = await bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
        assert me.status_code == 200 and me.json()["username"] == "auditor"
        # Bearer requests need no CSRF token.
        t2 = await bearer.post("/api/v1/tokens", json={"name": "second"},
                               headers={"Authorization": f"Bearer {plain}"})
        assert t2.status_code == 201
        revoke = await client.delete(f"/api/v1/tokens/{r.json()['id']}")
        assert revoke.status_code == 200 and revoke.json()["revoked_at"]
        after = await bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
        assert after.status_code == 401
        garbage = await bearer.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
        assert garbage.status_code == 401


async def test_cookie_writes_need_csrf(client: httpx.AsyncClient) -> None:
    await login(client, "hr")
    del client.headers["X-CSRF-Token"]
    r = await client.post("/api/v1/tokens", json={"name": "x"})
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    client.headers["X-CSRF-Token"] = "forged"
    assert (await client.post("/api/v1/tokens", json={"name": "x"})).status_code == 403


async def test_login_page_form_with_csrf(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200 and "csrf_token" in page.text
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    from probity.demo import DEMO_PASSWORD

    bad = await client.post("/login", data={"username": "hr", "password": DEMO_PASSWORD,
                                            "csrf_token": "forged", "next": "/"})
    assert bad.status_code == 403
    ok = await client.post("/login", data={"username": "hr", "password": DEMO_PASSWORD,
                                           "csrf_token": token.group(1), "next": "/org/chart"})
    assert ok.status_code == 303 and ok.headers["location"] == "/org/chart"
    home = await client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200 and "组织架构" in home.text


def test_production_refuses_default_secret() -> None:
    import pytest

    from probity.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError):
        Settings(env="production").check_production()
    with pytest.raises(ConfigurationError, match="LEDGER_SIGNING_KEY"):
        Settings(env="production", secret_key="x" * 40).check_production()
    Settings(env="production", secret_key="x" * 40, ledger_signing_key="k").check_production()

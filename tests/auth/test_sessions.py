"""Sessions that really end (issue 16, item 4): logout, a password change and offboarding move
the account's session version, so a copied cookie stops working at once."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import login

from probity.demo import DEMO_PASSWORD
from probity.models import AuditEntry, User


def _copy(client: httpx.AsyncClient) -> httpx.AsyncClient:
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    for name, value in client.cookies.items():
        other.cookies.set(name, value)
    other.headers.update(client.headers)
    return other


async def test_logout_ends_a_copied_cookie(client: httpx.AsyncClient) -> None:
    await login(client, "hr")
    async with _copy(client) as stolen:
        assert (await stolen.get("/api/v1/me")).status_code == 200
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        # The replayed cookie is dead, not merely forgotten by the browser that logged out.
        assert (await stolen.get("/api/v1/me")).status_code == 401
        assert (await stolen.post("/api/v1/tokens", json={"name": "x"})).status_code == 401
    await login(client, "hr")  # signing in again works
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_page_logout_ends_the_session_too(client: httpx.AsyncClient) -> None:
    await login(client, "lead")
    async with _copy(client) as stolen:
        r = await client.post("/logout", data={"csrf_token": client.headers["X-CSRF-Token"]})
        assert r.status_code == 303
        assert (await stolen.get("/api/v1/me")).status_code == 401


async def test_password_change_ends_other_sessions_keeps_this_one(
        client: httpx.AsyncClient, db: AsyncSession) -> None:
    await login(client, "finance")
    async with _copy(client) as elsewhere:
        wrong = await client.post("/api/v1/auth/password", json={
            "current_password": "nope", "new_password": "Blue-Harbor-42"})
        assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
        weak = await client.post("/api/v1/auth/password", json={
            "current_password": DEMO_PASSWORD, "new_password": "password123"})
        assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
        r = await client.post("/api/v1/auth/password", json={
            "current_password": DEMO_PASSWORD, "new_password": "Blue-Harbor-42"})
        assert r.status_code == 204, r.text
        assert (await client.get("/api/v1/me")).status_code == 200
        assert (await elsewhere.get("/api/v1/me")).status_code == 401
    old = await client.post("/api/v1/auth/login",
                            json={"username": "finance", "password": DEMO_PASSWORD})
    assert old.status_code == 401
    await login(client, "finance", "Blue-Harbor-42")
    uid = await db.scalar(select(User.id).where(User.username == "finance"))
    actions = set((await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "user", AuditEntry.target_id == str(uid)))).all())
    assert {"auth.password_changed", "auth.login"} <= actions


async def test_a_cookie_without_a_session_version_is_not_a_session(
        client: httpx.AsyncClient, app: Any) -> None:
    """Cookies signed before session versions existed (uid only) sign nobody in."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    signer = TimestampSigner(app.state.settings.secret_key)
    payload = base64.b64encode(json.dumps({"uid": 1}).encode())
    client.cookies.set("probity_session", signer.sign(payload).decode())
    assert (await client.get("/api/v1/me")).status_code == 401

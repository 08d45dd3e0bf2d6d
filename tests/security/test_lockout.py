"""Lockout under parallel attempts (issue 16, item 5): guesses sent at once must not get past
the lockout, and none may fail with a 5xx ("database is locked" on SQLite).

These tests run the app with its own connection pool (no shared test session), so requests
really are concurrent, against the test database (SQLite, or PostgreSQL when configured). The
account they hammer is their own and is removed afterwards.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from probity.app import create_app
from probity.auth.passwords import hash_password
from probity.config import Settings
from probity.db import Database
from probity.models import AuditEntry, Tenant, User

PASSWORD = "Blue-Harbor-42"


@pytest.fixture
async def live(settings: Settings, database_url: str) -> AsyncIterator[tuple[Any, str, int]]:
    database = Database(database_url)
    app = create_app(settings, database=database)
    username = f"lockout-{random.randrange(10**9)}"
    async with database.sessionmaker() as s:
        tenant = await s.scalar(select(Tenant.id).order_by(Tenant.id).limit(1))
        assert tenant is not None
        user = User(username=username, display_name="x", tenant_id=tenant,
                    password_hash=hash_password(PASSWORD))
        s.add(user)
        await s.commit()
        uid = user.id
    try:
        yield app, username, uid
    finally:
        async with database.sessionmaker() as s:
            await s.execute(delete(User).where(User.id == uid))
            await s.commit()
        await database.dispose()


async def test_parallel_wrong_passwords_get_no_more_than_the_threshold(
        live: tuple[Any, str, int], settings: Settings) -> None:
    app, username, uid = live
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        async def guess(i: int) -> httpx.Response:
            return await c.post("/api/v1/auth/login",
                                json={"username": username, "password": f"wrong-{i}"})

        responses = await asyncio.gather(*(guess(i) for i in range(20)))
        codes = Counter(r.status_code for r in responses)
        assert set(codes) <= {401, 429}, codes  # never a 5xx
        # Exactly threshold-1 plain refusals; the attempt that used the last one locks.
        assert codes[401] == settings.lockout_threshold - 1, codes
        for r in responses:
            if r.status_code == 429:
                assert 0 < int(r.headers["retry-after"]) <= settings.lockout_s
        # The right password is refused too while locked.
        ok = await c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert ok.status_code == 429
    async with app.state.db.sessionmaker() as s:
        user = await s.get(User, uid)
        assert user is not None and user.lockouts == 1 and user.locked_until is not None
        checked = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.target_type == "user", AuditEntry.target_id == str(uid),
            AuditEntry.action.in_(("auth.login_failed", "auth.locked"))))
        assert checked == settings.lockout_threshold  # passwords actually checked


async def test_parallel_right_passwords_all_sign_in(live: tuple[Any, str, int]) -> None:
    app, username, _uid = live
    transport = httpx.ASGITransport(app=app)

    async def attempt() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post("/api/v1/auth/login",
                             json={"username": username, "password": PASSWORD})
            return r.status_code

    codes = Counter(await asyncio.gather(*(attempt() for _ in range(4))))
    assert codes == {200: 4}, codes


async def test_address_throttle_across_accounts(live: tuple[Any, str, int],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Spraying many accounts from one address is throttled before any password is checked."""
    from probity.auth import router
    from probity.ratelimit import AttemptLimiter

    # A small budget keeps the test quick (each refused sign-in costs an argon2 check).
    monkeypatch.setattr(router, "LOGIN_IP_LIMITER", AttemptLimiter("login-ip-test", 4, 60))
    LOGIN_IP_LIMITER = router.LOGIN_IP_LIMITER
    app, _username, _uid = live
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        codes = []
        for i in range(LOGIN_IP_LIMITER.max_attempts + 1):
            r = await c.post("/api/v1/auth/login",
                             json={"username": f"nobody-{i}", "password": "x"})
            codes.append(r.status_code)
        assert codes[:-1] == [401] * LOGIN_IP_LIMITER.max_attempts
        assert codes[-1] == 429 and r.json()["code"] == "too_many_attempts"
        assert 0 < int(r.headers["retry-after"]) <= LOGIN_IP_LIMITER.window_s

"""Administrative operations behind the CLI (each in its own committed transaction)."""

from __future__ import annotations

from sqlalchemy import select, text

from probity.auth import service as auth_service
from probity.config import ConfigurationError, Settings
from probity.db import Database
from probity.errors import InvalidInput
from probity.models import OrgUnit, Role, Tenant, User


async def _tenant_by_code(session: object, code: str) -> Tenant:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    tenant = await session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise InvalidInput(f"unknown tenant code {code!r}", code="unknown_tenant")
    return tenant


async def create_user_cli(settings: Settings, username: str, display_name: str,
                          password: str | None, tenant_code: str, roles: list[str]) -> int:
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            home = await _tenant_by_code(session, tenant_code)
            grants: list[tuple[Role, int, int | None]] = []
            for spec in roles:
                parts = spec.split(":")
                try:
                    role = Role(parts[0])
                except ValueError as exc:
                    raise InvalidInput(f"unknown role {parts[0]!r}; one of "
                                       + ", ".join(r.value for r in Role)) from exc
                scope = await _tenant_by_code(session, parts[1]) if len(parts) > 1 else home
                unit_id = None
                if len(parts) > 2:
                    unit_id = await session.scalar(select(OrgUnit.id).where(
                        OrgUnit.tenant_id == scope.id, OrgUnit.code == parts[2]))
                    if unit_id is None:
                        raise InvalidInput(f"unknown team {parts[2]!r}", code="unknown_org_unit")
                grants.append((role, scope.id, unit_id))
            user = await auth_service.create_user(
                session, settings, None, username=username, display_name=display_name,
                password=password, tenant_id=home.id, roles=grants)
            await session.commit()
            return user.id
    finally:
        await db.dispose()


async def create_token_cli(settings: Settings, username: str, name: str, days: int | None) -> str:
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                raise InvalidInput(f"unknown user {username!r}", code="unknown_user")
            principal = await auth_service.load_principal(session, user.id)
            assert principal is not None
            _, plain = await auth_service.create_token(session, principal, user.id, name, days)
            await session.commit()
            return plain
    finally:
        await db.dispose()


async def run_checks(settings: Settings) -> list[tuple[str, bool, str]]:
    results: list[tuple[str, bool, str]] = []
    try:
        settings.check_production()
        results.append(("configuration", True, f"env={settings.env}"))
    except ConfigurationError as exc:
        results.append(("configuration", False, str(exc)))
    db = Database(settings.database_url)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            tenants = (await conn.execute(text("SELECT count(*) FROM tenants"))).scalar()
        results.append(("database", True, f"{db.engine.dialect.name}, {tenants} tenants"))
    except Exception as exc:  # report any failure as a failed check
        results.append(("database", False, f"{type(exc).__name__}: {exc}"[:200]))
    finally:
        await db.dispose()
    if settings.redis_url:
        try:
            import redis.asyncio as aioredis

            client = aioredis.from_url(settings.redis_url)
            try:
                await client.ping()
                results.append(("redis", True, "PING ok"))
            finally:
                await client.aclose()
        except Exception as exc:
            results.append(("redis", False, f"{type(exc).__name__}: {exc}"[:200]))
    else:
        results.append(("redis", True, "not configured (in-process bus)"))
    return results

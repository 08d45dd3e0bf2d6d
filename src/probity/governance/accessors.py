"""Typed accessors over group standards for the older domains (one place each)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.config import DEFAULT_TIMEZONE
from probity.governance.sections import DisplaySettings
from probity.governance.service import effective_settings
from probity.models import Tenant

__all__ = ["DEFAULT_TIMEZONE", "display_timezone"]


async def display_timezone(session: AsyncSession, tenant_id: int) -> str:
    """The zone a tenant's times are shown (and working days counted) in: the group standard
    when one is set (HQ usually sets and locks it), else the tenant's own zone (Structure)."""
    eff = await effective_settings(session, tenant_id, DisplaySettings)
    if eff.values.timezone is not None:
        return eff.values.timezone
    own = await session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id))
    return own or DEFAULT_TIMEZONE

"""Demo HR duty: the e-commerce subsidiary's HR person is on duty on the weekend evenings
(18:00–21:00, the high-risk window) of this week and the next — except next Sunday, which the
duty page flags as a high-risk window with nobody on duty."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.duty.service import add_duty
from probity.models import Tenant, User


async def seed_duty(session: AsyncSession, today: date) -> None:
    ecom = await session.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    hr = await session.scalar(select(User).where(User.username == "hr"))
    if ecom is None or hr is None or hr.employee_id is None:
        return
    zone = ZoneInfo(ecom.timezone or "Asia/Shanghai")
    saturday = today + timedelta(days=5 - today.weekday())
    for day, weeks in ((saturday, 2), (saturday + timedelta(days=1), 1)):
        await add_duty(session, None, tenant_id=ecom.id, employee_id=hr.employee_id,
                       starts_at=datetime.combine(day, time(18), zone),
                       ends_at=datetime.combine(day, time(21), zone),
                       note="周末晚间值班", repeat_weeks=weeks)

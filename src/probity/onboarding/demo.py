"""Demo onboarding: HQ publishes the group's integrity pledge, and the staff with accounts sign
it (through the signing service, so every signature is in the ledger) — except the demo agent,
who finds it waiting at /me/pledge. The new hire's checklist is half done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Principal
from probity.models import Employee, EmploymentStatus, Onboarding, OnboardingTask, Tenant, User
from probity.models.base import utcnow
from probity.onboarding import schemas, service

PLEDGE_TEXT = """廉洁承诺书

本人作为集团员工，郑重承诺：
一、只通过公司官方渠道与客户沟通，不向客户索要或提供个人微信、QQ、手机号码等联系方式。
二、不收受客户或供应商任何形式的红包、礼品、回扣或其他利益，不引导客户私下付款或转账。
三、不利用职务便利为本人或他人谋取不正当利益，如实申报本人收款账户。
四、发现他人有上述行为，或被客户提出上述要求时，及时通过官方渠道报告。
五、自愿接受公司的合规检查；如有违反，愿按公司制度接受处理。"""


async def seed_onboarding(session: AsyncSession) -> None:
    hq = await session.scalar(select(Tenant).where(Tenant.code == "HQ"))
    assert hq is not None
    pv = await service.publish_pledge(session, None, schemas.PledgePublish(
        tenant_id=hq.id, title="集团员工廉洁承诺书", text=PLEDGE_TEXT))
    signers = (await session.execute(
        select(User, Employee).join(Employee, Employee.id == User.employee_id)
        .where(Employee.status != EmploymentStatus.left, User.username != "agent")
        .order_by(User.id))).all()
    for user, emp in signers:
        principal = Principal(user_id=user.id, username=user.username,
                              display_name=user.display_name, tenant_id=user.tenant_id,
                              employee_id=emp.id, customer_id=None)
        await service.sign_pledge(session, principal, schemas.PledgeSign(
            pledge_version_id=pv.id, typed_name=emp.name, text_sha256=pv.text_sha256))
    for ob in (await session.scalars(select(Onboarding))).all():
        tasks = (await session.scalars(select(OnboardingTask).where(
            OnboardingTask.onboarding_id == ob.id).order_by(OnboardingTask.sort))).all()
        for task in tasks[:len(tasks) // 2 + 1]:
            task.done_at = utcnow()
    await session.flush()

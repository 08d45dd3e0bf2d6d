"""Demo recruitment: open requisitions in the e-commerce subsidiary with candidates at every
stage (interview feedback, one duplicate applicant), and one hire now in onboarding — all
through the recruitment services, as HR would do it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Grant, Principal
from probity.models import OrgUnit, Position, Role, Tenant, User
from probity.recruitment import schemas, service

# (name, phone, e-mail, source, stage reached, feedback (rating, recommendation, notes))
CANDIDATES: list[tuple[str, str, str | None, str, str, tuple[int, str, str] | None]] = [
    ("许嘉怡", "13651230001", "jiayi.xu@example.com", "BOSS直聘", "offer",
     (5, "hire", "情景题中主动拒绝客户加微信，回答规范")),
    ("潘子豪", "13651230002", None, "内部推荐", "interview",
     (3, "hold", "表达清楚，对退款流程不熟")),
    ("韩雪", "13651230003", "xue.han@example.com", "智联招聘", "screening", None),
    ("邹凯", "13651230004", None, "校园招聘", "applied", None),
    ("曹敏", "13651230005", "min.cao@example.com", "BOSS直聘", "rejected", None),
]


async def seed_recruitment(session: AsyncSession, today: date | None = None) -> None:
    today = today or date.today()
    tenants = {t.code: t for t in (await session.scalars(select(Tenant))).all()}
    ecom = tenants["ECOM"]
    hr_user = await session.scalar(select(User).where(User.username == "hr"))
    assert hr_user is not None
    hr = Principal(user_id=hr_user.id, username="hr", display_name=hr_user.display_name,
                   tenant_id=ecom.id, employee_id=hr_user.employee_id, customer_id=None,
                   grants=[Grant(Role.hr, ecom.id, ecom.path)])
    cs1 = await session.scalar(select(Position.id).where(Position.code == "CS1"))
    teams = (await session.scalars(select(OrgUnit).where(
        OrgUnit.tenant_id == ecom.id, OrgUnit.code.in_(["ECOM-T1", "ECOM-T3"]))
        .order_by(OrgUnit.code))).all()
    assert cs1 is not None and len(teams) == 2
    reqs = [await service.create_requisition(session, hr, schemas.RequisitionCreate(
        tenant_id=ecom.id, position_id=cs1, org_unit_id=team.id, title=title, headcount=n,
        reason=reason)) for team, title, n, reason in (
            (teams[0], "售前客服（双十二扩招）", 3, "大促前扩充售前人手"),
            (teams[1], "售后客服", 1, "人员离职补缺"))]
    for i, (name, phone, email, source, stage, fb) in enumerate(CANDIDATES):
        req = reqs[0] if i < 4 else reqs[1]
        cand, _ = await service.create_candidate(session, hr, schemas.CandidateCreate(
            requisition_id=req.id, name=name, phone=phone, email=email, source=source))
        path = ["screening", "interview", "offer"]
        if stage == "rejected":
            await service.move_candidate(session, hr, cand.id, schemas.StageChange(
                to_stage="rejected", note="期望薪资与岗位不匹配"))
            continue
        for step in path[:path.index(stage) + 1] if stage in path else []:
            await service.move_candidate(session, hr, cand.id,
                                         schemas.StageChange.model_validate({"to_stage": step}))
            if step == "interview" and fb:
                await service.add_feedback(
                    session, hr, cand.id, schemas.FeedbackCreate.model_validate(
                        {"rating": fb[0], "recommendation": fb[1], "notes": fb[2]}))
    # The same person applies to the second requisition too: flagged as a duplicate.
    await service.create_candidate(session, hr, schemas.CandidateCreate(
        requisition_id=reqs[1].id, name="韩雪", phone="+86 136 5123 0003",
        source="前程无忧"))
    # One more candidate goes all the way: hired, now onboarding.
    cand, _ = await service.create_candidate(session, hr, schemas.CandidateCreate(
        requisition_id=reqs[0].id, name="林晓彤", phone="13651230009",
        email="xiaotong.lin@example.com", source="内部推荐"))
    for step in ("screening", "interview"):
        await service.move_candidate(session, hr, cand.id,
                                     schemas.StageChange.model_validate({"to_stage": step}))
    await service.add_feedback(session, hr, cand.id, schemas.FeedbackCreate(
        rating=4, recommendation="hire", notes="有两年电商客服经验"))
    await service.move_candidate(session, hr, cand.id, schemas.StageChange(to_stage="offer"))
    await service.hire_candidate(session, hr, cand.id, schemas.HireRequest(
        employee_no="ECOM-N001", hire_date=today - timedelta(days=80), probation_months=3))

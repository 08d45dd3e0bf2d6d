"""Case studies: a closed case retold for training, with personal data removed (the people
by their part, phones, e-mails, ids and numbers), as a draft that HR reviews, edits and
publishes. Published case studies are shown to every employee of the tenant's subtree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, InvalidInput, NotFound
from probity.i18n import translator
from probity.models import (
    Alert,
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    CaseStudy,
    CaseStudyStatus,
    Customer,
    Employee,
    User,
)
from probity.models.base import utcnow
from probity.models.cases import CaseNote
from probity.training.anonymize import anonymize
from probity.training.service import chain

ROLE_WORDS = {"客服", "组长", "人事", "财务", "合规", "审计", "集团审计", "总部管理员", "客户",
              "HR"}
SEVERITY_ZH = {1: "低", 2: "较低", 3: "中", 4: "高", 5: "严重"}
DECISION_ZH = {"substantiated": "查实", "unsubstantiated": "未查实",
               "false_positive": "误报"}


async def _names(session: AsyncSession, case: Case, user_ids: set[int]) -> dict[str, str]:
    """Every name the case's texts may carry, mapped to the person's part."""
    names: dict[str, str] = {}
    if case.agent_employee_id is not None:
        emp = await session.get(Employee, case.agent_employee_id)
        if emp is not None:
            names[emp.name] = "客服A"
    if case.customer_id is not None:
        cust = await session.get(Customer, case.customer_id)
        if cust is not None:
            names[cust.name] = "客户"
    if user_ids:
        rows = (await session.execute(
            select(User.display_name, User.username, Employee.name)
            .outerjoin(Employee, Employee.id == User.employee_id)
            .where(User.id.in_(sorted(user_ids))))).all()
        for display, username, emp_name in rows:
            # "合规 赵磊 (电商)": the whole display name and the person's own name, never the
            # role words around it (they are not personal, and "客服" must stay readable).
            parts = [p for p in display.split(" ") if p and p not in ROLE_WORDS
                     and not p.startswith(("(", "（"))]
            for n in (display, emp_name, *parts):
                if n and len(n) >= 2:
                    names.setdefault(n, "处理人员")
            names.setdefault(username, "处理人员")
    return names


def build_markdown(case: Case, alerts: list[Alert], notes: list[str], events: list[str],
                   names: dict[str, str]) -> tuple[str, str]:
    """(title, body) of the draft, in Chinese, every free text anonymised."""
    _ = translator("zh_CN")
    cats = sorted({c for a in alerts for c in (a.categories or [a.category])})
    words = "、".join(_(f"category.{c}") for c in cats) or "其他"
    title = f"案例：{words}（{case.created_at:%Y年%m月}）"
    lines = ["## 案情概要", "",
             f"- 违规类别：{words}",
             f"- 严重程度：{SEVERITY_ZH.get(case.severity, str(case.severity))}",
             f"- 结论：{DECISION_ZH.get(case.decision or '', '—')}"]
    if case.penalty:
        lines.append(f"- 处理：{anonymize(case.penalty, names)}")
    lines += ["", "## 对话中的风险信号", ""]
    snippets = [anonymize(a.snippet, names) for a in alerts if a.snippet][:8]
    lines += [f"> {s}" for s in snippets] or ["（无对话记录）"]
    if events:
        lines += ["", "## 处理经过", ""] + [f"{n}. {e}" for n, e in enumerate(events, 1)]
    if notes:
        lines += ["", "## 调查记录", ""] + [f"- {anonymize(n, names)}" for n in notes[:10]]
    lines += ["", "## 启示", "",
              "只通过官方渠道与客户沟通；遇到客户索要联系方式、私下付款或红包，应当拒绝并上报。"]
    return title, "\n".join(lines)


STATUS_ZH = {s.value: s.value for s in CaseStatus} | {
    "new": "立案", "triage": "分诊", "investigating": "调查", "substantiated": "查实",
    "unsubstantiated": "未查实", "false_positive": "误报", "penalty_proposed": "提出处罚",
    "penalty_approved": "批准处罚", "closed": "结案", "appealed": "申诉"}


async def generate(session: AsyncSession, actor: Principal | None, case_id: int
                   ) -> CaseStudy:
    """A draft case study from a closed case the actor may read (422 `unknown_case`
    otherwise; 409 `case_not_closed`, 409 `case_study_exists`)."""
    q = select(Case).where(Case.id == case_id)
    if actor is not None:
        q = q.where(actor.scope(Perm.case_read).filter(Case.tenant_id, Case.org_unit_id))
    case = await session.scalar(q)
    if case is None:
        raise InvalidInput(f"unknown case {case_id}", code="unknown_case",
                           template="Unknown case {id}", params={"id": case_id})
    if case.status != CaseStatus.closed:
        raise Conflict("only a closed case becomes a case study", code="case_not_closed",
                       template="Only a closed case becomes a case study")
    if await session.scalar(select(CaseStudy.id).where(CaseStudy.case_id == case.id)):
        raise Conflict("this case already has a case study", code="case_study_exists",
                       template="This case already has a case study")
    alerts = list((await session.scalars(select(Alert).join(
        CaseAlert, CaseAlert.alert_id == Alert.id).where(CaseAlert.case_id == case.id)
        .order_by(Alert.created_at))).all())
    note_rows = (await session.execute(select(CaseNote.body, CaseNote.author_user_id).where(
        CaseNote.case_id == case.id).order_by(CaseNote.id))).all()
    event_rows = (await session.execute(select(CaseEvent.to_status, CaseEvent.actor_user_id)
                                        .where(CaseEvent.case_id == case.id,
                                               CaseEvent.to_status.is_not(None))
                                        .order_by(CaseEvent.id))).all()
    users = {u for _b, u in note_rows if u} | {u for _s, u in event_rows if u} | {
        u for u in (case.decided_by_user_id, case.assignee_user_id,
                    case.penalty_proposed_by_user_id, case.penalty_approved_by_user_id) if u}
    names = await _names(session, case, users)
    events = [STATUS_ZH.get(s or "", s or "") for s, _u in event_rows]
    title, body = build_markdown(case, alerts, [b for b, _u in note_rows], events, names)
    study = CaseStudy(tenant_id=case.tenant_id, case_id=case.id, title=title[:200],
                      body_md=body, status=CaseStudyStatus.draft,
                      created_by_user_id=actor.user_id if actor else None)
    session.add(study)
    await session.flush()
    record_audit(session, actor, "training.case_study_create", target_type="case_study",
                 target_id=study.id, tenant_id=case.tenant_id, after={"case_id": case.id},
                 actor_name=None if actor else "system")
    return study


async def _study(session: AsyncSession, principal: Principal, study_id: int, perm: Perm
                 ) -> CaseStudy:
    study = await session.scalar(select(CaseStudy).where(
        CaseStudy.id == study_id, principal.scope(perm).filter(CaseStudy.tenant_id)))
    if study is None:
        raise NotFound("case study not found")
    return study


async def get_study(session: AsyncSession, principal: Principal, study_id: int) -> CaseStudy:
    return await _study(session, principal, study_id, Perm.training_read)


async def list_studies(session: AsyncSession, principal: Principal) -> list[CaseStudy]:
    return list((await session.scalars(select(CaseStudy).where(
        principal.scope(Perm.training_read).filter(CaseStudy.tenant_id))
        .order_by(CaseStudy.id.desc()))).all())


async def edit(session: AsyncSession, actor: Principal, study_id: int, title: str | None,
               body_md: str | None) -> CaseStudy:
    study = await _study(session, actor, study_id, Perm.training_manage)
    if study.status != CaseStudyStatus.draft:
        raise Conflict("only a draft can be edited", code="not_draft",
                       template="Only a draft can be edited")
    if title is not None:
        study.title = title
    if body_md is not None:
        study.body_md = body_md
    record_audit(session, actor, "training.case_study_edit", target_type="case_study",
                 target_id=study.id, tenant_id=study.tenant_id,
                 after={"title": study.title})
    await session.flush()
    return study


async def review(session: AsyncSession, actor: Principal, study_id: int, publish: bool
                 ) -> CaseStudy:
    """HR publishes a reviewed draft (or rejects it)."""
    study = await _study(session, actor, study_id, Perm.training_manage)
    if study.status != CaseStudyStatus.draft:
        raise Conflict("this case study has been reviewed already", code="not_draft",
                       template="This case study has been reviewed already")
    study.status = CaseStudyStatus.published if publish else CaseStudyStatus.rejected
    study.reviewed_by_user_id = actor.user_id
    if publish:
        study.published_at = utcnow()
    record_audit(session, actor, f"training.case_study_{'publish' if publish else 'reject'}",
                 target_type="case_study", target_id=study.id, tenant_id=study.tenant_id,
                 after={"status": study.status.value})
    await session.flush()
    return study


async def published_for(session: AsyncSession, tenant_id: int) -> list[CaseStudy]:
    """Published case studies an employee of the tenant reads: its own and its ancestors'
    and its descendants' are not mixed — the tenant's chain only."""
    ids = await chain(session, tenant_id)
    return list((await session.scalars(select(CaseStudy).where(
        CaseStudy.tenant_id.in_(ids), CaseStudy.status == CaseStudyStatus.published)
        .order_by(CaseStudy.published_at.desc()).limit(50))).all())


async def my_study(session: AsyncSession, tenant_id: int, study_id: int) -> CaseStudy:
    for s in await published_for(session, tenant_id):
        if s.id == study_id:
            return s
    raise NotFound("case study not found")


__all__ = ["build_markdown", "edit", "generate", "get_study", "list_studies",
           "my_study", "published_for", "review"]

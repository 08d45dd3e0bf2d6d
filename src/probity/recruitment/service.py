"""Recruitment services: requisitions per position, the candidate pipeline with interview
feedback, duplicate detection by phone or e-mail, résumés by content address, and hiring, which
creates the employee in onboarding through the org service (nothing retyped).

Services take the acting principal, narrow every query to its scope, audit in the same
transaction and flush; they never commit.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, InvalidInput, NotFound
from probity.masking import mask_email, mask_phone
from probity.models import Employee, Position
from probity.models.base import utcnow
from probity.models.recruitment import (
    Candidate,
    CandidateEvent,
    CandidateStage,
    InterviewFeedback,
    Requisition,
    RequisitionStatus,
)
from probity.org import schemas as org_schemas
from probity.org import service as org_service
from probity.recruitment import resumes, schemas

# The pipeline. `hired` only through hire_candidate (it creates the employee); both ends final.
TRANSITIONS: dict[CandidateStage, frozenset[CandidateStage]] = {
    CandidateStage.applied: frozenset({CandidateStage.screening, CandidateStage.rejected}),
    CandidateStage.screening: frozenset({CandidateStage.interview, CandidateStage.rejected}),
    CandidateStage.interview: frozenset({CandidateStage.offer, CandidateStage.rejected}),
    CandidateStage.offer: frozenset({CandidateStage.hired, CandidateStage.rejected}),
    CandidateStage.hired: frozenset(),
    CandidateStage.rejected: frozenset(),
}


def phone_key(phone: str | None) -> str | None:
    """Digits only, without a +86/0086 prefix: '+86 138-0013-8000' and '13800138000' match."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
    return digits or None


def email_key(email: str | None) -> str | None:
    return email.strip().lower() if email else None


# ---------------------------------------------------------------- requisitions


async def create_requisition(session: AsyncSession, actor: Principal,
                             data: schemas.RequisitionCreate) -> Requisition:
    tenant = await org_service.scoped_tenant(session, actor, data.tenant_id,
                                             Perm.recruitment_manage, as_reference=True)
    await org_service._position_for(session, data.position_id, tenant)
    if data.org_unit_id is not None:
        await org_service._unit_in_tenant(session, data.org_unit_id, tenant)
    req = Requisition(**data.model_dump(), opened_by_user_id=actor.user_id)
    session.add(req)
    await session.flush()
    record_audit(session, actor, "requisition.create", target_type="requisition",
                 target_id=req.id, tenant_id=req.tenant_id,
                 after={"position_id": req.position_id, "org_unit_id": req.org_unit_id,
                        "headcount": req.headcount, "title": req.title})
    return req


async def list_requisitions(session: AsyncSession, principal: Principal,
                            status: str | None = None) -> list[Requisition]:
    scope = principal.scope(Perm.recruitment_read)
    q = select(Requisition).where(scope.filter(Requisition.tenant_id, Requisition.org_unit_id))
    if status in {s.value for s in RequisitionStatus}:
        q = q.where(Requisition.status == RequisitionStatus(status))
    return list((await session.scalars(q.order_by(Requisition.id.desc()))).all())


async def get_requisition(session: AsyncSession, principal: Principal, req_id: int,
                          perm: Perm = Perm.recruitment_read) -> Requisition:
    scope = principal.scope(perm)
    req = await session.scalar(select(Requisition).where(
        Requisition.id == req_id, scope.filter(Requisition.tenant_id, Requisition.org_unit_id)))
    if req is None:
        raise NotFound("requisition not found")
    return req


async def close_requisition(session: AsyncSession, actor: Principal, req_id: int
                            ) -> Requisition:
    req = await get_requisition(session, actor, req_id, Perm.recruitment_manage)
    if req.status != RequisitionStatus.open:
        raise Conflict("the requisition is not open", code="requisition_not_open",
                       template="The requisition is not open")
    req.status = RequisitionStatus.closed
    req.updated_at = utcnow()
    record_audit(session, actor, "requisition.close", target_type="requisition",
                 target_id=req.id, tenant_id=req.tenant_id, before={"status": "open"},
                 after={"status": "closed"})
    await session.flush()
    return req


# ---------------------------------------------------------------- candidates


def candidate_read(c: Candidate, viewer: Principal,
                   duplicates: list[schemas.DuplicateRead] | None = None
                   ) -> schemas.CandidateRead:
    """Contacts in full only for those who manage recruitment; interviewers see them masked."""
    full = viewer.can(Perm.recruitment_manage)
    return schemas.CandidateRead(
        id=c.id, tenant_id=c.tenant_id, requisition_id=c.requisition_id, name=c.name,
        phone=c.phone if full else mask_phone(phone_key(c.phone)),
        email=c.email if full else mask_email(c.email), source=c.source, stage=c.stage,
        duplicate_of_id=c.duplicate_of_id, duplicates=duplicates or [],
        resume_sha256=c.resume_sha256, resume_name=c.resume_name, employee_id=c.employee_id,
        created_at=c.created_at)


async def find_duplicates(session: AsyncSession, tenant_id: int, phone: str | None,
                          email: str | None, exclude_id: int | None = None
                          ) -> list[schemas.DuplicateRead]:
    """Earlier candidates and employees of the same tenant with the same phone or e-mail."""
    pk, ek = phone_key(phone), email_key(email)
    if pk is None and ek is None:
        return []
    out: list[schemas.DuplicateRead] = []
    conds: list[ColumnElement[bool]] = []
    if pk:
        conds.append(Candidate.phone_key == pk)
    if ek:
        conds.append(Candidate.email_key == ek)
    q = select(Candidate).where(Candidate.tenant_id == tenant_id, or_(*conds))
    if exclude_id is not None:
        q = q.where(Candidate.id != exclude_id)
    for c in (await session.scalars(q.order_by(Candidate.id))).all():
        out.append(schemas.DuplicateRead(
            kind="candidate", id=c.id, name=c.name,
            match="phone" if pk and c.phone_key == pk else "email",
            requisition_id=c.requisition_id, stage=c.stage.value))
    # Employees: compared in Python on normalised values (stored phones vary in format).
    emp_q = select(Employee).where(Employee.tenant_id == tenant_id)
    emp_conds: list[ColumnElement[bool]] = []
    if pk:
        emp_conds.append(Employee.phone.like(f"%{pk[-4:]}"))
    if ek:
        emp_conds.append(func.lower(Employee.email) == ek)
    for e in (await session.scalars(emp_q.where(or_(*emp_conds)))).all():
        if pk and phone_key(e.phone) == pk:
            out.append(schemas.DuplicateRead(kind="employee", id=e.id, name=e.name,
                                             match="phone"))
        elif ek and email_key(e.email) == ek:
            out.append(schemas.DuplicateRead(kind="employee", id=e.id, name=e.name,
                                             match="email"))
    return out


async def create_candidate(session: AsyncSession, actor: Principal,
                           data: schemas.CandidateCreate
                           ) -> tuple[Candidate, list[schemas.DuplicateRead]]:
    """Add an applicant. The same person applying to the same requisition again is refused
    (409); a match elsewhere (another requisition, an employee) is kept and reported."""
    req = await _requisition_reference(session, actor, data.requisition_id)
    if req.status != RequisitionStatus.open:
        raise Conflict("the requisition is not open", code="requisition_not_open",
                       template="The requisition is not open")
    dups = await find_duplicates(session, req.tenant_id, data.phone, data.email)
    same = [d for d in dups if d.kind == "candidate" and d.requisition_id == req.id]
    if same:
        raise Conflict(f"this person already applied to requisition {req.id}",
                       code="duplicate_candidate", candidate_id=same[0].id,
                       template="This person already applied to this requisition "
                                "(candidate {candidate_id})",
                       params={"candidate_id": same[0].id})
    first = next((d.id for d in dups if d.kind == "candidate"), None)
    cand = Candidate(
        tenant_id=req.tenant_id, requisition_id=req.id, org_unit_id=req.org_unit_id,
        name=data.name, phone=data.phone, email=str(data.email) if data.email else None,
        phone_key=phone_key(data.phone), email_key=email_key(data.email), source=data.source,
        stage=CandidateStage.applied, duplicate_of_id=first)
    session.add(cand)
    await session.flush()
    session.add(CandidateEvent(candidate_id=cand.id, tenant_id=cand.tenant_id, from_stage=None,
                               to_stage=CandidateStage.applied.value, note=data.source,
                               actor_user_id=actor.user_id))
    record_audit(session, actor, "candidate.create", target_type="candidate",
                 target_id=cand.id, tenant_id=cand.tenant_id,
                 after={"requisition_id": req.id, "name": cand.name,
                        "duplicates": [f"{d.kind}:{d.id}" for d in dups]})
    await session.flush()
    return cand, dups


async def _requisition_reference(session: AsyncSession, actor: Principal, req_id: int
                                 ) -> Requisition:
    try:
        return await get_requisition(session, actor, req_id, Perm.recruitment_manage)
    except NotFound:
        raise InvalidInput(f"unknown requisition {req_id}", code="unknown_requisition",
                           template="Unknown requisition {id}", params={"id": req_id}) from None


async def list_candidates(session: AsyncSession, principal: Principal, *,
                          requisition_id: int | None = None, stage: str | None = None
                          ) -> list[Candidate]:
    scope = principal.scope(Perm.recruitment_read)
    q = select(Candidate).where(scope.filter(Candidate.tenant_id, Candidate.org_unit_id))
    if requisition_id is not None:
        q = q.where(Candidate.requisition_id == requisition_id)
    if stage in {s.value for s in CandidateStage}:
        q = q.where(Candidate.stage == CandidateStage(stage))
    return list((await session.scalars(q.order_by(Candidate.id))).all())


async def get_candidate(session: AsyncSession, principal: Principal, cand_id: int,
                        perm: Perm = Perm.recruitment_read) -> Candidate:
    scope = principal.scope(perm)
    cand = await session.scalar(select(Candidate).where(
        Candidate.id == cand_id, scope.filter(Candidate.tenant_id, Candidate.org_unit_id)))
    if cand is None:
        raise NotFound("candidate not found")
    return cand


async def candidate_history(session: AsyncSession, cand: Candidate
                            ) -> tuple[list[CandidateEvent], list[InterviewFeedback]]:
    events = await session.scalars(select(CandidateEvent).where(
        CandidateEvent.candidate_id == cand.id).order_by(CandidateEvent.id))
    feedback = await session.scalars(select(InterviewFeedback).where(
        InterviewFeedback.candidate_id == cand.id).order_by(InterviewFeedback.id))
    return list(events.all()), list(feedback.all())


def _move(session: AsyncSession, actor: Principal, cand: Candidate, to: CandidateStage,
          note: str) -> None:
    if to not in TRANSITIONS[cand.stage]:
        raise Conflict(f"cannot move a candidate from {cand.stage.value} to {to.value}",
                       code="invalid_transition",
                       template="Cannot move a candidate from {from_stage} to {to_stage}",
                       params={"from_stage": cand.stage.value, "to_stage": to.value})
    session.add(CandidateEvent(candidate_id=cand.id, tenant_id=cand.tenant_id,
                               from_stage=cand.stage.value, to_stage=to.value, note=note,
                               actor_user_id=actor.user_id))
    record_audit(session, actor, f"candidate.{to.value}", target_type="candidate",
                 target_id=cand.id, tenant_id=cand.tenant_id,
                 before={"stage": cand.stage.value}, after={"stage": to.value, "note": note})
    cand.stage = to
    cand.updated_at = utcnow()


async def move_candidate(session: AsyncSession, actor: Principal, cand_id: int,
                         data: schemas.StageChange) -> Candidate:
    cand = await get_candidate(session, actor, cand_id, Perm.recruitment_manage)
    to = CandidateStage(data.to_stage)
    if to == CandidateStage.rejected and not data.note:
        raise InvalidInput("a rejection needs a reason", code="reason_required",
                           template="A rejection needs a reason")
    if to == CandidateStage.offer and to in TRANSITIONS[cand.stage]:
        fb = await session.scalar(select(func.count()).where(
            InterviewFeedback.candidate_id == cand.id))
        if not fb:
            raise Conflict("an offer needs interview feedback first", code="no_feedback",
                           template="An offer needs interview feedback first")
    _move(session, actor, cand, to, data.note)
    await session.flush()
    return cand


async def add_feedback(session: AsyncSession, actor: Principal, cand_id: int,
                       data: schemas.FeedbackCreate) -> InterviewFeedback:
    cand = await get_candidate(session, actor, cand_id, Perm.recruitment_interview)
    if cand.stage != CandidateStage.interview:
        raise Conflict("feedback is written while the candidate is at the interview stage",
                       code="not_interviewing",
                       template="Feedback is written while the candidate is at the interview "
                                "stage")
    fb = InterviewFeedback(candidate_id=cand.id, tenant_id=cand.tenant_id,
                           interviewer_user_id=actor.user_id,
                           interviewer_name=actor.display_name, **data.model_dump())
    session.add(fb)
    await session.flush()
    record_audit(session, actor, "candidate.feedback", target_type="candidate",
                 target_id=cand.id, tenant_id=cand.tenant_id,
                 after={"feedback_id": fb.id, "round": fb.round, "rating": fb.rating,
                        "recommendation": fb.recommendation})
    return fb


async def attach_resume(session: AsyncSession, actor: Principal, cand_id: int, data: bytes,
                        filename: str, root: Path) -> Candidate:
    cand = await get_candidate(session, actor, cand_id, Perm.recruitment_manage)
    mime = resumes.sniff_resume(data)
    sha = resumes.store_resume(root, data)
    before = {"resume_sha256": cand.resume_sha256}
    cand.resume_sha256, cand.resume_mime, cand.resume_size = sha, mime, len(data)
    cand.resume_name = Path(filename or "resume").name[:200]
    cand.updated_at = utcnow()
    record_audit(session, actor, "candidate.resume", target_type="candidate", target_id=cand.id,
                 tenant_id=cand.tenant_id, before=before,
                 after={"resume_sha256": sha, "size": len(data), "mime": mime})
    await session.flush()
    return cand


async def resume_file(session: AsyncSession, principal: Principal, cand_id: int, root: Path
                      ) -> tuple[Path, str, str]:
    """(path, mime, download name). A résumé carries contacts: interviewers and HR only."""
    cand = await get_candidate(session, principal, cand_id, Perm.recruitment_interview)
    if not cand.resume_sha256:
        raise NotFound("no résumé attached")
    path = resumes.resume_path(root, cand.resume_sha256)
    if not path.exists():
        raise NotFound("the résumé file is missing")
    return path, cand.resume_mime or "application/octet-stream", cand.resume_name or "resume"


async def hire_candidate(session: AsyncSession, actor: Principal, cand_id: int,
                         data: schemas.HireRequest) -> tuple[Candidate, Employee]:
    """Offer → hired: the employee is created in onboarding by the org service from the
    candidate and the requisition (name, contacts, position, team), onboarding starts, and the
    requisition counts the hire (filled at its headcount)."""
    from probity.onboarding.service import start_onboarding

    cand = await get_candidate(session, actor, cand_id, Perm.recruitment_manage)
    if cand.stage != CandidateStage.offer:
        raise Conflict("only a candidate with an offer can be hired", code="invalid_transition",
                       template="Only a candidate with an offer can be hired")
    req = await session.get(Requisition, cand.requisition_id)
    assert req is not None
    if req.status != RequisitionStatus.open:
        raise Conflict("the requisition is not open", code="requisition_not_open",
                       template="The requisition is not open")
    emp = await org_service.create_employee(session, actor, org_schemas.EmployeeCreate(
        tenant_id=cand.tenant_id, employee_no=data.employee_no, name=cand.name,
        org_unit_id=req.org_unit_id, position_id=req.position_id, manager_id=data.manager_id,
        email=cand.email, phone=cand.phone, hire_date=data.hire_date))
    await start_onboarding(session, actor, emp, candidate_id=cand.id,
                           probation_months=data.probation_months)
    _move(session, actor, cand, CandidateStage.hired, f"employee {emp.employee_no}")
    cand.employee_id = emp.id
    req.hired += 1
    if req.hired >= req.headcount:
        req.status = RequisitionStatus.filled
    req.updated_at = utcnow()
    await session.flush()
    return cand, emp


async def pipeline_counts(session: AsyncSession, principal: Principal
                          ) -> dict[int, dict[str, int]]:
    """Per requisition, candidates per stage (for the list page)."""
    scope = principal.scope(Perm.recruitment_read)
    rows = await session.execute(
        select(Candidate.requisition_id, Candidate.stage, func.count())
        .where(scope.filter(Candidate.tenant_id, Candidate.org_unit_id))
        .group_by(Candidate.requisition_id, Candidate.stage))
    out: dict[int, dict[str, int]] = {}
    for req_id, stage, n in rows.all():
        out.setdefault(req_id, {})[CandidateStage(stage).value] = n
    return out


async def positions_in_reach(session: AsyncSession, principal: Principal) -> list[Position]:
    """Positions a requisition may name: those of the tenants in scope and of their ancestors
    (HQ defines the group-wide ones)."""
    tenants = await org_service.list_tenants(session, principal)
    ids = {int(p) for t in tenants for p in t.path.strip("/").split("/") if p}
    rows = await session.scalars(select(Position).where(Position.tenant_id.in_(ids))
                                 .order_by(Position.tenant_id, Position.code))
    return list(rows.all())

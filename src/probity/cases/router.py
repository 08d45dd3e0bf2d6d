"""JSON API for cases: list, open, group, reports, transitions, assignment, notes, timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import AwareDatetime
from probity.cases import schemas, service
from probity.cases.schemas import AppealIn, OwnReport
from probity.models import Case

router = APIRouter(tags=["cases"])
CaseReader = Annotated[Principal, Depends(require(Perm.case_read))]
CaseManager = Annotated[Principal, Depends(require(Perm.case_manage))]
EvidenceExporter = Annotated[Principal, Depends(require(Perm.evidence_export))]
AgentOnly = Annotated[Principal, Depends(require(Perm.own_cases))]
CustomerOnly = Annotated[Principal, Depends(require(Perm.customer_report))]
STATUS = "^(new|triage|investigating|substantiated|unsubstantiated|false_positive|" \
         "penalty_proposed|penalty_approved|closed|appealed)$"


def case_read(case: Case) -> schemas.CaseRead:
    out = schemas.CaseRead.model_validate(case)
    out.sla = service.sla_view(case)
    return out


@router.get("/api/v1/cases", response_model=list[schemas.CaseRead])
async def list_cases(session: Session, principal: CaseReader,
                     status: Annotated[str | None, Query(pattern=STATUS)] = None,
                     agent_employee_id: int | None = None, customer_id: int | None = None,
                     sla: Annotated[str | None, Query(pattern="^(warning|breached)$")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[schemas.CaseRead]:
    rows = await service.list_cases(session, principal, status=status,
                                    agent_employee_id=agent_employee_id,
                                    customer_id=customer_id, sla=sla, limit=limit, offset=offset)
    return [case_read(c) for c in rows]


@router.get("/api/v1/cases/metrics", response_model=list[dict[str, Any]])
async def metrics(session: Session, principal: CaseReader, since: AwareDatetime | None = None,
                  until: AwareDatetime | None = None) -> list[dict[str, Any]]:
    """Per subsidiary in scope: alerts (by source), cases, substantiation rate (substantiated /
    decided), hours to triage and to decision (median, mean, p90), SLA misses. Default period:
    the last 30 days."""
    from probity.cases.metrics import case_metrics
    from probity.errors import InvalidInput
    from probity.models.base import utcnow

    if (since and since.tzinfo is None) or (until and until.tzinfo is None):
        raise InvalidInput("since/until need a time zone, e.g. 2026-11-01T00:00:00+08:00")
    until = until or utcnow()
    since = since or until - timedelta(days=30)
    return await case_metrics(session, principal, since=since, until=until)


@router.get("/api/v1/cases/sla-warnings", response_model=list[schemas.CaseRead])
async def sla_warnings(session: Session, principal: CaseReader) -> list[schemas.CaseRead]:
    """Cases whose triage or decision clock is close to (warning) or past (breached) its due
    time, breached first."""
    breached = await service.list_cases(session, principal, sla="breached", limit=500)
    warning = await service.list_cases(session, principal, sla="warning", limit=500)
    return [case_read(c) for c in breached + warning]


@router.post("/api/v1/cases/sla-sweep", response_model=list[dict[str, int | str]])
async def sla_sweep(session: Session, principal: CaseManager) -> list[dict[str, int | str]]:
    """Record and notify each new SLA warning or breach in scope (once per clock). Meant to be
    called every few minutes by a scheduler."""
    done = await service.sla_sweep(session, principal)
    await commit(session)
    return [{"case_id": c, "clock": clock, "state": state} for c, clock, state in done]


@router.post("/api/v1/cases", response_model=schemas.CaseRead, status_code=201)
async def open_case(body: schemas.CaseCreate, session: Session, principal: CaseManager
                    ) -> schemas.CaseRead:
    case = await service.open_from_alerts(session, principal, body.alert_ids, body.title)
    await commit(session)
    return case_read(case)


@router.post("/api/v1/cases/group", response_model=schemas.GroupResult)
async def group_alerts(session: Session, principal: CaseManager) -> schemas.GroupResult:
    """Group every alert in scope that is in no case yet (screening alerts arrive this way)."""
    cases = await service.group_pending_alerts(session, principal)
    await commit(session)
    return schemas.GroupResult(cases=sorted(c.id for c in cases))


@router.post("/api/v1/cases/reports", response_model=schemas.ReportResult, status_code=201)
async def report(body: schemas.ReportCreate, session: Session, principal: CaseManager
                 ) -> schemas.ReportResult:
    alert, case = await service.report(
        session, principal, tenant_id=body.tenant_id, source=body.source, text=body.text,
        agent_employee_id=body.agent_employee_id, customer_id=body.customer_id,
        severity=body.severity)
    await commit(session)
    return schemas.ReportResult(alert_id=alert.id, case_id=case.id if case else None)


@router.post("/api/v1/reports/self", response_model=schemas.ReportResult, status_code=201)
async def file_self_report(body: OwnReport, session: Session, principal: AgentOnly
                           ) -> schemas.ReportResult:
    """An agent reports an offer of a red envelope, kickback or side payment (a positive act,
    recorded as an alert of source self_report and grouped into a case)."""
    alert, case = await service.self_report(session, principal, body.text, body.conversation_id)
    await commit(session)
    return schemas.ReportResult(alert_id=alert.id, case_id=case.id if case else None)


@router.post("/api/v1/reports/customer", response_model=schemas.ReportResult, status_code=201)
async def file_customer_report(body: OwnReport, session: Session, principal: CustomerOnly
                               ) -> schemas.ReportResult:
    """A signed-in customer's complaint or report (e.g. an agent asked for a private payment)."""
    alert, case = await service.customer_report(session, principal, body.text,
                                                body.conversation_id)
    await commit(session)
    return schemas.ReportResult(alert_id=alert.id, case_id=case.id if case else None)


@router.get("/api/v1/my-cases", response_model=list[schemas.CaseRead])
async def my_cases(session: Session, principal: AgentOnly) -> list[schemas.CaseRead]:
    """The decided cases about me (the employee), with decision and penalty."""
    return [case_read(c) for c in await service.my_cases(session, principal)]


@router.post("/api/v1/my-cases/{case_id}/appeal", response_model=schemas.CaseRead)
async def appeal(case_id: int, body: AppealIn, session: Session, principal: AgentOnly
                 ) -> schemas.CaseRead:
    """Appeal a closed case about me; someone other than the decider decides the appeal."""
    case = await service.appeal_by_subject(session, principal, case_id, body.reason)
    await commit(session)
    return case_read(case)


@router.get("/api/v1/cases/settings", response_model=schemas.SettingsRead)
async def get_settings(session: Session, principal: CaseReader, tenant_id: int
                       ) -> schemas.SettingsRead:
    p = await service.read_settings(session, principal, tenant_id)
    return schemas.SettingsRead(tenant_id=tenant_id, group_by=p.group_by,
                                window_hours=p.window_hours, triage_hours=p.triage_hours,
                                decision_working_days=p.decision_working_days)


@router.put("/api/v1/cases/settings", response_model=schemas.SettingsRead)
async def put_settings(body: schemas.SettingsUpdate, session: Session, principal: CaseManager
                       ) -> schemas.SettingsRead:
    p = await service.update_settings(session, principal, body.tenant_id,
                                      body.model_dump(exclude={"tenant_id"}))
    await commit(session)
    return schemas.SettingsRead(tenant_id=body.tenant_id, group_by=p.group_by,
                                window_hours=p.window_hours, triage_hours=p.triage_hours,
                                decision_working_days=p.decision_working_days)


@router.get("/api/v1/cases/{case_id}", response_model=schemas.CaseRead)
async def get_case(case_id: int, session: Session, principal: CaseReader) -> schemas.CaseRead:
    return case_read(await service.get_case(session, principal, case_id))


@router.get("/api/v1/cases/{case_id}/alerts", response_model=list[schemas.CaseAlertRead])
async def get_case_alerts(case_id: int, session: Session, principal: CaseReader
                          ) -> list[schemas.CaseAlertRead]:
    case = await service.get_case(session, principal, case_id)
    return [schemas.CaseAlertRead.model_validate(a)
            for a in await service.case_alerts(session, case.id)]


@router.get("/api/v1/cases/{case_id}/events", response_model=list[schemas.EventRead])
async def get_case_events(case_id: int, session: Session, principal: CaseReader
                          ) -> list[schemas.EventRead]:
    case = await service.get_case(session, principal, case_id)
    return [schemas.EventRead.model_validate(e)
            for e in await service.case_events(session, case.id)]


@router.get("/api/v1/cases/{case_id}/notes", response_model=list[schemas.NoteRead])
async def get_case_notes(case_id: int, session: Session, principal: CaseReader
                         ) -> list[schemas.NoteRead]:
    case = await service.get_case(session, principal, case_id)
    return [schemas.NoteRead.model_validate(n)
            for n in await service.case_notes(session, case.id)]


@router.post("/api/v1/cases/{case_id}/notes", response_model=schemas.NoteRead, status_code=201)
async def add_note(case_id: int, body: schemas.NoteCreate, session: Session,
                   principal: CaseManager) -> schemas.NoteRead:
    note = await service.add_note(session, principal, case_id, body.body)
    await commit(session)
    return schemas.NoteRead.model_validate(note)


@router.post("/api/v1/cases/{case_id}/transition", response_model=schemas.CaseRead)
async def transition(case_id: int, body: schemas.TransitionIn, session: Session,
                     principal: CaseManager) -> schemas.CaseRead:
    """Move a case along its workflow. Approving (or rejecting) a proposed penalty also needs
    case.approve and a person other than the proposer; an appeal is decided by someone other
    than the decider."""
    case = await service.transition(session, principal, case_id, body.to, reason=body.reason,
                                    penalty=body.penalty)
    await commit(session)
    return case_read(case)


@router.post("/api/v1/cases/{case_id}/assign", response_model=schemas.CaseRead)
async def assign(case_id: int, body: schemas.AssignIn, session: Session,
                 principal: CaseManager) -> schemas.CaseRead:
    case = await service.assign(session, principal, case_id, body.user_id)
    await commit(session)
    return case_read(case)


@router.post("/api/v1/cases/{case_id}/severity", response_model=schemas.CaseRead)
async def severity(case_id: int, body: schemas.SeverityIn, session: Session,
                   principal: CaseManager) -> schemas.CaseRead:
    case = await service.set_severity(session, principal, case_id, body.severity)
    await commit(session)
    return case_read(case)


@router.get("/api/v1/cases/{case_id}/timeline", response_model=list[schemas.TimelineItem])
async def timeline(case_id: int, session: Session, principal: CaseReader,
                   kinds: Annotated[str | None, Query(max_length=100)] = None,
                   since: AwareDatetime | None = None, until: AwareDatetime | None = None
                   ) -> list[schemas.TimelineItem]:
    """Messages (with screened spans), alerts, orders, payments, refunds, case events and notes
    around the case's agent and customer. `kinds` filters, e.g. `message,payment`; `since` and
    `until` (with a time zone) bound the period."""
    from probity.errors import InvalidInput

    if (since and since.tzinfo is None) or (until and until.tzinfo is None):
        raise InvalidInput("since/until need a time zone, e.g. 2026-11-01T00:00:00+08:00")
    case = await service.get_case(session, principal, case_id)
    items = await service.timeline(session, principal, case, kinds=_kinds(kinds), since=since,
                                   until=until)
    await commit(session)  # the read of conversation content is audited
    return [_item(i) for i in items]


@router.get("/api/v1/cases/{case_id}/evidence-pack", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
async def evidence_pack(case_id: int, request: Request, session: Session,
                        principal: EvidenceExporter,
                        reason: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The case's evidence pack (zip): conversations, alerts with their evidence, payments,
    refunds and compensations, case actions, with ledger proofs — verifiable offline
    (`probity evidence verify`). The export is recorded in the access log (reason: the given
    one, else the case)."""
    from probity.cases.evidence import build_case_pack
    from probity.ledger.access import record_access

    case, conv_ids, data = await build_case_pack(
        session, principal, case_id, attachments_dir=request.app.state.settings.attachments_dir)
    why = reason or f"case #{case.id} evidence pack"
    await record_access(session, principal, "case", case.id, case.tenant_id, why,
                        action="export")
    for cid in conv_ids:
        await record_access(session, principal, "conversation", cid, case.tenant_id, why,
                            action="export")
    await commit(session)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="evidence-case-{case.id}.zip"'})


def _kinds(value: str | None) -> set[str] | None:
    if not value:
        return None
    out = {k.strip() for k in value.split(",") if k.strip() in service.TIMELINE_KINDS}
    return out or None


def _item(i: dict[str, Any]) -> schemas.TimelineItem:
    base = {"at", "kind", "id", "title", "text"}
    return schemas.TimelineItem(at=i["at"], kind=i["kind"], id=i["id"], title=i["title"],
                                text=i.get("text") or "",
                                data={k: v for k, v in i.items() if k not in base})

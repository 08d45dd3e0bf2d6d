"""JSON API for performance: settings, cycles (review, sign-off), KPI templates, penalty
standard, manual scores, scorecards (我的绩效), bonus lists (JSON/CSV/XLSX for payroll), awards,
honour roll, promotion priority and dashboards."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.i18n import translator
from probity.performance import awards, bonus, cycles, scorecards
from probity.performance.errors import fail
from probity.performance.penalties import penalty_settings
from probity.performance.schemas import (
    CycleCreate,
    CycleRead,
    ManualScoreIn,
    PenaltySave,
    PromotionDecisionIn,
    TemplateRead,
    TemplateSave,
)
from probity.performance.scope import get_cycle
from probity.web.render import locale_of

router = APIRouter(prefix="/api/v1", tags=["performance"])
Reader = Annotated[Principal, Depends(require(Perm.performance_read))]
Manager = Annotated[Principal, Depends(require(Perm.performance_manage))]
Reviewer = Annotated[Principal, Depends(require(Perm.performance_review))]
Signer = Annotated[Principal, Depends(require(Perm.performance_signoff))]
P = "/performance"


@router.get(P + "/cycles", response_model=list[CycleRead])
async def list_cycles(session: Session, principal: Reader) -> list[Any]:
    return list(await cycles.list_cycles(session, principal))


@router.post(P + "/cycles", response_model=CycleRead, status_code=201)
async def create_cycle(body: CycleCreate, session: Session, principal: Manager) -> Any:
    cycle = await cycles.create_cycle(session, principal, tenant_id=body.tenant_id,
                                      period=body.period, starts_on=body.starts_on,
                                      name=body.name)
    await commit(session)
    return cycle


@router.get(P + "/cycles/{cycle_id}", response_model=CycleRead)
async def get_cycle_(cycle_id: int, session: Session, principal: Reader) -> Any:
    return await get_cycle(session, principal, cycle_id)


@router.post(P + "/cycles/{cycle_id}/review", response_model=CycleRead)
async def review(cycle_id: int, session: Session, principal: Reviewer) -> Any:
    """The team lead's review (open → review)."""
    cycle = await cycles.review_cycle(session, principal, cycle_id)
    await commit(session)
    return cycle


@router.post(P + "/cycles/{cycle_id}/close", response_model=CycleRead)
async def close(cycle_id: int, session: Session, principal: Signer) -> Any:
    """HR's sign-off (review → closed): scores freeze and are ledgered. 403 `four_eyes` for the
    reviewer, 409 `cycle_closed` for a closed cycle."""
    cycle = await cycles.close_cycle(session, principal, cycle_id)
    await commit(session)
    return cycle


@router.put(P + "/cycles/{cycle_id}/manual-scores", response_model=dict[str, Any])
async def manual_score(cycle_id: int, body: ManualScoreIn, session: Session,
                       principal: Reviewer) -> dict[str, Any]:
    row = await cycles.set_manual_score(session, principal, cycle_id,
                                        employee_id=body.employee_id, indicator=body.indicator,
                                        score=body.score, comment=body.comment)
    await commit(session)
    return {"cycle_id": row.cycle_id, "employee_id": row.employee_id,
            "indicator": row.indicator, "score": row.score, "comment": row.comment}


@router.get(P + "/cycles/{cycle_id}/bonus-list", response_model=list[dict[str, Any]])
async def bonus_list(cycle_id: int, session: Session, principal: Reader
                     ) -> list[dict[str, Any]]:
    """For payroll: per employee the base, each factor, the amount, the adjustment owed for
    earlier cycles, the total and the reason. Frozen once the cycle is closed."""
    return [line.as_json() for line in await bonus.bonus_list(session, principal, cycle_id)]


@router.get(P + "/cycles/{cycle_id}/bonus-list.csv")
async def bonus_list_csv(cycle_id: int, request: Request, session: Session, principal: Reader
                         ) -> Response:
    lines = await bonus.bonus_list(session, principal, cycle_id)
    return Response(bonus.bonus_csv(lines, translator(locale_of(request))),
                    media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="bonus-cycle-{cycle_id}.csv"'})


@router.get(P + "/cycles/{cycle_id}/bonus-list.xlsx")
async def bonus_list_xlsx(cycle_id: int, request: Request, session: Session, principal: Reader
                          ) -> Response:
    lines = await bonus.bonus_list(session, principal, cycle_id)
    xlsx = bonus.bonus_xlsx(lines, f"cycle-{cycle_id}", translator(locale_of(request)))
    return Response(xlsx,
                    media_type="application/vnd.openxmlformats-officedocument."
                               "spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="bonus-cycle-{cycle_id}.xlsx"'})


@router.get(P + "/templates", response_model=list[TemplateRead])
async def list_templates(session: Session, principal: Reader) -> list[Any]:
    return list(await cycles.list_templates(session, principal))


@router.put(P + "/templates", response_model=TemplateRead)
async def save_template(body: TemplateSave, session: Session, principal: Manager) -> Any:
    """Weights are whole percentages summing to 100 (422 `weights_not_100`); the compliance
    weight must lie in HQ's range (422 naming it) and equal the group's (403 `locked_by_hq`)."""
    row = await cycles.save_template(session, principal, tenant_id=body.tenant_id,
                                     position_id=body.position_id, name=body.name,
                                     indicators=[i.model_dump() for i in body.indicators])
    await commit(session)
    return row


@router.get(P + "/penalties", response_model=list[dict[str, Any]])
async def get_penalties(session: Session, principal: Reader, tenant_id: int
                        ) -> list[dict[str, Any]]:
    """The penalty standard in force for a tenant (group standard `penalties`: its own rules,
    else HQ's, else 5 points per violation), with the disciplinary measures per repeat."""
    await cycles.scoped_tenant(session, principal, tenant_id, Perm.performance_read)
    return (await penalty_settings(session, tenant_id)).rows()


@router.put(P + "/penalties", response_model=list[dict[str, Any]])
async def put_penalties(body: PenaltySave, session: Session, principal: Manager
                        ) -> list[dict[str, Any]]:
    await cycles.save_penalties(session, principal, tenant_id=body.tenant_id,
                                rules=[r.model_dump() for r in body.rules])
    await commit(session)
    return (await penalty_settings(session, body.tenant_id)).rows()


@router.get(P + "/scorecards/{employee_id}", response_model=dict[str, Any])
async def scorecard(employee_id: int, session: Session, principal: CurrentPrincipal,
                    cycle_id: int | None = None) -> dict[str, Any]:
    """One employee's scorecard: one's own, or one in the caller's performance.read scope
    (anything else is 404)."""
    return await scorecards.scorecard(session, principal, employee_id, cycle_id)


@router.get("/me/performance", response_model=dict[str, Any])
async def my_performance(session: Session, principal: CurrentPrincipal,
                         cycle_id: int | None = None) -> dict[str, Any]:
    """我的绩效: the signed-in employee's own scorecard (live for an open cycle)."""
    if principal.employee_id is None:
        raise fail("not_found", "no employee record for this account")
    return await scorecards.scorecard(session, principal, principal.employee_id, cycle_id)


@router.get(P + "/awards", response_model=list[dict[str, Any]])
async def list_awards(session: Session, principal: Reader, cycle_id: int | None = None,
                      status: Annotated[str | None, Query(
                          pattern="^(nominated|confirmed|declined)$")] = None
                      ) -> list[dict[str, Any]]:
    rows = await awards.list_awards(session, principal, cycle_id=cycle_id, status=status)
    return [{"id": a.id, "cycle_id": a.cycle_id, "employee_id": a.employee_id,
             "status": a.status.value, "facts": a.facts, "decided_at": a.decided_at}
            for a in rows]


@router.post(P + "/awards/{award_id}/confirm", response_model=dict[str, Any])
async def confirm_award(award_id: int, session: Session, principal: Manager) -> dict[str, Any]:
    a = await awards.decide_award(session, principal, award_id, True)
    await commit(session)
    return {"id": a.id, "status": a.status.value}


@router.post(P + "/awards/{award_id}/decline", response_model=dict[str, Any])
async def decline_award(award_id: int, session: Session, principal: Manager) -> dict[str, Any]:
    a = await awards.decide_award(session, principal, award_id, False)
    await commit(session)
    return {"id": a.id, "status": a.status.value}


@router.get(P + "/honour-roll", response_model=list[dict[str, Any]])
async def honour_roll(session: Session, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Confirmed 合规标兵 of the caller's subsidiary."""
    return await awards.honour_roll(session, principal)


@router.get(P + "/promotions", response_model=list[dict[str, Any]])
async def promotions(session: Session, principal: Manager,
                     as_of: date | None = None) -> list[dict[str, Any]]:
    """HR's promotion review list: each employee's 12-month compliance record; no violation
    ranks first; an open or substantiated case is a hold, with its reason."""
    from probity.performance.promotion import promotion_list

    return [c.as_json() for c in await promotion_list(session, principal, as_of=as_of)]


@router.post(P + "/promotions/{employee_id}/decisions", response_model=dict[str, Any],
             status_code=201)
async def promotion_decision(employee_id: int, body: PromotionDecisionIn, session: Session,
                             principal: Manager) -> dict[str, Any]:
    from probity.performance.promotion import decide

    row = await decide(session, principal, employee_id, body.decision, body.note)
    await commit(session)
    return {"id": row.id, "employee_id": row.employee_id, "decision": row.decision,
            "note": row.note, "record": row.record}


@router.get(P + "/dashboard", response_model=dict[str, Any])
async def dashboard(session: Session, principal: Reader,
                    level: Annotated[str, Query(pattern="^(team|subsidiary|group)$")] = "team",
                    split: date | None = None) -> dict[str, Any]:
    """Per closed cycle and per team / subsidiary / group: violation rate, share of
    bonus-eligible employees, refusal ratio; with `split`, the same before and after that day."""
    from probity.performance.dashboard import dashboard_data

    return await dashboard_data(session, principal, level=level, split=split)

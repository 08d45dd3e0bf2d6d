"""Salary structures per grade, city tables (social insurance, housing fund, minimum wage),
salary assignments per employee and adjustments. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.models import (
    Employee,
    PayrollAdjustment,
    PayrollCity,
    Position,
    SalaryAssignment,
    SalaryStructure,
)
from probity.models.base import utcnow
from probity.payroll import deductions, schemas
from probity.payroll.common import chain, employee_in_scope, fail, refuse_frozen_month
from probity.payroll.compute import INSURANCES, LEGAL_OVERTIME, OVERTIME_KINDS, CityRates
from probity.payroll.tax import CENT

OVERTIME_MINIMUM = {
    "weekday": "Weekday overtime is paid at least {minimum} times the hourly wage "
               "(Labour Law art. 44)",
    "rest_day": "Rest-day overtime is paid at least {minimum} times the hourly wage "
                "(Labour Law art. 44)",
    "holiday": "Holiday overtime is paid at least {minimum} times the hourly wage "
               "(Labour Law art. 44)",
}

# --- structures ------------------------------------------------------------------------------


async def save_structure(session: AsyncSession, principal: Principal,
                         data: schemas.StructureSave) -> SalaryStructure:
    await tenant_in_scope(session, principal, Perm.payroll_prepare, data.tenant_id)
    for kind in OVERTIME_KINDS:
        if getattr(data, f"overtime_{kind}") < LEGAL_OVERTIME[kind]:
            raise fail("invalid", OVERTIME_MINIMUM[kind], code="overtime_below_legal",
                       minimum=str(LEGAL_OVERTIME[kind]), extra={"field": f"overtime_{kind}"})
    codes = [a.code for a in data.allowances]
    if len(set(codes)) != len(codes):
        raise fail("invalid", "Each allowance code once", code="duplicate_allowance",
                   extra={"field": "allowances"})
    row = await session.scalar(select(SalaryStructure).where(
        SalaryStructure.tenant_id == data.tenant_id, SalaryStructure.grade == data.grade))
    allowances = [{"code": a.code, "name": a.name, "amount": str(a.amount.quantize(CENT))}
                  for a in data.allowances]
    values = {"base": data.base, "allowances": allowances,
              "overtime_weekday": data.overtime_weekday,
              "overtime_rest_day": data.overtime_rest_day,
              "overtime_holiday": data.overtime_holiday}
    before = None
    if row is None:
        row = SalaryStructure(tenant_id=data.tenant_id, grade=data.grade, created_at=utcnow(),
                              **values)
        session.add(row)
    else:
        before = {k: (str(getattr(row, k)) if k != "allowances" else row.allowances)
                  for k in values}
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = utcnow()
    await session.flush()
    record_audit(session, principal, "payroll.structure.save", target_type="salary_structure",
                 target_id=row.id, tenant_id=data.tenant_id, before=before,
                 after={"grade": data.grade} | {k: (str(v) if k != "allowances" else v)
                                                for k, v in values.items()})
    return row


async def structures_for(session: AsyncSession, tenant_id: int) -> list[SalaryStructure]:
    """The structures in force for a tenant: for each grade, the nearest tenant's."""
    ids = await chain(session, tenant_id)
    rows = (await session.scalars(select(SalaryStructure).where(
        SalaryStructure.tenant_id.in_(ids)))).all()
    rank = {tid: n for n, tid in enumerate(ids)}
    best: dict[str, SalaryStructure] = {}
    for r in sorted(rows, key=lambda r: rank[r.tenant_id], reverse=True):
        best[r.grade] = r
    return sorted(best.values(), key=lambda r: r.grade)


# --- city tables -----------------------------------------------------------------------------


async def save_city(session: AsyncSession, principal: Principal, data: schemas.CitySave
                    ) -> PayrollCity:
    await tenant_in_scope(session, principal, Perm.payroll_prepare, data.tenant_id)
    if data.si_base_floor > data.si_base_ceiling or data.hf_base_floor > data.hf_base_ceiling:
        raise fail("invalid", "A base floor cannot be above its ceiling",
                   code="floor_above_ceiling")
    values: dict[str, Any] = data.model_dump(exclude={"tenant_id", "city", "si_rates"})
    values["si_rates"] = {k: [str(v[0]), str(v[1])]
                          for k, v in data.si_rates.model_dump().items()}
    row = await session.scalar(select(PayrollCity).where(
        PayrollCity.tenant_id == data.tenant_id, PayrollCity.city == data.city))
    if row is None:
        row = PayrollCity(tenant_id=data.tenant_id, city=data.city, created_at=utcnow(),
                          **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = utcnow()
    await session.flush()
    record_audit(session, principal, "payroll.city.save", target_type="payroll_city",
                 target_id=row.id, tenant_id=data.tenant_id,
                 after={"city": data.city, **{k: str(v) if isinstance(v, Decimal) else v
                                              for k, v in values.items()}})
    return row


async def cities_for(session: AsyncSession, tenant_id: int) -> dict[str, PayrollCity]:
    """City code → the nearest tenant's row."""
    ids = await chain(session, tenant_id)
    rows = (await session.scalars(select(PayrollCity).where(
        PayrollCity.tenant_id.in_(ids)))).all()
    rank = {tid: n for n, tid in enumerate(ids)}
    best: dict[str, PayrollCity] = {}
    for r in sorted(rows, key=lambda r: rank[r.tenant_id], reverse=True):
        best[r.city] = r
    return best


def city_rates(row: PayrollCity) -> CityRates:
    si = {k: (Decimal(str(v[0])), Decimal(str(v[1]))) for k, v in (row.si_rates or {}).items()
          if k in INSURANCES}
    return CityRates(city=row.city, name=row.name, minimum_wage=row.minimum_wage,
                     si_floor=row.si_base_floor, si_ceiling=row.si_base_ceiling,
                     hf_floor=row.hf_base_floor, hf_ceiling=row.hf_base_ceiling, si=si,
                     hf_employee=row.hf_employee_rate, hf_employer=row.hf_employer_rate)


# --- assignments -----------------------------------------------------------------------------


def check_minimum_wage(base: Decimal, city: PayrollCity) -> None:
    """Base pay (allowances such as meals and transport do not count towards the minimum wage)
    below the city's monthly minimum is refused."""
    if base < city.minimum_wage:
        raise fail("invalid", "The base pay {base} is below the minimum wage of {city}: "
                   "{minimum} a month", code="below_minimum_wage", base=str(base),
                   city=city.name, minimum=str(city.minimum_wage),
                   extra={"city": city.city, "minimum_wage": str(city.minimum_wage)})


async def assign_salary(session: AsyncSession, principal: Principal,
                        data: schemas.AssignmentCreate) -> SalaryAssignment:
    emp = await employee_in_scope(session, principal, data.employee_id, Perm.payroll_prepare)
    await refuse_frozen_month(session, emp.tenant_id, data.effective_from)
    cities = await cities_for(session, emp.tenant_id)
    city = cities.get(data.city)
    if city is None:
        raise fail("invalid", "Unknown city {city}: add its social insurance table first",
                   code="unknown_city", city=data.city)
    grade = data.grade
    if grade is None and emp.position_id is not None:
        grade = await session.scalar(select(Position.grade).where(
            Position.id == emp.position_id))
    structure = None
    if grade is not None:
        structure = next((s for s in await structures_for(session, emp.tenant_id)
                          if s.grade == grade), None)
    if data.base is None and structure is None:
        raise fail("invalid", "No salary structure for grade {grade}: give the base pay",
                   code="no_structure", grade=grade or "-")
    base = data.base if data.base is not None else structure.base  # type: ignore[union-attr]
    if data.allowances is not None:
        allowances = [{"code": a.code, "name": a.name, "amount": str(a.amount.quantize(CENT))}
                      for a in data.allowances]
    else:
        allowances = list(structure.allowances) if structure is not None else []
    check_minimum_wage(base, city)
    additional, items = data.additional_deduction, None
    if data.additional_items is not None:
        items = [i.model_dump(mode="json", exclude_none=True) for i in data.additional_items]
        try:
            deductions.check(items)
        except deductions.DeductionError as exc:
            raise fail("invalid", deductions.MESSAGES[exc.code], code="additional_" + exc.code,
                       extra={"field": "additional_items"}) from None
        recurring = [i for i in items if i["category"] != "continuing_education_certificate"]
        additional = deductions.monthly(recurring, data.effective_from)[0]
    total = sum((Decimal(str(a["amount"])) for a in allowances), Decimal("0.00"))
    row = await session.scalar(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp.id,
        SalaryAssignment.effective_from == data.effective_from))
    values: dict[str, Any] = {
        "tenant_id": emp.tenant_id, "grade": grade, "base": base, "allowances": allowances,
        "allowances_total": total, "city": city.city,
        "additional_deduction": additional, "additional_items": items or [],
        "bank_name": data.bank_name,
        "bank_account": data.bank_account, "created_by_user_id": principal.user_id}
    if row is None:
        row = SalaryAssignment(employee_id=emp.id, effective_from=data.effective_from,
                               created_at=utcnow(), **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    await session.flush()
    record_audit(session, principal, "payroll.assignment.save", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id,
                 after={"effective_from": data.effective_from.isoformat(), "grade": grade,
                        "base": str(base), "allowances_total": str(total), "city": city.city,
                        "additional_deduction": str(additional),
                        "additional_items": items or []})
    return row


async def assignments_of(session: AsyncSession, principal: Principal, employee_id: int
                         ) -> Sequence[SalaryAssignment]:
    emp = await employee_in_scope(session, principal, employee_id, Perm.payroll_read,
                                  body=False)
    return (await session.scalars(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp.id)
        .order_by(SalaryAssignment.effective_from))).all()


# --- adjustments -----------------------------------------------------------------------------


async def add_adjustment(session: AsyncSession, principal: Principal,
                         data: schemas.AdjustmentCreate) -> PayrollAdjustment:
    """A one-off amount in an open month; a closed month is corrected in a later one."""
    emp: Employee = await employee_in_scope(session, principal, data.employee_id,
                                            Perm.payroll_prepare)
    await refuse_frozen_month(session, emp.tenant_id, data.month)
    if data.corrects_month is not None and data.corrects_month >= data.month:
        raise fail("invalid", "A correction goes into a month after the one it corrects",
                   code="correction_not_later")
    if data.annual_bonus:
        await _one_annual_bonus_a_year(session, emp.id, data)
    row = PayrollAdjustment(tenant_id=emp.tenant_id, employee_id=emp.id, month=data.month,
                            amount=data.amount, reason=data.reason,
                            annual_bonus=data.annual_bonus,
                            corrects_month=data.corrects_month,
                            created_by_user_id=principal.user_id, created_at=utcnow())
    session.add(row)
    await session.flush()
    record_audit(session, principal, "payroll.adjustment.add", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id,
                 after={"month": data.month.isoformat(), "amount": str(data.amount),
                        "reason": data.reason, "annual_bonus": data.annual_bonus})
    return row


async def _one_annual_bonus_a_year(session: AsyncSession, employee_id: int,
                                   data: schemas.AdjustmentCreate) -> None:
    """The separate computation applies once a tax year per taxpayer (财政部 税务总局公告
    2023年第30号 art. 1); a positive amount only."""
    if data.amount <= 0:
        raise fail("invalid", "A year-end one-off bonus is a positive amount",
                   code="annual_bonus_negative", extra={"field": "amount"})
    year = data.month.year
    if await session.scalar(select(PayrollAdjustment.id).where(
            PayrollAdjustment.employee_id == employee_id, PayrollAdjustment.annual_bonus,
            PayrollAdjustment.month >= date(year, 1, 1),
            PayrollAdjustment.month < date(year + 1, 1, 1)).limit(1)):
        raise fail("conflict", "This employee already has a year-end one-off bonus in {year}: "
                   "it is taxed on its own once a year", code="annual_bonus_twice",
                   year=str(year), extra={"field": "annual_bonus"})

"""Performance settings per tenant: the compliance weight (HQ's, locked), the bonus rule
(lockable by HQ), the 合规标兵 rule and the service targets.

This module is the one seam to the group-settings mechanism: everything else calls
`effective_settings()` and `update_settings()`. Until probity.governance lands, values live in
`performance_settings` (an overlay per tenant, inherited HQ → subsidiary → region; a field an
ancestor locks cannot be changed below it: 403 `locked_by_hq`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Forbidden, InvalidInput
from probity.models import PerformanceSetting, Tenant, TenantKind
from probity.models.base import utcnow

# The range HQ may set the compliance weight in (percent of the KPI total).
COMPLIANCE_WEIGHT_RANGE = (15, 25)
# Set at HQ only, for the whole group.
HQ_ONLY = frozenset({"compliance_weight"})
# The bonus rule: HQ may lock these for its subtree.
LOCKABLE = frozenset({"bonus_threshold", "bonus_rate", "bonus_base_by_grade",
                      "default_bonus_base", "star_max_violations", "star_min_refusals",
                      "star_min_csat"})
DEFAULT_BASES = {"P1": "3000.00", "P2": "4000.00", "P3": "5000.00", "M1": "6000.00",
                 "M2": "8000.00"}


@dataclass(frozen=True)
class PerformanceSettings:
    compliance_weight: int = 20
    # Bonus rule: a compliance score ≥ threshold earns rate × the performance-bonus base.
    bonus_threshold: int = 90
    bonus_rate: Decimal = Decimal("0.10")
    bonus_base_by_grade: dict[str, Decimal] = field(
        default_factory=lambda: {k: Decimal(v) for k, v in DEFAULT_BASES.items()})
    default_bonus_base: Decimal = Decimal("3000.00")
    # 合规标兵 nomination rule.
    star_max_violations: int = 0
    star_min_refusals: int = 1
    star_min_csat: float = 4.5
    # Service indicator target: a first response within this many seconds scores 100.
    first_response_target_s: int = 60
    locked: frozenset[str] = frozenset()

    def bonus_base(self, grade: str | None) -> Decimal:
        if grade and grade in self.bonus_base_by_grade:
            return self.bonus_base_by_grade[grade]
        return self.default_bonus_base

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["bonus_rate"] = str(self.bonus_rate)
        out["default_bonus_base"] = str(self.default_bonus_base)
        out["bonus_base_by_grade"] = {k: str(v) for k, v in self.bonus_base_by_grade.items()}
        out["locked"] = sorted(self.locked)
        out["compliance_weight_range"] = list(COMPLIANCE_WEIGHT_RANGE)
        return out


FIELDS = frozenset(f for f in PerformanceSettings.__dataclass_fields__ if f != "locked")


def _money(value: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{name} must be an amount", code="invalid_amount") from None
    if amount < 0 or amount > Decimal("10000000") or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"{name} must be 0 … 10,000,000 with at most 2 decimals",
                           code="invalid_amount")
    return amount


def check_compliance_weight(weight: Any) -> int:
    low, high = COMPLIANCE_WEIGHT_RANGE
    if not isinstance(weight, int) or isinstance(weight, bool) or not low <= weight <= high:
        raise InvalidInput(f"the compliance weight must be between {low}% and {high}% "
                           f"(set by HQ)", code="compliance_weight_out_of_range",
                           range=[low, high])
    return weight


def _coerce(name: str, value: Any) -> Any:
    """A validated, typed value for one field (422 otherwise)."""
    if name == "compliance_weight":
        return check_compliance_weight(value)
    if name in ("bonus_threshold",):
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise InvalidInput("bonus_threshold must be an integer 0 … 100")
        return value
    if name in ("star_max_violations", "star_min_refusals"):
        if not isinstance(value, int) or not 0 <= value <= 1000:
            raise InvalidInput(f"{name} must be an integer 0 … 1000")
        return value
    if name == "first_response_target_s":
        if not isinstance(value, int) or not 1 <= value <= 86400:
            raise InvalidInput("first_response_target_s must be 1 … 86400 seconds")
        return value
    if name == "star_min_csat":
        if not isinstance(value, int | float) or not 1 <= float(value) <= 5:
            raise InvalidInput("star_min_csat must be 1 … 5")
        return float(value)
    if name == "bonus_rate":
        rate = _money(value, name) if not isinstance(value, float) else Decimal(str(value))
        if not Decimal("0") <= rate <= Decimal("1"):
            raise InvalidInput("bonus_rate must be 0 … 1 (e.g. 0.10 for 10%)")
        return rate
    if name == "default_bonus_base":
        return _money(value, name)
    if name == "bonus_base_by_grade":
        if not isinstance(value, dict) or not all(isinstance(k, str) and 0 < len(k) <= 16
                                                  for k in value):
            raise InvalidInput("bonus_base_by_grade maps grades (e.g. P1) to amounts")
        return {k: _money(v, f"bonus_base_by_grade.{k}") for k, v in value.items()}
    raise InvalidInput(f"unknown setting {name!r}", code="unknown_setting")


async def _chain(session: AsyncSession, tenant_id: int) -> list[Tenant]:
    """The tenant and its ancestors, HQ first."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    ids = [int(p) for p in tenant.path.strip("/").split("/") if p]
    rows = {t.id: t for t in (await session.scalars(select(Tenant).where(Tenant.id.in_(ids))))}
    return [rows[i] for i in ids if i in rows]


async def effective_settings(session: AsyncSession, tenant_id: int) -> PerformanceSettings:
    """The settings that apply to a tenant: HQ's overlay, then each level down; a field locked
    above cannot be overridden below."""
    chain = await _chain(session, tenant_id)
    overlays = {r.tenant_id: r for r in (await session.scalars(select(PerformanceSetting).where(
        PerformanceSetting.tenant_id.in_([t.id for t in chain]))))}
    values: dict[str, Any] = {}
    locked: set[str] = set()
    for depth, tenant in enumerate(chain):
        row = overlays.get(tenant.id)
        if row is None:
            continue
        for name, value in (row.values or {}).items():
            if name not in FIELDS or name in locked or (name in HQ_ONLY and depth > 0):
                continue
            values[name] = _coerce(name, value)
        if depth < len(chain) - 1:
            locked |= set(row.locked or []) & LOCKABLE
        else:
            own_locks = set(row.locked or []) & LOCKABLE
            locked |= own_locks if tenant.kind == TenantKind.hq else set()
    return replace(PerformanceSettings(), **values, locked=frozenset(locked | HQ_ONLY))


async def locked_above(session: AsyncSession, tenant_id: int) -> set[str]:
    """Fields a tenant may not change: HQ-only ones below HQ, and those an ancestor locks."""
    chain = await _chain(session, tenant_id)
    if not chain:
        return set()
    out: set[str] = set(HQ_ONLY) if chain[-1].kind != TenantKind.hq else set()
    rows = (await session.scalars(select(PerformanceSetting).where(
        PerformanceSetting.tenant_id.in_([t.id for t in chain[:-1]])))).all()
    for row in rows:
        out |= set(row.locked or []) & LOCKABLE
    return out


async def update_settings(session: AsyncSession, principal: Principal, tenant_id: int,
                          changes: dict[str, Any], lock: list[str] | None = None
                          ) -> PerformanceSettings:
    tenant = await session.scalar(select(Tenant).where(
        Tenant.id == tenant_id, principal.scope(Perm.performance_manage).tenant_ids_query()))
    if tenant is None:
        raise InvalidInput("unknown or out-of-scope tenant", code="unknown_tenant")
    blocked = await locked_above(session, tenant_id)
    refused = sorted(set(changes) & blocked)
    if refused:
        raise Forbidden(f"locked by HQ: {', '.join(refused)}", code="locked_by_hq",
                        fields=refused)
    typed = {name: _coerce(name, value) for name, value in changes.items()}
    if lock is not None:
        if tenant.kind != TenantKind.hq:
            raise Forbidden("only HQ locks settings for the group", code="locked_by_hq")
        unknown = sorted(set(lock) - LOCKABLE)
        if unknown:
            raise InvalidInput(f"not lockable: {', '.join(unknown)}", code="not_lockable")
    row = await session.get(PerformanceSetting, tenant_id)
    if row is None:
        row = PerformanceSetting(tenant_id=tenant_id, values={}, locked=[])
        session.add(row)
    before = {"values": dict(row.values or {}), "locked": list(row.locked or [])}
    values = dict(row.values or {})
    for name, value in typed.items():
        if isinstance(value, Decimal):
            values[name] = str(value)
        elif isinstance(value, dict):
            values[name] = {k: str(v) for k, v in value.items()}
        else:
            values[name] = value
    row.values = values
    if lock is not None:
        row.locked = sorted(set(lock))
    row.updated_at = utcnow()
    record_audit(session, principal, "performance.settings", target_type="tenant",
                 target_id=tenant_id, tenant_id=tenant_id, before=before,
                 after={"values": values, "locked": list(row.locked or [])})
    await session.flush()
    return await effective_settings(session, tenant_id)

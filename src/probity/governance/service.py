"""Group standards: effective settings with origin and lock, changes, previews, rollbacks.

Every section (see `registry.py`) is stored per tenant as append-only versions of what that
tenant itself sets (`settings_versions`): its own values and the fields it locks below it. The
effective settings of a tenant resolve its chain HQ → subsidiary → region (`resolve.py`). A
change is validated (types, ranges, the section's own rules, for the tenant and for every tenant
below it), refused on a field an ancestor locked (403), audited and ledgered in the caller's
transaction; caches are dropped and listeners told after commit.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, overload

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.deps import after_commit
from probity.auth.permissions import Principal
from probity.errors import Forbidden, InvalidInput, NotFound
from probity.governance.registry import S, SectionSpec, SettingsSection, get_section
from probity.governance.resolve import Layer, Resolved, locked_fields, resolve
from probity.ledger.service import append_entry
from probity.models import SettingsVersion, Tenant

CACHE_S = 5.0
Origin = Literal["default", "inherited", "own"]


class SettingLocked(Forbidden):
    code = "setting_locked"


@dataclass(frozen=True)
class TenantRef:
    id: int
    code: str
    name: str
    is_hq: bool


@dataclass(frozen=True)
class FieldState:
    name: str
    title: str  # English msgid
    value: Any
    origin: Origin
    origin_tenant: TenantRef | None  # whose value holds (None: the built-in default)
    locked_by: TenantRef | None  # the ancestor whose lock freezes it here, if any
    locks_below: bool  # this tenant locks it for every tenant below

    @property
    def locked(self) -> bool:
        return self.locked_by is not None


@dataclass(frozen=True)
class EffectiveSettings(Generic[S]):
    tenant: TenantRef
    section: str
    values: S  # the typed section with the effective values
    fields: dict[str, FieldState]
    own_version: int  # this tenant's latest version of the section (0: none yet)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any
    before_origin: TenantRef | None
    after_origin: TenantRef | None
    locked_before: bool
    locked_after: bool


@dataclass(frozen=True)
class TenantDiff:
    tenant: TenantRef
    changes: list[FieldChange]


# -- loading ---------------------------------------------------------------------------------


def _ids_of(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def _ref(t: Tenant) -> TenantRef:
    return TenantRef(t.id, t.code, t.name, t.parent_id is None)


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


async def _latest(session: AsyncSession, section: str, tenant_ids: Iterable[int]
                  ) -> dict[int, SettingsVersion]:
    ids = list(set(tenant_ids))
    latest = (select(SettingsVersion.tenant_id, func.max(SettingsVersion.version).label("v"))
              .where(SettingsVersion.section == section, SettingsVersion.tenant_id.in_(ids))
              .group_by(SettingsVersion.tenant_id).subquery())
    rows = (await session.scalars(select(SettingsVersion).join(
        latest, (SettingsVersion.tenant_id == latest.c.tenant_id)
        & (SettingsVersion.version == latest.c.v))
        .where(SettingsVersion.section == section))).all()
    return {r.tenant_id: r for r in rows}


def _layer(tenant_id: int, row: SettingsVersion | None, spec: SectionSpec) -> Layer:
    if row is None:
        return Layer(tenant_id)
    known = spec.model.model_fields
    # Fields a newer schema dropped are ignored rather than refused.
    return Layer(tenant_id, {k: v for k, v in row.values.items() if k in known},
                 frozenset(f for f in row.locks if f in known))


@dataclass
class _Tree:
    """The tenants and layers needed to resolve a section for one tenant (and its subtree)."""

    spec: SectionSpec
    tenants: dict[int, Tenant]
    layers: dict[int, Layer]
    rows: dict[int, SettingsVersion]

    def chain(self, tenant: Tenant) -> list[Layer]:
        return [self.layers.get(t, Layer(t)) for t in _ids_of(tenant.path)]

    def ref(self, tenant_id: int | None) -> TenantRef | None:
        return None if tenant_id is None else _ref(self.tenants[tenant_id])


async def _load_tree(session: AsyncSession, spec: SectionSpec, tenant: Tenant,
                     subtree: bool) -> _Tree:
    ids = _ids_of(tenant.path)
    tenants = {t.id: t for t in (await session.scalars(
        select(Tenant).where(Tenant.id.in_(ids)))).all()}
    if subtree:
        below = (await session.scalars(select(Tenant).where(
            Tenant.path.startswith(tenant.path, autoescape=True)))).all()
        tenants.update({t.id: t for t in below})
    rows = await _latest(session, spec.name, tenants)
    layers = {tid: _layer(tid, row, spec) for tid, row in rows.items()}
    return _Tree(spec, tenants, layers, rows)


# -- resolving -------------------------------------------------------------------------------


def _typed(spec: SectionSpec, resolved: dict[str, Resolved]) -> tuple[SettingsSection, set[str]]:
    """The typed section; a stored value the current schema refuses falls back to the default
    (returned in the set) instead of breaking every read."""
    values = {k: r.value for k, r in resolved.items()}
    dropped: set[str] = set()
    defaults = spec.defaults()
    for _ in range(len(values) + 1):
        try:
            return spec.model.model_validate(values), dropped
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} - dropped
            if not bad:
                break
            for name in bad:
                values[name] = defaults[name]
            dropped |= bad
    return spec.model(), set(values)


def _effective(tree: _Tree, tenant: Tenant) -> EffectiveSettings[Any]:
    spec = tree.spec
    chain = tree.chain(tenant)
    resolved = resolve(spec.defaults(), chain)
    typed, dropped = _typed(spec, resolved)
    own_locks = chain[-1].locks
    fields: dict[str, FieldState] = {}
    for name, r in resolved.items():
        origin_id = None if name in dropped else r.origin_tenant_id
        origin: Origin = ("default" if origin_id is None
                          else "own" if origin_id == tenant.id else "inherited")
        fields[name] = FieldState(
            name=name, title=spec.field_title(name), value=getattr(typed, name), origin=origin,
            origin_tenant=tree.ref(origin_id), locked_by=tree.ref(r.locked_by),
            locks_below=name in own_locks)
    row = tree.rows.get(tenant.id)
    return EffectiveSettings(tenant=_ref(tenant), section=spec.name, values=typed,
                             fields=fields, own_version=row.version if row else 0)


_cache: dict[tuple[int, str], tuple[float, EffectiveSettings[Any]]] = {}
_listeners: dict[str, list[Callable[[int], Awaitable[None]]]] = {}


@overload
async def effective_settings(session: AsyncSession, tenant_id: int, section: type[S]
                             ) -> EffectiveSettings[S]: ...
@overload
async def effective_settings(session: AsyncSession, tenant_id: int, section: str
                             ) -> EffectiveSettings[Any]: ...
async def effective_settings(session: AsyncSession, tenant_id: int,
                             section: str | type[SettingsSection]) -> EffectiveSettings[Any]:
    """The tenant's effective section: typed values, and per field its origin and lock.

    No access check (callers inside the product, e.g. a payroll run, read any tenant's
    standards); endpoints use `read_settings`, which checks scope first."""
    spec = get_section(section)
    tenant = await _tenant(session, tenant_id)
    return _effective(await _load_tree(session, spec, tenant, subtree=False), tenant)


async def settings_values(session: AsyncSession, tenant_id: int, section: type[S]) -> S:
    """Only the typed values, cached for CACHE_S seconds per tenant and section (hot paths:
    the chat send path, page rendering). A change made in this process drops the cache after
    commit; other processes see it within CACHE_S."""
    spec = get_section(section)
    key = (tenant_id, spec.name)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_S:
        return hit[1].values  # type: ignore[no-any-return]
    eff = await effective_settings(session, tenant_id, section)
    _cache[key] = (now, eff)
    return eff.values


def on_settings_change(section: str, listener: Callable[[int], Awaitable[None]]) -> None:
    """Call `listener(tenant_id)` after a committed change of `section` (descendants are
    affected too: a listener that caches per tenant should drop its whole cache)."""
    _listeners.setdefault(section, []).append(listener)


def reset_cache() -> None:
    """Drop every per-process cache of settings (tests; a rolled-back change)."""
    from probity.governance import notices

    _cache.clear()
    notices.reset()


# -- access ----------------------------------------------------------------------------------


async def _in_scope(session: AsyncSession, actor: Principal | None, tenant_id: int,
                    perm: Any) -> Tenant:
    tenant = await _tenant(session, tenant_id)
    if actor is not None:
        if not actor.can(perm):
            raise Forbidden(f"your roles do not grant {perm.value}")
        if not actor.scope(perm).covers_path(tenant.path):
            raise NotFound("tenant not found")
    return tenant


async def read_settings(session: AsyncSession, actor: Principal, tenant_id: int,
                        section: str) -> EffectiveSettings[Any]:
    spec = get_section(section)
    tenant = await _in_scope(session, actor, tenant_id, spec.read)
    return _effective(await _load_tree(session, spec, tenant, subtree=False), tenant)


async def settings_history(session: AsyncSession, actor: Principal, tenant_id: int,
                           section: str) -> list[SettingsVersion]:
    spec = get_section(section)
    await _in_scope(session, actor, tenant_id, spec.read)
    q = select(SettingsVersion).where(SettingsVersion.tenant_id == tenant_id,
                                      SettingsVersion.section == spec.name)
    return list((await session.scalars(q.order_by(SettingsVersion.version.desc()))).all())


# -- changing --------------------------------------------------------------------------------


def locked_error(spec: SectionSpec, name: str, locker: Tenant) -> SettingLocked:
    field = f"{spec.name}.{name}"
    if locker.parent_id is None:
        return SettingLocked(f"{field} is locked by HQ", template="{field} is locked by HQ",
                             params={"field": field}, field=field, locked_by=locker.id)
    return SettingLocked(f"{field} is locked by {locker.name}",
                         template="{field} is locked by {tenant}",
                         params={"field": field, "tenant": locker.name}, field=field,
                         locked_by=locker.id)


# pydantic error type → an English msgid with parameters from the error's context
_ERROR_TEMPLATES = {
    "greater_than_equal": "{field}: must be at least {ge}",
    "greater_than": "{field}: must be more than {gt}",
    "less_than_equal": "{field}: must be at most {le}",
    "less_than": "{field}: must be less than {lt}",
    "literal_error": "{field}: must be one of {expected}",
    "string_too_short": "{field}: too short",
    "string_too_long": "{field}: too long (at most {max_length} characters)",
    "too_long": "{field}: too many items",
}
_TYPE_ERRORS = ("int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
                "bool_parsing", "bool_type", "string_type", "list_type", "dict_type",
                "decimal_parsing", "decimal_type")


def _invalid(spec: SectionSpec, exc: ValidationError, tenant: Tenant | None = None
             ) -> InvalidInput:
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else ""
    field = f"{spec.name}.{name}" if name else spec.name
    msg = str(err["msg"])
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    template = _ERROR_TEMPLATES.get(err["type"])
    if err["type"] in _TYPE_ERRORS:
        template = "{field}: wrong type of value"
    params: dict[str, object] = {"field": field, "msg": msg, **ctx}
    if template is None:
        template = "{field}: invalid value ({msg})"
    if tenant is not None:
        template = "{field}: the change makes it invalid for {tenant}, which inherits it ({msg})"
        params["tenant"] = tenant.name
        return InvalidInput(f"{field}: {msg} (for {tenant.name}, which inherits it)",
                            code="invalid_setting", template=template, params=params,
                            field=field, tenant_id=tenant.id)
    return InvalidInput(f"{field}: {msg}", code="invalid_setting", template=template,
                        params=params, field=field)


@dataclass
class _Plan:
    spec: SectionSpec
    tenant: Tenant
    tree: _Tree
    values: dict[str, Any]
    locks: list[str]
    before: SettingsVersion | None


def _unknown(spec: SectionSpec, names: Iterable[str]) -> None:
    for name in names:
        if name not in spec.model.model_fields:
            field = f"{spec.name}.{name}"
            raise InvalidInput(f"{field}: no such setting", code="unknown_setting",
                               template="{field}: no such setting", params={"field": field},
                               field=field)


async def _plan(session: AsyncSession, actor: Principal | None, tenant_id: int,
                section: str | type[SettingsSection], values: Mapping[str, Any],
                locks: Mapping[str, bool], clear: Iterable[str], replace: bool) -> _Plan:
    spec = get_section(section)
    tenant = await _in_scope(session, actor, tenant_id, spec.manage)
    clear = list(clear)
    _unknown(spec, [*values, *locks, *clear])
    if spec.locks_only and (values or clear):
        raise InvalidInput(f"{spec.name}: only locks are set here; the values are edited on "
                           f"{spec.page}", code="locks_only",
                           template="{section}: only locks are set here",
                           params={"section": spec.name})
    tree = await _load_tree(session, spec, tenant, subtree=True)
    chain = tree.chain(tenant)
    own = chain[-1]
    if replace:
        new_values = dict(values)
        new_locks = {n for n, on in locks.items() if on}
        touched = ({n for n in {*own.values, *new_values}
                    if own.values.get(n, _MISSING) != new_values.get(n, _MISSING)}
                   | (own.locks ^ new_locks))
    else:
        new_values = {**own.values, **values}
        for name in clear:
            new_values.pop(name, None)
        new_locks = (set(own.locks) | {n for n, on in locks.items() if on}) - {
            n for n, on in locks.items() if not on}
        touched = {*values, *clear, *locks}
    frozen = locked_fields(chain)
    for name in sorted(touched):
        if name in frozen:
            raise locked_error(spec, name, tree.tenants[frozen[name]])
    # Validate the tenant's resulting effective values (naming the field), normalise what is
    # stored to its JSON form, then check every tenant below still resolves to valid values.
    new_layer = Layer(tenant.id, new_values, frozenset(new_locks))
    tree.layers[tenant.id] = new_layer
    resolved = resolve(spec.defaults(), tree.chain(tenant))
    try:
        typed = spec.model.model_validate({k: r.value for k, r in resolved.items()})
    except ValidationError as exc:
        raise _invalid(spec, exc) from exc
    dumped = typed.model_dump(mode="json")
    frozen_here = locked_fields(tree.chain(tenant))
    # A stale own value under an ancestor's lock is kept as it was (the lock hides it).
    stored = {k: new_values[k] if k in frozen_here else dumped[k] for k in sorted(new_values)}
    tree.layers[tenant.id] = Layer(tenant.id, stored, frozenset(new_locks))
    for other in tree.tenants.values():
        if other.id == tenant.id or not other.path.startswith(tenant.path):
            continue
        try:
            spec.model.model_validate({k: r.value for k, r in resolve(
                spec.defaults(), tree.chain(other)).items()})
        except ValidationError as exc:
            raise _invalid(spec, exc, other) from exc
    return _Plan(spec, tenant, tree, stored, sorted(new_locks), tree.rows.get(tenant.id))


_MISSING = object()


async def preview_change(session: AsyncSession, actor: Principal | None, tenant_id: int,
                         section: str | type[SettingsSection],
                         values: Mapping[str, Any] | None = None,
                         locks: Mapping[str, bool] | None = None, *,
                         clear: Iterable[str] = ()) -> list[TenantDiff]:
    """What a change would do to the tenant and every tenant below it, field by field (nothing
    is written). Raises exactly what `change_settings` would raise."""
    plan = await _plan(session, actor, tenant_id, section, values or {}, locks or {}, clear,
                       replace=False)
    return _diff(session, plan, await _load_tree(session, plan.spec, plan.tenant, subtree=True))


def _diff(session: AsyncSession, plan: _Plan, old: _Tree) -> list[TenantDiff]:
    out: list[TenantDiff] = []
    subtree = sorted((t for t in plan.tree.tenants.values()
                      if t.path.startswith(plan.tenant.path)), key=lambda t: t.path)
    for t in subtree:
        before, after = _effective(old, t), _effective(plan.tree, t)
        changes = [
            FieldChange(name, b.value, a.value, b.origin_tenant, a.origin_tenant, b.locked,
                        a.locked)
            for name in plan.spec.fields
            for b, a in [(before.fields[name], after.fields[name])]
            if b.value != a.value or b.locked != a.locked
            or b.origin_tenant != a.origin_tenant
        ]
        if changes:
            out.append(TenantDiff(_ref(t), changes))
    return out


async def change_settings(session: AsyncSession, actor: Principal | None, tenant_id: int,
                          section: str | type[SettingsSection],
                          values: Mapping[str, Any] | None = None,
                          locks: Mapping[str, bool] | None = None, reason: str = "", *,
                          clear: Iterable[str] = (), actor_name: str | None = None
                          ) -> SettingsVersion:
    """Store a new version of what `tenant_id` sets in `section`.

    values: fields to set (validated; 422 `invalid_setting` naming the field); clear: fields to
    stop overriding (inherit again); locks: field → True to lock it for every tenant below,
    False to unlock. A field an ancestor locked → 403 `setting_locked` ("… is locked by HQ").
    `actor` None is the system (demo, CLI; `actor_name` names it). Flushes, never commits."""
    return await _store(session, actor, await _plan(
        session, actor, tenant_id, section, values or {}, locks or {}, clear, replace=False),
        reason, None, actor_name)


async def rollback_settings(session: AsyncSession, actor: Principal | None, tenant_id: int,
                            section: str, version: int, reason: str) -> SettingsVersion:
    """A new version equal to an older one (history is never rewritten)."""
    spec = get_section(section)
    await _in_scope(session, actor, tenant_id, spec.manage)
    old = await session.scalar(select(SettingsVersion).where(
        SettingsVersion.tenant_id == tenant_id, SettingsVersion.section == spec.name,
        SettingsVersion.version == version))
    if old is None:
        raise NotFound(f"no version {version} of {spec.name}", code="unknown_version")
    known = spec.model.model_fields
    plan = await _plan(session, actor, tenant_id, section,
                       {k: v for k, v in old.values.items() if k in known},
                       {f: True for f in old.locks if f in known}, (), replace=True)
    return await _store(session, actor, plan, reason, version, None)


async def _store(session: AsyncSession, actor: Principal | None, plan: _Plan, reason: str,
                 rollback_of: int | None, actor_name: str | None) -> SettingsVersion:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required for every change of group standards",
                           code="reason_required",
                           template="a reason is required for every change of group standards")
    if len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters", code="invalid_input")
    before = plan.before
    if before is not None and before.values == plan.values and sorted(before.locks) == plan.locks:
        raise InvalidInput("nothing changes", code="no_change", template="nothing changes")
    if before is None and not plan.values and not plan.locks:
        raise InvalidInput("nothing changes", code="no_change", template="nothing changes")
    spec, tenant = plan.spec, plan.tenant
    row = SettingsVersion(
        tenant_id=tenant.id, section=spec.name, version=(before.version if before else 0) + 1,
        values=plan.values, locks=plan.locks, reason=reason, rollback_of=rollback_of,
        created_by_user_id=actor.user_id if actor else None,
        created_by_name=actor.username if actor else (actor_name or "system"))
    session.add(row)
    await session.flush()
    old = {"version": before.version if before else 0,
           "values": before.values if before else {}, "locks": before.locks if before else []}
    new = {"version": row.version, "values": row.values, "locks": row.locks, "reason": reason,
           "rollback_of": rollback_of}
    record_audit(session, actor, "settings.rollback" if rollback_of else "settings.change",
                 target_type="settings", target_id=f"{spec.name}:{row.version}",
                 tenant_id=tenant.id, before=old, after=new, actor_name=row.created_by_name)
    await append_entry(session, tenant.id, "settings.change",
                       {"section": spec.name, **new, "settings_version_id": row.id})

    async def announce() -> None:
        _cache.clear()
        for listener in _listeners.get(spec.name, []):
            await listener(tenant.id)

    after_commit(session, announce)
    return row


def version_changes(prev: SettingsVersion | None, row: SettingsVersion
                    ) -> list[tuple[str, str, Any, Any]]:
    """What one version changed against the one before: (field, kind, before, after) with kind
    "value" (None: not set, i.e. inherited), "lock" (before/after: locked or not)."""
    old_values = prev.values if prev else {}
    old_locks = set(prev.locks) if prev else set()
    out: list[tuple[str, str, Any, Any]] = []
    for name in sorted({*old_values, *row.values}):
        if old_values.get(name, _MISSING) != row.values.get(name, _MISSING):
            out.append((name, "value", old_values.get(name), row.values.get(name)))
    for name in sorted(old_locks ^ set(row.locks)):
        out.append((name, "lock", name in old_locks, name in row.locks))
    return out


async def section_locks(session: AsyncSession, section: str, tenant_ids: Iterable[int]
                        ) -> dict[int, tuple[int, frozenset[str]]]:
    """Per tenant: (the id of its latest version of `section`, the fields it locks below).
    For domains that keep a section's values themselves (`locks_only`)."""
    spec = get_section(section)
    rows = await _latest(session, spec.name, tenant_ids)
    return {tid: (row.id, _layer(tid, row, spec).locks) for tid, row in rows.items()}

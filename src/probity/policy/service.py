"""Tenant screening policies: versioned overlays inherited down the group tree.

The effective policy of a tenant is the built-in policy, then each ancestor's latest overlay
from HQ down, then the tenant's own. Lists (terms, allow-lists) accumulate; thresholds and
actions may only get stricter on the way down. Every change is a new append-only version,
audited and ledgered (`policy.change`), and hot-reloaded by the screeners after commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.deps import after_commit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import InvalidInput, NotFound
from probity.governance.service import on_settings_change
from probity.ledger.service import append_entry
from probity.models import Tenant, TenantPolicy
from probity.policy.schemas import PolicyOverlay, PolicyUpdate
from probity.screening import LexiconEntry, PolicyError, PolicySpec, default_policy_spec

ACTION_RANK = {"allow": 0, "warn": 1, "block": 2}


# The overlay's parts HQ (or any ancestor) can lock: group standards section "screening".
LOCKABLE = ("lexicon", "allow_terms", "allow_numbers", "allow_qr", "allow_domains",
            "thresholds", "actions")


@dataclass(frozen=True)
class PolicyChain:
    tenant_id: int
    versions: tuple[TenantPolicy, ...]  # HQ first
    path: tuple[int, ...] = ()  # the tenant's ancestors and itself, HQ first
    # (tenant id, settings version id, parts it locks below), HQ first
    locks: tuple[tuple[int, int, frozenset[str]], ...] = ()

    @property
    def key(self) -> tuple[int, ...]:
        """Identifies the effective policy: the ids of the overlay versions applied (and,
        negated, of the lock versions, which change what applies)."""
        return (*(v.id for v in self.versions), *(-lock[1] for lock in self.locks))

    def locked_above(self, tenant_id: int) -> dict[str, int]:
        """Part → the topmost tenant above `tenant_id` in this chain that locks it."""
        pos = {t: i for i, t in enumerate(self.path)}
        limit = pos.get(tenant_id, 0)
        out: dict[str, int] = {}
        for tid, _version, parts in self.locks:
            if pos.get(tid, limit) < limit:
                for part in parts:
                    out.setdefault(part, tid)
        return out

    @property
    def version(self) -> int:
        # Row ids only grow, so the largest one changes whenever any overlay in the chain does.
        return max(self.key, default=0)


def ancestor_ids(tenant: Tenant) -> list[int]:
    return [int(p) for p in tenant.path.strip("/").split("/") if p]


async def policy_chain(session: AsyncSession, tenant_id: int) -> PolicyChain:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    ids = ancestor_ids(tenant)
    latest = (select(TenantPolicy.tenant_id, func.max(TenantPolicy.version).label("v"))
              .where(TenantPolicy.tenant_id.in_(ids)).group_by(TenantPolicy.tenant_id)
              .subquery())
    rows = (await session.scalars(select(TenantPolicy).join(
        latest, (TenantPolicy.tenant_id == latest.c.tenant_id)
        & (TenantPolicy.version == latest.c.v)))).all()
    by_tenant = {r.tenant_id: r for r in rows}
    from probity.governance.service import section_locks

    locks = await section_locks(session, "screening", ids)
    return PolicyChain(tenant_id, tuple(by_tenant[t] for t in ids if t in by_tenant),
                       tuple(ids), tuple((t, *locks[t]) for t in ids if t in locks))


def _stricter_or_equal(parent: PolicySpec, overlay: PolicyOverlay) -> None:
    if overlay.thresholds is not None:
        t = overlay.thresholds
        if t.warn > parent.thresholds["warn"] or t.block > parent.thresholds["block"]:
            raise InvalidInput(
                "thresholds may only be stricter than the inherited ones "
                f"(warn ≤ {parent.thresholds['warn']}, block ≤ {parent.thresholds['block']})",
                code="policy_looser_than_parent")
        if t.warn > t.block:
            raise InvalidInput("the warn threshold cannot be above the block threshold",
                               code="invalid_policy")
    for role, per_cat in (overlay.actions or {}).items():
        for cat, action in per_cat.items():
            inherited = parent.actions.get(role, {}).get(cat, "block")
            if ACTION_RANK[action] < ACTION_RANK[inherited]:
                raise InvalidInput(
                    f"actions.{role}.{cat}: '{action}' is looser than the inherited "
                    f"'{inherited}'", code="policy_looser_than_parent")


def apply_overlay(spec: PolicySpec, overlay: PolicyOverlay) -> PolicySpec:
    """The spec with one overlay applied (a new object; `spec` is not changed)."""
    _stricter_or_equal(spec, overlay)
    data = spec.to_dict()
    data["lexicon"] = [*data["lexicon"], *(
        LexiconEntry(term=t.term, category=t.category, severity=t.severity,
                     phonetic=t.phonetic, pinned=True).to_dict() for t in overlay.lexicon)]
    for key in ("allow_terms", "allow_numbers", "allow_qr", "allow_domains"):
        data[key] = [*data[key], *getattr(overlay, key)]
    if overlay.thresholds is not None:
        data["thresholds"] = overlay.thresholds.model_dump()
    for role, per_cat in (overlay.actions or {}).items():
        data["actions"].setdefault(role, {}).update(per_cat)
    return PolicySpec.from_dict(data)


def _without_locked(overlay: PolicyOverlay, parts: Iterable[str]) -> PolicyOverlay:
    """The overlay with the parts an ancestor locked emptied (what a tenant below had added
    there no longer applies while the lock holds)."""
    empty = PolicyOverlay()
    return overlay.model_copy(update={p: getattr(empty, p) for p in parts})


def effective_spec(chain: PolicyChain, base: PolicySpec | None = None) -> PolicySpec:
    spec = base or default_policy_spec()
    for version in chain.versions:
        overlay = PolicyOverlay.model_validate(version.overlay)
        locked = chain.locked_above(version.tenant_id)
        if locked:
            overlay = _without_locked(overlay, locked)
        spec = apply_overlay(spec, overlay)
    spec.version = chain.version
    return spec


async def get_effective(session: AsyncSession, principal: Principal, tenant_id: int
                        ) -> tuple[PolicyChain, PolicySpec]:
    await tenant_in_scope(session, principal, Perm.policy_read, tenant_id, body=False)
    chain = await policy_chain(session, tenant_id)
    return chain, effective_spec(chain)


async def list_versions(session: AsyncSession, principal: Principal, tenant_id: int
                        ) -> list[TenantPolicy]:
    await tenant_in_scope(session, principal, Perm.policy_read, tenant_id, body=False)
    q = select(TenantPolicy).where(TenantPolicy.tenant_id == tenant_id)
    return list((await session.scalars(q.order_by(TenantPolicy.version.desc()))).all())


async def _check_locks(session: AsyncSession, chain: PolicyChain, tenant_id: int,
                       overlay: PolicyOverlay) -> None:
    """403 `setting_locked` when the new overlay changes a part an ancestor locked (group
    standards, section "screening"), on top of which "stricter only" still holds."""
    locked = chain.locked_above(tenant_id)
    if not locked:
        return
    own = next((v for v in chain.versions if v.tenant_id == tenant_id), None)
    before = PolicyOverlay.model_validate(own.overlay if own else {}).model_dump(mode="json")
    after = overlay.model_dump(mode="json")
    for part in LOCKABLE:
        if part in locked and before[part] != after[part]:
            locker = await session.get(Tenant, locked[part])
            assert locker is not None
            from probity.governance.registry import get_section
            from probity.governance.service import locked_error

            raise locked_error(get_section("screening"), part, locker)


async def check_overlay(session: AsyncSession, actor: Principal | None, tenant_id: int,
                        overlay: PolicyOverlay) -> PolicyChain:
    """Scope, HQ locks (403) and "stricter only" (422) for a candidate overlay of `tenant_id`;
    returns the tenant's current chain. Compiling is left to the caller (CPU, ~1 s)."""
    if actor is not None:
        await tenant_in_scope(session, actor, Perm.policy_manage, tenant_id, body=False)
    parents = await policy_chain(session, tenant_id)
    await _check_locks(session, parents, tenant_id, overlay)
    candidate_spec(parents, tenant_id, overlay)  # raises policy_looser_than_parent
    return parents


def candidate_spec(chain: PolicyChain, tenant_id: int, overlay: PolicyOverlay) -> PolicySpec:
    """The effective spec of `chain`'s tenant if `tenant_id` (itself or an ancestor) stored
    `overlay` instead of its current version (overlays below it stay as they are)."""
    pos = {t: i for i, t in enumerate(chain.path)}
    layers = [(v.tenant_id, PolicyOverlay.model_validate(v.overlay)) for v in chain.versions
              if v.tenant_id != tenant_id]
    layers.append((tenant_id, overlay))
    layers.sort(key=lambda layer: pos.get(layer[0], -1))
    spec = default_policy_spec()
    for tid, layer in layers:
        locked = chain.locked_above(tid)
        spec = apply_overlay(spec, _without_locked(layer, locked) if locked else layer)
    return spec


def overlay_hash(overlay: PolicyOverlay) -> str:
    return _overlay_hash(overlay.model_dump(mode="json", exclude_none=True))


def _overlay_hash(overlay: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(overlay, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


async def set_policy(session: AsyncSession, actor: Principal, tenant_id: int,
                     data: PolicyUpdate) -> TenantPolicy:
    """Store a new version of the tenant's overlay after checking that it compiles and does not
    loosen what it inherits. Audited and ledgered in the caller's transaction; screeners reload
    after commit."""
    from probity.screening import compile_policy

    overlay = PolicyOverlay.model_validate(data.model_dump(
        exclude={"note", "replay_id", "override_reason"}))
    parents = await check_overlay(session, actor, tenant_id, overlay)
    try:
        compile_policy(candidate_spec(parents, tenant_id, overlay))
    except PolicyError as exc:
        raise InvalidInput(f"the policy does not compile: {exc}", code="invalid_policy") from exc
    from probity.governance.replays import check_published_replay

    gate = await check_published_replay(session, tenant_id, overlay_hash(overlay), parents,
                                        data.replay_id, data.override_reason)
    current = await session.scalar(select(func.max(TenantPolicy.version))
                                   .where(TenantPolicy.tenant_id == tenant_id))
    stored = overlay.model_dump(mode="json", exclude_none=True)
    row = TenantPolicy(tenant_id=tenant_id, version=(current or 0) + 1, overlay=stored,
                       note=data.note, created_by_user_id=actor.user_id)
    session.add(row)
    await session.flush()
    summary = {"version": row.version, "policy_id": row.id, "overlay_sha256": _overlay_hash(stored),
               "terms": len(overlay.lexicon), "note": data.note, **gate}
    record_audit(session, actor, "policy.change", target_type="tenant_policy", target_id=row.id,
                 tenant_id=tenant_id, before={"version": current}, after=summary)
    await append_entry(session, tenant_id, "policy.change", {**summary, "overlay": stored})

    async def announce() -> None:
        from probity.policy.registry import policy_changed

        await policy_changed(tenant_id)

    after_commit(session, announce)
    return row


async def _locks_changed(tenant_id: int) -> None:
    from probity.policy.registry import policy_changed

    await policy_changed(tenant_id)


on_settings_change("screening", _locks_changed)

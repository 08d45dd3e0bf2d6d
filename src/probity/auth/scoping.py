"""The one place that decides whether an object lies inside a caller's scope.

`permissions.py` says which role grants which permission; this module turns a principal's scope
for a permission into answers about tenants, teams and other users. Every domain asks here
instead of writing its own "is this tenant mine" helper, so the rule (a subtree by materialised
path, or a single team) is written once.

Conventions: an id in a request *path* that is missing or out of scope is 404 (`NotFound`), like
a missing object; an id in a request *body* is 422 `unknown_*` (`InvalidInput`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import ROLE_PERMISSIONS, Grant, Perm, Principal, Scope
from probity.errors import InvalidInput, NotFound
from probity.models import OrgUnit, Tenant

__all__ = [
    "DELEGABLE",
    "MAX_ID",
    "covers_grant",
    "may_administer",
    "may_grant",
    "tenant_in_scope",
    "tenants_in_scope",
]

# Permissions a user administrator may hand out without holding them: line management (HR
# appoints team leads, who move conversations between their agents, review their scores and
# work the QA sample of their conversations)
# and the permissions
# that act only on the holder's own work and records (answering chats, one's own cases and
# payee accounts, a customer's report). None of them reaches anyone else's data.
DELEGABLE = frozenset({Perm.chat_reassign, Perm.performance_review, Perm.qa_review,
                       Perm.chat_answer,
                       Perm.own_cases, Perm.own_accounts, Perm.customer_report,
                       Perm.attendance_self, Perm.training_self})
# Ids are 32-bit on PostgreSQL: a larger one names nothing (and must not reach the driver).
MAX_ID = 2**31 - 1


async def tenant_in_scope(
    session: AsyncSession, principal: Principal, perm: Perm, tenant_id: int, *,
    body: bool = True, teams: bool = False,
) -> Tenant:
    """The tenant, when *perm* reaches it. A body id outside the scope is 422 ``unknown_tenant``,
    a path id (``body=False``) is 404. With ``teams`` a grant over one of the tenant's teams is
    enough (e.g. a team lead reads the tenant that holds their team)."""
    scope = principal.scope(perm)
    tenant = await session.get(Tenant, tenant_id) if 0 < tenant_id <= MAX_ID else None
    ok = tenant is not None and (
        scope.covers_path(tenant.path)
        or (teams and bool(scope.org_unit_ids) and bool(await session.scalar(
            select(func.count()).where(OrgUnit.tenant_id == tenant.id,
                                       OrgUnit.id.in_(scope.org_unit_ids))))))
    if not ok or tenant is None:
        if body:
            raise InvalidInput(f"unknown tenant {tenant_id}", code="unknown_tenant")
        raise NotFound("no such tenant")
    return tenant


async def tenants_in_scope(session: AsyncSession, principal: Principal, perm: Perm
                           ) -> list[Tenant]:
    """Every tenant whose whole subtree *perm* reaches, in id order."""
    scope = principal.scope(perm)
    return list((await session.scalars(
        select(Tenant).where(scope.tenant_ids_query()).order_by(Tenant.id))).all())


def covers_grant(scope: Scope, grant: Grant) -> bool:
    """Whether *scope* reaches everything *grant* reaches."""
    if grant.org_unit_id is not None and grant.org_unit_id in scope.org_unit_ids:
        return True
    return scope.covers_path(grant.tenant_path)


def may_grant(actor: Principal, grant: Grant) -> bool:
    """An administrator hands out a role over a scope only when they hold user administration
    and every permission of the role (line management aside) over that whole scope: nobody
    makes anyone more privileged than themselves."""
    needed = (ROLE_PERMISSIONS[grant.role] - DELEGABLE) | {Perm.user_admin}
    return all(covers_grant(actor.scope(p), grant) for p in needed)


def may_administer(actor: Principal, home_tenant_path: str, grants: Iterable[Grant]) -> bool:
    """Whether *actor* may act on another account (mint or revoke its tokens): its home tenant
    lies in the actor's user-administration scope and the actor could have granted each of
    its roles. Everyone may act on their own account."""
    if not actor.scope(Perm.user_admin).covers_path(home_tenant_path):
        return False
    return all(may_grant(actor, g) for g in grants)

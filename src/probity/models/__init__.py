"""All ORM models, one module per domain. Importing this package registers every table."""

from probity.models.audit import AuditEntry
from probity.models.auth import ApiToken, Role, RoleAssignment, User
from probity.models.base import Base
from probity.models.commerce import Customer, Order, OrderStatus, Payment, PaymentMethod
from probity.models.org import (
    Employee,
    EmploymentEvent,
    EmploymentStatus,
    OrgUnit,
    OrgUnitKind,
    Position,
    Tenant,
    TenantKind,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Customer",
    "Employee",
    "EmploymentEvent",
    "EmploymentStatus",
    "Order",
    "OrderStatus",
    "OrgUnit",
    "OrgUnitKind",
    "Payment",
    "PaymentMethod",
    "Position",
    "Role",
    "RoleAssignment",
    "Tenant",
    "TenantKind",
    "User",
]

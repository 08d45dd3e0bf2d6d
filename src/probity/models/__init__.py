"""All ORM models, one module per domain. Importing this package registers every table."""

from probity.models.alerts import Alert
from probity.models.audit import AuditEntry
from probity.models.auth import ApiToken, Role, RoleAssignment, User
from probity.models.base import Base
from probity.models.chat import (
    AgentStatus,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
    Transfer,
)
from probity.models.commerce import (
    Customer,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    Refund,
)
from probity.models.ledger import LedgerCheckpoint, LedgerEntry
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
from probity.models.records import (
    AccessEntry,
    LedgerVerification,
    LegalHold,
    RetentionRule,
)

__all__ = [
    "AccessEntry",
    "AgentStatus",
    "Alert",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Conversation",
    "ConversationStatus",
    "Customer",
    "Employee",
    "EmploymentEvent",
    "EmploymentStatus",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerVerification",
    "LegalHold",
    "Message",
    "MessageKind",
    "Order",
    "OrderStatus",
    "OrgUnit",
    "OrgUnitKind",
    "Payment",
    "PaymentMethod",
    "Position",
    "Refund",
    "RetentionRule",
    "Role",
    "RoleAssignment",
    "Tenant",
    "TenantKind",
    "Transfer",
    "User",
]

"""All ORM models, one module per domain. Importing this package registers every table."""

from probity.models.alerts import Alert
from probity.models.audit import AuditEntry
from probity.models.auth import ApiToken, Role, RoleAssignment, User
from probity.models.base import Base
from probity.models.cases import (
    Case,
    CaseAlert,
    CaseEvent,
    CaseNote,
    CaseSettings,
    CaseStatus,
    Notification,
    NotificationRule,
)
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
from probity.models.finance import ImportBatch, PayeeAccount, PayeeKind, RuleSetting
from probity.models.governance import PolicyReplay, SettingsVersion
from probity.models.jobs import Job
from probity.models.ledger import LedgerCheckpoint, LedgerEntry
from probity.models.onboarding import (
    ChecklistItem,
    Onboarding,
    OnboardingTask,
    PledgeSignature,
    PledgeVersion,
)
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
from probity.models.performance import (
    AppraisalCycle,
    Award,
    AwardStatus,
    CycleStatus,
    KpiTemplate,
    ManualScore,
    PenaltyStandard,
    PerformanceLine,
    PerformanceScore,
    PromotionDecision,
)
from probity.models.policy import TenantPolicy
from probity.models.records import (
    AccessEntry,
    LedgerVerification,
    LegalHold,
    RetentionRule,
)
from probity.models.recruitment import (
    Candidate,
    CandidateEvent,
    CandidateStage,
    InterviewFeedback,
    Requisition,
    RequisitionStatus,
)
from probity.models.screening import Refusal, ScreeningLabel

__all__ = [
    "AccessEntry",
    "AgentStatus",
    "Alert",
    "ApiToken",
    "AppraisalCycle",
    "AuditEntry",
    "Award",
    "AwardStatus",
    "Base",
    "Candidate",
    "CandidateEvent",
    "CandidateStage",
    "Case",
    "CaseAlert",
    "CaseEvent",
    "CaseNote",
    "CaseSettings",
    "CaseStatus",
    "ChecklistItem",
    "Conversation",
    "ConversationStatus",
    "Customer",
    "CycleStatus",
    "Employee",
    "EmploymentEvent",
    "EmploymentStatus",
    "ImportBatch",
    "InterviewFeedback",
    "Job",
    "KpiTemplate",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerVerification",
    "LegalHold",
    "ManualScore",
    "Message",
    "MessageKind",
    "Notification",
    "NotificationRule",
    "Onboarding",
    "OnboardingTask",
    "Order",
    "OrderStatus",
    "OrgUnit",
    "OrgUnitKind",
    "PayeeAccount",
    "PayeeKind",
    "Payment",
    "PaymentMethod",
    "PenaltyStandard",
    "PerformanceLine",
    "PerformanceScore",
    "PledgeSignature",
    "PledgeVersion",
    "PolicyReplay",
    "Position",
    "PromotionDecision",
    "Refund",
    "Refusal",
    "Requisition",
    "RequisitionStatus",
    "RetentionRule",
    "Role",
    "RoleAssignment",
    "RuleSetting",
    "ScreeningLabel",
    "SettingsVersion",
    "Tenant",
    "TenantKind",
    "TenantPolicy",
    "Transfer",
    "User",
]

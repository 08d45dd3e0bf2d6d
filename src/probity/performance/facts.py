"""Facts for scoring, read from what the system already records: substantiated case decisions
about the agent (screening names each case's subject), self-reports, refusals (one row per offer
episode, written by screening), customers' offers in chat, conversations (CSAT, first response,
resolution). Batched queries for a whole cycle, the same ones narrowed to one employee for a
live scorecard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Alert, Case, CaseAlert, Conversation, ConversationStatus, Message
from probity.models.screening import Refusal
from probity.performance.scoring import ServiceFacts, Violation

# Categories that make a customer's message an offer, and an agent's message a violation.
OFFER_CATEGORIES = frozenset({"bribe", "payment", "contact"})
TYPE_PRIORITY = ("bribe", "payment", "contact")
# Sources through which a violation was uncovered by someone other than the agent.
UNCOVERED_BY_OTHERS = frozenset({"finance", "customer_report"})
# A flagged message, written with a literal so that SQLite and PostgreSQL can match it to the
# partial indexes `WHERE decision <> 'allow'` (a bound parameter proves nothing to a planner).
FLAGGED = Message.decision != literal_column("'allow'")


@dataclass
class EvidenceRef:
    kind: str  # refusal | rebuffed | self_report | rating
    conversation_id: int | None = None
    message_id: int | None = None
    alert_id: int | None = None
    value: int | None = None


@dataclass
class CaseFact:
    case_id: int
    title: str
    decided_at: datetime | None
    violation: Violation


@dataclass
class AgentFacts:
    cases: list[CaseFact] = field(default_factory=list)
    refusals: list[EvidenceRef] = field(default_factory=list)
    rebuffed: list[EvidenceRef] = field(default_factory=list)
    self_reports: list[EvidenceRef] = field(default_factory=list)
    ratings: list[EvidenceRef] = field(default_factory=list)
    offers: int = 0
    conversations: int = 0
    resolved: int = 0
    first_response_sum_s: float = 0.0
    first_response_count: int = 0

    @property
    def violations(self) -> list[Violation]:
        return [c.violation for c in self.cases]

    @property
    def service(self) -> ServiceFacts:
        return ServiceFacts(
            conversations=self.conversations, resolved=self.resolved,
            csat_sum=sum(r.value or 0 for r in self.ratings), csat_count=len(self.ratings),
            first_response_sum_s=self.first_response_sum_s,
            first_response_count=self.first_response_count)


@dataclass(frozen=True)
class AlertView:
    source: str
    subject: str  # agent | customer (screening's attribution)
    category: str
    categories: tuple[str, ...]


def case_subject(case_subject_column: str | None, alerts: Sequence[AlertView]) -> str:
    """Whom a case is about: the case's own `subject` (set by screening's attribution), and
    `customer` too when every alert is about the customer. The one place it is decided: a
    customer's violation never costs the agent points."""
    if case_subject_column == "customer":
        return "customer"
    if alerts and all(a.subject == "customer" for a in alerts):
        return "customer"
    return "agent"


def violation_type(alerts: Sequence[AlertView]) -> str:
    cats: set[str] = set()
    for a in alerts:
        if a.subject == "customer":
            continue  # the customer's words do not say what the agent did
        cats.add(a.category)
        cats.update(a.categories)
    for vtype in TYPE_PRIORITY:
        if vtype in cats:
            return vtype
    return "other"


async def case_alert_views(session: AsyncSession, case_id: int) -> list[AlertView]:
    """The alerts of one case, as the scoring reads them."""
    rows = await session.execute(
        select(Alert.source, Alert.subject, Alert.category, Alert.categories)
        .join(CaseAlert, CaseAlert.alert_id == Alert.id).where(CaseAlert.case_id == case_id))
    return [AlertView(src, subj, cat, tuple(cats or ())) for src, subj, cat, cats in rows]


def concealed(alerts: Sequence[AlertView], self_reported: bool = False) -> bool:
    """Uncovered by finance or a customer report, and not self-reported by the agent."""
    sources = {a.source for a in alerts}
    return (bool(sources & UNCOVERED_BY_OTHERS) and "self_report" not in sources
            and not self_reported)


def _who(tenant_col: Any, employee_col: Any, tenant_ids: Sequence[int],
         employee_ids: Sequence[int] | None) -> Any:
    """Narrow by the employees when given (their index; an employee's rows are in their own
    tenant), else by the cycle's tenants: never both, so the planner cannot pick the tenant
    index and scan every row of the subsidiary for one agent's scorecard."""
    if employee_ids is not None:
        return employee_col.in_(employee_ids)
    return tenant_col.in_(tenant_ids)


def _case_filter(tenant_ids: Sequence[int], employee_ids: Sequence[int] | None,
                 start: datetime, end: datetime) -> list[Any]:
    return [_who(Case.tenant_id, Case.agent_employee_id, tenant_ids, employee_ids),
            Case.decision == "substantiated", Case.decided_at >= start, Case.decided_at < end,
            Case.agent_employee_id.is_not(None)]


async def case_facts(session: AsyncSession, tenant_ids: Sequence[int],
                     employee_ids: Sequence[int] | None, start: datetime, end: datetime,
                     out: dict[int, AgentFacts],
                     reported: dict[tuple[int, int], datetime] | None = None) -> None:
    """Substantiated cases decided in the period with their alerts, in one query (a row per case
    and alert). `reported`: when each agent first self-reported about each customer — a
    violation reported before it was decided is not concealed (read when not given)."""
    if reported is None:
        reported = await self_report_facts(session, tenant_ids, employee_ids, start, end, {})
    rows = await session.execute(
        select(Case.id, Case.agent_employee_id, Case.severity, Case.title, Case.decided_at,
               Case.subject, Case.customer_id, Alert.source, Alert.subject, Alert.category,
               Alert.categories)
        .outerjoin(CaseAlert, CaseAlert.case_id == Case.id)
        .outerjoin(Alert, Alert.id == CaseAlert.alert_id)
        .where(*_case_filter(tenant_ids, employee_ids, start, end))
        .order_by(Case.id))
    cases: dict[int, tuple[Any, ...]] = {}
    alerts: dict[int, list[AlertView]] = defaultdict(list)
    for (case_id, emp_id, severity, title, decided_at, subject, customer_id, source,
         a_subject, category, categories) in rows:
        cases.setdefault(case_id, (emp_id, severity, title, decided_at, subject, customer_id))
        if source is not None:
            alerts[case_id].append(AlertView(source, a_subject, category,
                                             tuple(categories or ())))
    for case_id, (emp_id, severity, title, decided_at, subject, customer_id) in cases.items():
        if emp_id is None:
            continue
        views = alerts.get(case_id, [])
        if case_subject(subject, views) != "agent":
            continue
        when = reported.get((emp_id, customer_id)) if customer_id is not None else None
        self_reported = when is not None and (decided_at is None or when <= decided_at)
        v = Violation(case_id, violation_type(views), int(severity or 1),
                      concealed(views, self_reported))
        out.setdefault(emp_id, AgentFacts()).cases.append(CaseFact(case_id, title, decided_at,
                                                                   v))


async def self_report_facts(session: AsyncSession, tenant_ids: Sequence[int],
                            employee_ids: Sequence[int] | None, start: datetime, end: datetime,
                            out: dict[int, AgentFacts]) -> dict[tuple[int, int], datetime]:
    """Self-reports made in the period (positive evidence), and — from the same rows, read back
    to the beginning — when each agent first self-reported about each customer (returned: it
    decides concealment in `case_facts`)."""
    q = select(Alert.id, Alert.agent_employee_id, Alert.conversation_id, Alert.customer_id,
               Alert.created_at).where(
        _who(Alert.tenant_id, Alert.agent_employee_id, tenant_ids, employee_ids),
        Alert.source == "self_report", Alert.created_at < end,
        Alert.agent_employee_id.is_not(None))
    first: dict[tuple[int, int], datetime] = {}
    for alert_id, emp_id, conv_id, customer_id, created_at in await session.execute(q):
        if emp_id is None:
            continue
        if customer_id is not None:
            key = (emp_id, customer_id)
            if key not in first or created_at < first[key]:
                first[key] = created_at
        if created_at >= start:
            out.setdefault(emp_id, AgentFacts()).self_reports.append(
                EvidenceRef("self_report", conversation_id=conv_id, alert_id=alert_id))
    return first


@dataclass
class _Episode:
    offer_message_id: int | None
    agent_id: int | None
    refused: bool = False
    went_along: bool = False


def walk_episodes(conv_id: int, conv_agent: int | None,
                  messages: Iterable[tuple[int, str, str, list[str], int | None]],
                  out: dict[int, AgentFacts], *, count_refusals: bool = True) -> None:
    """Offer episodes in one conversation, from its screened messages in order
    (id, sender role, decision, categories, sender employee).

    An episode opens with a customer's offer (consecutive offers are one episode) and lasts until
    the next offer after the agent answered. An episode the agent did not go along with is a
    rebuffed attempt. With `count_refusals` a refusal counts once per episode (a refusal with no
    detected offer once until the next offer); the cycle close counts refusals from screening's
    own rows instead (`refusal_facts`), which apply the same rule.
    """
    episode: _Episode | None = None
    lone_refusal = False

    def finish(ep: _Episode | None) -> None:
        if ep is None or ep.offer_message_id is None or conv_agent is None:
            return
        facts = out.setdefault(conv_agent, AgentFacts())
        facts.offers += 1
        if not ep.went_along:
            facts.rebuffed.append(EvidenceRef("rebuffed", conv_id, ep.offer_message_id))

    for msg_id, role, decision, categories, sender_emp in messages:
        cats = set(categories or ())
        flagged = decision in ("warn", "block") and bool(cats & OFFER_CATEGORIES)
        if role == "customer" and flagged:
            if episode is None or episode.refused or episode.went_along:
                finish(episode)
                episode = _Episode(msg_id, conv_agent)
                lone_refusal = False
        elif role == "agent":
            who = sender_emp or conv_agent
            if "refusal" in cats:
                if episode is not None and not episode.refused:
                    episode.refused = True
                elif episode is None and not lone_refusal:
                    lone_refusal = True
                else:
                    continue
                if who is not None and count_refusals:
                    out.setdefault(who, AgentFacts()).refusals.append(
                        EvidenceRef("refusal", conv_id, msg_id))
            elif flagged and episode is not None:
                episode.went_along = True
    finish(episode)


RefusalMessages = dict[int, list[tuple[int, int, int | None]]]


async def message_facts(session: AsyncSession, tenant_ids: Sequence[int],
                        employee_ids: Sequence[int] | None, start: datetime, end: datetime,
                        out: dict[int, AgentFacts],
                        refusals: RefusalMessages | None = None) -> None:
    """Offers and rebuffed attempts. Only flagged messages (warn/block) are read — ordinary
    traffic (nearly all of it) never leaves the database, and the partial indexes over flagged
    messages (migration 0030) mean it is never read either — with the agents' refusal messages
    (`refusals`: conversation → (seq, message id, agent), from screening's refusal rows) put
    back in their place: a refusal (itself allowed) ends an offer episode, so the customer's
    next offer is a new one."""
    q = (select(Message.conversation_id, Conversation.agent_employee_id, Message.id,
                Message.seq, Message.sender_role, Message.decision, Message.categories,
                Message.sender_employee_id)
         .join(Conversation, Conversation.id == Message.conversation_id)
         .where(Message.created_at >= start, Message.created_at < end, FLAGGED,
                # conversations that could hold a message of the period: opened before it
                # ends, not closed before it starts (a closed conversation takes no message)
                Conversation.created_at < end,
                or_(Conversation.closed_at.is_(None), Conversation.closed_at >= start))
         .order_by(Message.conversation_id, Message.seq))
    q = q.where(_who(Message.tenant_id, Conversation.agent_employee_id, tenant_ids,
                     employee_ids))
    refused = refusals or {}
    current: int | None = None
    agent: int | None = None
    batch: list[tuple[int, int, str, str, list[str], int | None]] = []

    def walk() -> None:
        if current is None:
            return
        merged = batch + [(msg_id, seq, "agent", "allow", ["refusal"], emp)
                          for seq, msg_id, emp in refused.get(current, [])]
        merged.sort(key=lambda m: m[1])
        walk_episodes(current, agent, [(m[0], *m[2:]) for m in merged], out,
                      count_refusals=False)

    result = await session.stream(q.execution_options(yield_per=5000))
    async for conv_id, conv_agent, msg_id, seq, role, decision, cats, sender in result:
        if conv_id != current:
            walk()
            current, agent, batch = conv_id, conv_agent, []
        batch.append((msg_id, seq, role, decision, cats, sender))
    walk()


async def refusal_facts(session: AsyncSession, tenant_ids: Sequence[int],
                        employee_ids: Sequence[int] | None, start: datetime, end: datetime,
                        out: dict[int, AgentFacts]) -> RefusalMessages:
    """Refusals by agents, one per offer episode of a conversation (screening writes a row per
    refusal message with its episode); the evidence is the episode's first refusal message.
    Returns every refusal message per conversation (seq, message id, agent) for
    `message_facts`."""
    q = (select(Refusal.refuser_employee_id, Refusal.conversation_id, Refusal.episode,
                Refusal.seq, Refusal.message_id)
         .where(_who(Refusal.tenant_id, Refusal.refuser_employee_id, tenant_ids, employee_ids),
                Refusal.refuser_role == "agent", Refusal.refuser_employee_id.is_not(None),
                Refusal.created_at >= start, Refusal.created_at < end))
    first: dict[tuple[int, int, int], int] = {}
    messages: RefusalMessages = defaultdict(list)
    for emp_id, conv_id, episode, seq, msg_id in await session.execute(q):
        if emp_id is None:
            continue
        messages[conv_id].append((seq, msg_id, emp_id))
        key = (emp_id, conv_id, episode)
        if key not in first or msg_id < first[key]:
            first[key] = msg_id
    for (emp_id, conv_id, _episode), msg_id in sorted(first.items()):
        out.setdefault(emp_id, AgentFacts()).refusals.append(
            EvidenceRef("refusal", conv_id, msg_id))
    return messages


async def service_facts(session: AsyncSession, tenant_ids: Sequence[int],
                        employee_ids: Sequence[int] | None, start: datetime, end: datetime,
                        out: dict[int, AgentFacts]) -> None:
    """Conversations assigned in the cycle: resolution, CSAT, and first response (the agent's
    first message), in one grouped query."""
    first_at_col = func.min(Message.created_at).label("first_at")
    q = (select(Conversation.id, Conversation.agent_employee_id, Conversation.status,
                Conversation.csat_score, Conversation.assigned_at, first_at_col)
         .outerjoin(Message, (Message.conversation_id == Conversation.id)
                    & (Message.sender_role == "agent"))
         .where(_who(Conversation.tenant_id, Conversation.agent_employee_id, tenant_ids,
                     employee_ids),
                Conversation.agent_employee_id.is_not(None),
                Conversation.assigned_at >= start, Conversation.assigned_at < end)
         .group_by(Conversation.id, Conversation.agent_employee_id, Conversation.status,
                   Conversation.csat_score, Conversation.assigned_at))
    for conv_id, emp_id, status, csat, assigned_at, first_at in await session.execute(q):
        if emp_id is None:
            continue
        facts = out.setdefault(emp_id, AgentFacts())
        facts.conversations += 1
        if status == ConversationStatus.closed:
            facts.resolved += 1
        if csat is not None:
            facts.ratings.append(EvidenceRef("rating", conversation_id=conv_id, value=int(csat)))
        if assigned_at is None or first_at is None:
            continue
        if isinstance(first_at, str):  # SQLite hands an aggregate back as text
            first_at = datetime.fromisoformat(first_at).replace(tzinfo=assigned_at.tzinfo)
        facts.first_response_sum_s += max(0.0, (first_at - assigned_at).total_seconds())
        facts.first_response_count += 1


async def gather(session: AsyncSession, tenant_ids: Sequence[int],
                 employee_ids: Sequence[int] | None, start: datetime, end: datetime
                 ) -> dict[int, AgentFacts]:
    """Every fact of the period, per employee id: five queries, however many employees."""
    out: dict[int, AgentFacts] = {}
    reported = await self_report_facts(session, tenant_ids, employee_ids, start, end, out)
    await case_facts(session, tenant_ids, employee_ids, start, end, out, reported)
    refusals = await refusal_facts(session, tenant_ids, employee_ids, start, end, out)
    await message_facts(session, tenant_ids, employee_ids, start, end, out, refusals)
    await service_facts(session, tenant_ids, employee_ids, start, end, out)
    return out

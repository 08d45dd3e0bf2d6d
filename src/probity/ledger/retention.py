"""Retention (PIPL) and legal hold: how long personal content is kept, and what must never be
purged while a matter is open.

A purge removes personal *content* — a ledger entry's ``payload`` (set to NULL), a chat
message's text and screening spans, an alert's snippet, and attachment files no longer referenced
— but keeps every hash, so the chain, the Merkle tree, the signed checkpoints and old evidence
packs still verify. It is the one sanctioned path around the append-only triggers: it saves the
triggers' definitions, drops them, updates, and re-creates them, all inside the caller's single
transaction (DDL is transactional on SQLite and PostgreSQL), so a failure leaves them in place.
Anything under an active :class:`LegalHold` (on the customer, an employee, the conversation or
a case) is skipped. Purges, rules and holds are themselves written to the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import Conflict, InvalidInput, NotFound
from probity.ledger.chain import format_time
from probity.ledger.service import append_entry
from probity.models.alerts import Alert
from probity.models.base import utcnow
from probity.models.chat import Conversation, Message
from probity.models.commerce import Customer, Payment
from probity.models.ledger import LedgerEntry
from probity.models.org import Employee
from probity.models.records import LegalHold, RetentionRule

__all__ = [
    "HOLD_SUBJECTS",
    "PurgeOutcome",
    "list_holds",
    "list_rules",
    "purge",
    "purge_tenant",
    "release_hold",
    "set_hold",
    "set_rule",
    "without_triggers",
]

HOLD_SUBJECTS = ("customer", "employee", "conversation", "case")
_CHUNK = 500

AfterCommit = Callable[[AsyncSession, Callable[[], Awaitable[None]]], None]


# -- the group standard (governance section `retention`) --------------------------------------

# record type → the field of the retention standard that sets its minimum (days)
STANDARD_FIELDS = {"chat.message": "chat_message_days", "alert.raised": "alert_days"}


async def _standard(session: AsyncSession, tenant_id: int) -> Any:
    from probity.governance import effective_settings
    from probity.governance.sections import RetentionSettings

    return await effective_settings(session, tenant_id, RetentionSettings)


async def minimum_days(session: AsyncSession, tenant_id: int, record_type: str) -> int | None:
    """The minimum retention of a record type where the group standard sets one (HQ or the
    tenant itself; the built-in default binds nobody): rules and purges never go below it."""
    name = STANDARD_FIELDS.get(record_type)
    if name is None:
        return None
    state = (await _standard(session, tenant_id)).fields[name]
    return None if state.origin_tenant is None else int(state.value)


# -- scope helpers ----------------------------------------------------------------------------


# -- retention rules --------------------------------------------------------------------------


async def list_rules(session: AsyncSession, principal: Principal) -> list[RetentionRule]:
    scope = principal.scope(Perm.ledger_read)
    return list((await session.scalars(
        select(RetentionRule).where(scope.filter(RetentionRule.tenant_id))
        .order_by(RetentionRule.tenant_id, RetentionRule.record_type))).all())


async def set_rule(
    session: AsyncSession, principal: Principal, tenant_id: int, record_type: str, days: int
) -> RetentionRule:
    """Create or change a tenant's retention period for one record type (audited, ledgered).
    A period shorter than the group standard's minimum for the type is refused (422)."""
    await tenant_in_scope(session, principal, Perm.records_manage, tenant_id)
    minimum = await minimum_days(session, tenant_id, record_type)
    if minimum is not None and days < minimum:
        raise InvalidInput(
            f"{record_type} must be kept at least {minimum} days (group standard)",
            code="below_group_minimum", field="days", minimum=minimum,
            template="{record_type} must be kept at least {minimum} days (group standard)",
            params={"record_type": record_type, "minimum": minimum})
    rule = await session.scalar(select(RetentionRule).where(
        RetentionRule.tenant_id == tenant_id, RetentionRule.record_type == record_type))
    before = None if rule is None else {"days": rule.days}
    now = utcnow()
    if rule is None:
        rule = RetentionRule(tenant_id=tenant_id, record_type=record_type, days=days,
                             created_at=now, updated_at=now,
                             updated_by_user_id=principal.user_id)
        session.add(rule)
    else:
        rule.days = days
        rule.updated_at = now
        rule.updated_by_user_id = principal.user_id
    await session.flush()
    record_audit(session, principal, "retention.rule", target_type="retention_rule",
                 target_id=rule.id, tenant_id=tenant_id, before=before,
                 after={"record_type": record_type, "days": days})
    await append_entry(session, tenant_id, "retention.rule", {
        "record_type": record_type, "days": days, "by_user_id": principal.user_id,
        "at": format_time(now)})
    return rule


# -- legal holds ------------------------------------------------------------------------------


async def list_holds(
    session: AsyncSession, principal: Principal, *, active_only: bool = False
) -> list[LegalHold]:
    scope = principal.scope(Perm.ledger_read)
    q = select(LegalHold).where(scope.filter(LegalHold.tenant_id))
    if active_only:
        q = q.where(LegalHold.released_at.is_(None))
    return list((await session.scalars(q.order_by(LegalHold.id.desc()))).all())


async def _subject_exists(
    session: AsyncSession, tenant_id: int, subject_type: str, subject_id: int
) -> bool:
    model: Any
    if subject_type == "customer":
        model = Customer
    elif subject_type == "employee":
        model = Employee
    elif subject_type == "conversation":
        model = Conversation
    else:  # case: the cases domain is checked once it exists; the id is kept as given
        return subject_id > 0
    found = await session.scalar(
        select(model.id).where(model.id == subject_id, model.tenant_id == tenant_id))
    return found is not None


async def set_hold(
    session: AsyncSession, principal: Principal, tenant_id: int, subject_type: str,
    subject_id: int, reason: str,
) -> LegalHold:
    if subject_type not in HOLD_SUBJECTS:
        raise InvalidInput(f"a hold is on one of {', '.join(HOLD_SUBJECTS)}",
                           code="unknown_subject")
    await tenant_in_scope(session, principal, Perm.records_manage, tenant_id)
    if not await _subject_exists(session, tenant_id, subject_type, subject_id):
        raise InvalidInput(f"unknown {subject_type} in this tenant", code=f"unknown_{subject_type}")
    if not reason.strip() and (await _standard(session, tenant_id)).values \
            .legal_hold_requires_reason:
        raise InvalidInput("a legal hold needs a written reason (group standard)",
                           code="reason_required", field="reason",
                           template="A legal hold needs a written reason (group standard)")
    now = utcnow()
    hold = LegalHold(tenant_id=tenant_id, subject_type=subject_type, subject_id=subject_id,
                     reason=reason.strip(), set_by_user_id=principal.user_id, created_at=now)
    session.add(hold)
    await session.flush()
    record_audit(session, principal, "legal_hold.set", target_type="legal_hold",
                 target_id=hold.id, tenant_id=tenant_id,
                 after={"subject_type": subject_type, "subject_id": subject_id,
                        "reason": hold.reason})
    await append_entry(session, tenant_id, "legal_hold.set", {
        "hold_id": hold.id, "subject_type": subject_type, "subject_id": subject_id,
        "reason": hold.reason, "by_user_id": principal.user_id, "at": format_time(now)})
    return hold


async def release_hold(
    session: AsyncSession, principal: Principal, hold_id: int, reason: str
) -> LegalHold:
    scope = principal.scope(Perm.records_manage)
    hold = await session.scalar(select(LegalHold).where(
        LegalHold.id == hold_id, scope.filter(LegalHold.tenant_id)))
    if hold is None:
        raise NotFound("no such legal hold")
    if hold.released_at is not None:
        raise Conflict("the legal hold is already released", code="released")
    now = utcnow()
    hold.released_at = now
    hold.released_by_user_id = principal.user_id
    hold.release_reason = reason.strip()
    await session.flush()
    record_audit(session, principal, "legal_hold.release", target_type="legal_hold",
                 target_id=hold.id, tenant_id=hold.tenant_id, before={"released_at": None},
                 after={"released_at": now, "reason": hold.release_reason})
    await append_entry(session, hold.tenant_id, "legal_hold.release", {
        "hold_id": hold.id, "subject_type": hold.subject_type, "subject_id": hold.subject_id,
        "reason": hold.release_reason, "by_user_id": principal.user_id, "at": format_time(now)})
    return hold


# -- the sanctioned path around the append-only triggers ---------------------------------------


async def _saved_triggers(session: AsyncSession, table: str) -> list[tuple[str, str]]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = await session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t "
            "ORDER BY name"), {"t": table})
    elif dialect == "postgresql":
        rows = await session.execute(text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "WHERE t.tgrelid = CAST(:t AS regclass) AND NOT t.tgisinternal ORDER BY t.tgname"),
            {"t": table})
    else:
        raise RuntimeError(f"no purge support for dialect {dialect!r}")
    return [(str(name), str(sql)) for name, sql in rows]


class without_triggers:
    """Drop the triggers of *tables* for the body of the block and re-create them exactly as they
    were (definitions read back from the database catalogue). Must run inside a transaction: if
    anything fails, the rollback restores the triggers with everything else."""

    def __init__(self, session: AsyncSession, tables: Sequence[str]) -> None:
        self.session = session
        self.tables = tables
        self.saved: list[tuple[str, str, str]] = []

    async def __aenter__(self) -> None:
        if not self.session.in_transaction():
            raise RuntimeError("without_triggers needs an open transaction")
        dialect = self.session.get_bind().dialect.name
        for table in self.tables:
            for name, ddl in await _saved_triggers(self.session, table):
                self.saved.append((table, name, ddl))
                drop = (f'DROP TRIGGER "{name}"' if dialect == "sqlite"
                        else f'DROP TRIGGER "{name}" ON "{table}"')
                await self.session.execute(text(drop))

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return  # the caller rolls back, which restores the dropped triggers
        for _table, _name, ddl in self.saved:
            await self.session.execute(text(ddl))


# -- purging ----------------------------------------------------------------------------------


@dataclass
class PurgeOutcome:
    tenant_id: int
    record_type: str
    days: int
    cutoff: str
    eligible: int = 0  # entries past retention with content still present
    purged: int = 0
    held: int = 0
    attachments_removed: int = 0
    seqs: list[int] = field(default_factory=list)


def _ranges(seqs: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for s in sorted(seqs):
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return out


async def _active_holds(session: AsyncSession, tenant_id: int) -> dict[str, set[int]]:
    rows = await session.execute(select(LegalHold.subject_type, LegalHold.subject_id).where(
        LegalHold.tenant_id == tenant_id, LegalHold.released_at.is_(None)))
    held: dict[str, set[int]] = {s: set() for s in HOLD_SUBJECTS}
    for subject_type, subject_id in rows:
        held.setdefault(str(subject_type), set()).add(int(subject_id))
    return held


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _is_held_fn(
    session: AsyncSession, held: dict[str, set[int]], payloads: list[dict[str, Any]]
) -> Callable[[dict[str, Any]], bool]:
    """A predicate: does this payload touch anything under an active hold?"""
    conv_ids = {c for p in payloads if (c := _int(p.get("conversation_id"))) is not None}
    parties: dict[int, tuple[int | None, int | None]] = {}
    for chunk_start in range(0, len(conv_ids), _CHUNK):
        chunk = sorted(conv_ids)[chunk_start:chunk_start + _CHUNK]
        for cid, customer_id, agent_emp in await session.execute(
            select(Conversation.id, Conversation.customer_id, Conversation.agent_employee_id)
            .where(Conversation.id.in_(chunk))
        ):
            parties[int(cid)] = (customer_id, agent_emp)

    def is_held(p: dict[str, Any]) -> bool:
        conv = _int(p.get("conversation_id"))
        customers = {_int(p.get("customer_id"))}
        employees = {_int(p.get(k)) for k in ("sender_employee_id", "agent_employee_id",
                                               "employee_id")}
        if conv is not None:
            if conv in held["conversation"]:
                return True
            customer_id, agent_emp = parties.get(conv, (None, None))
            customers.add(customer_id)
            employees.add(agent_emp)
        case = _int(p.get("case_id"))
        return bool(
            (customers - {None}) & held["customer"]
            or (employees - {None}) & held["employee"]
            or (case is not None and case in held["case"])
        )

    return is_held


async def purge_tenant(
    session: AsyncSession,
    tenant_id: int,
    rule: RetentionRule,
    *,
    dry_run: bool,
    actor: Principal | None,
    attachments_dir: Path | None = None,
    after_commit: AfterCommit | None = None,
    now: datetime | None = None,
) -> PurgeOutcome:
    """Purge one tenant's content of one record type past its retention period — never sooner
    than the group standard's minimum for the type, even under an older, shorter rule."""
    days = max(rule.days, await minimum_days(session, tenant_id, rule.record_type) or 0)
    cutoff = format_time((now or utcnow()) - timedelta(days=days))
    outcome = PurgeOutcome(tenant_id, rule.record_type, days, cutoff)
    rows = (await session.execute(
        select(LedgerEntry.id, LedgerEntry.seq, LedgerEntry.payload)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.type == rule.record_type,
               LedgerEntry.entry_time < cutoff, LedgerEntry.payload.is_not(None))
        .order_by(LedgerEntry.seq))).all()
    # Payments imported in record batches (probity-record-batch/v1): the ledger holds no copy
    # of them, only their leaves; "purging" one erases its salt, so its kept leaf hash can
    # neither be tied to the row any more nor brute-forced (the batch root still verifies).
    batched = (await _batched_payments(session, tenant_id, cutoff)
               if rule.record_type == _BATCHED_RECORD else [])
    outcome.eligible = len(rows) + len(batched)
    if not rows and not batched:
        return outcome
    payloads: list[dict[str, Any]] = []
    for _id, _seq, raw in rows:
        try:
            value = json.loads(str(raw))
        except ValueError:
            value = {}
        payloads.append(value if isinstance(value, dict) else {})
    is_held = await _is_held_fn(session, await _active_holds(session, tenant_id), payloads)
    entry_ids: list[int] = []
    message_ids: list[int] = []
    alert_ids: list[int] = []
    for (entry_id, seq, _raw), payload in zip(rows, payloads, strict=True):
        if is_held(payload):
            outcome.held += 1
            continue
        entry_ids.append(int(entry_id))
        outcome.seqs.append(int(seq))
        if rule.record_type == "chat.message" and (m := _int(payload.get("message_id"))):
            message_ids.append(m)
        if rule.record_type == "alert.raised" and (a := _int(payload.get("alert_id"))):
            alert_ids.append(a)
    held_customers = (await _active_holds(session, tenant_id))["customer"] if batched else set()
    salted = [(pid, seq) for pid, seq, customer in batched if customer not in held_customers]
    outcome.held += len(batched) - len(salted)
    outcome.seqs.extend(sorted({seq for _pid, seq in salted}))
    outcome.purged = len(entry_ids) + len(salted)
    if salted and not dry_run:
        ids = [pid for pid, _seq in salted]
        for start in range(0, len(ids), _CHUNK):
            await session.execute(update(Payment).where(
                Payment.id.in_(ids[start:start + _CHUNK])).values(ledger_salt=None)
                .execution_options(synchronize_session=False))
    # Attachments referenced only by the purged messages.
    shas: set[str] = set()
    for start in range(0, len(message_ids), _CHUNK):
        chunk = message_ids[start:start + _CHUNK]
        shas.update(str(s) for s in await session.scalars(select(Message.attachment_sha256).where(
            Message.id.in_(chunk), Message.attachment_sha256.is_not(None))))
    removable: list[str] = []
    purged_set = set(message_ids)
    for sha in sorted(shas):
        others = await session.scalars(select(Message.id).where(Message.attachment_sha256 == sha))
        if set(others) <= purged_set:
            removable.append(sha)
    if dry_run or not entry_ids:
        outcome.attachments_removed = len(removable)  # would be removed, for a dry run
        if salted and not dry_run:
            await _record_purge(session, tenant_id, rule, outcome, actor)
        return outcome

    tables = ["ledger_entries"]
    if message_ids:
        tables.append("messages")
    if alert_ids:
        tables.append("alerts")
    async with without_triggers(session, tables):
        for start in range(0, len(entry_ids), _CHUNK):
            await session.execute(update(LedgerEntry).where(
                LedgerEntry.id.in_(entry_ids[start:start + _CHUNK])).values(payload=None)
                .execution_options(synchronize_session=False))
        for start in range(0, len(message_ids), _CHUNK):
            await session.execute(update(Message).where(
                Message.id.in_(message_ids[start:start + _CHUNK])).values(body="", spans=[])
                .execution_options(synchronize_session=False))
        for start in range(0, len(alert_ids), _CHUNK):
            await session.execute(update(Alert).where(
                Alert.id.in_(alert_ids[start:start + _CHUNK])).values(snippet="")
                .execution_options(synchronize_session=False))
    # Objects already loaded in this session would show the old content (set, not expired:
    # an expired attribute would lazy-load, which async sessions refuse).
    purged_entries, purged_alerts = set(entry_ids), set(alert_ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LedgerEntry) and obj.id in purged_entries:
            set_committed_value(obj, "payload", None)
        elif isinstance(obj, Message) and obj.id in purged_set:
            set_committed_value(obj, "body", "")
            set_committed_value(obj, "spans", [])
        elif isinstance(obj, Alert) and obj.id in purged_alerts:
            set_committed_value(obj, "snippet", "")
    outcome.attachments_removed = len(removable)
    if removable and attachments_dir is not None and after_commit is not None:
        from probity.chat.attachments import path_for

        root = attachments_dir

        async def remove_files() -> None:
            for sha in removable:
                path_for(root, sha).unlink(missing_ok=True)

        after_commit(session, remove_files)
    await _record_purge(session, tenant_id, rule, outcome, actor)
    return outcome


async def _record_purge(session: AsyncSession, tenant_id: int, rule: RetentionRule,
                        outcome: PurgeOutcome, actor: Principal | None) -> None:
    summary = {
        "record_type": rule.record_type, "days": rule.days, "cutoff": outcome.cutoff,
        "purged": outcome.purged, "held": outcome.held, "seqs": _ranges(outcome.seqs),
        "attachments_removed": outcome.attachments_removed,
        "by_user_id": actor.user_id if actor else None,
    }
    record_audit(session, actor, "retention.purge", target_type="tenant", target_id=tenant_id,
                 tenant_id=tenant_id, after=summary, actor_name=None if actor else "system")
    await append_entry(session, tenant_id, "retention.purge", summary)


_BATCHED_RECORD = "finance.payment"
_BATCH_ENTRY = "finance.payment_batch"


async def _batched_payments(session: AsyncSession, tenant_id: int, cutoff: str
                            ) -> list[tuple[int, int, int]]:
    """(payment id, batch seq, customer id) of batched payments whose batch entry is older than
    *cutoff* and whose salt is still kept."""
    seqs = select(LedgerEntry.seq).where(
        LedgerEntry.tenant_id == tenant_id, LedgerEntry.type == _BATCH_ENTRY,
        LedgerEntry.entry_time < cutoff)
    rows = await session.execute(select(Payment.id, Payment.ledger_seq, Payment.customer_id)
                                 .where(Payment.tenant_id == tenant_id,
                                        Payment.ledger_salt.is_not(None),
                                        Payment.ledger_seq.in_(seqs))
                                 .order_by(Payment.ledger_seq, Payment.ledger_index))
    return [(int(pid), int(seq), int(customer)) for pid, seq, customer in rows
            if seq is not None]


async def purge(
    session: AsyncSession,
    actor: Principal | None,
    *,
    tenant_ids: Sequence[int] | None = None,
    dry_run: bool = False,
    attachments_dir: Path | None = None,
    after_commit: AfterCommit | None = None,
    now: datetime | None = None,
) -> list[PurgeOutcome]:
    """Apply every retention rule of the given tenants (default: all with rules). Flushes only;
    the caller commits (once, so the trigger swap and the updates are one transaction)."""
    q = select(RetentionRule).order_by(RetentionRule.tenant_id, RetentionRule.record_type)
    if tenant_ids is not None:
        q = q.where(RetentionRule.tenant_id.in_(list(tenant_ids)))
    outcomes = []
    for rule in (await session.scalars(q)).all():
        outcomes.append(await purge_tenant(
            session, rule.tenant_id, rule, dry_run=dry_run, actor=actor,
            attachments_dir=attachments_dir, after_commit=after_commit, now=now))
    return outcomes


async def count_entries(session: AsyncSession, tenant_id: int) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id))
        or 0)

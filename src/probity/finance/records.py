"""Every payment and refund record goes into the tenant's ledger, one entry per record.

The entry's payload is the record as stored (amounts as strings, times as ISO-8601 UTC), so an
evidence pack can prove a payment by its entry's inclusion proof. Payloads are purgeable (salted)
because payee accounts and customers are personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.service import append_entries

LEDGERED_KINDS = {"payments": "finance.payment", "refunds": "finance.refund"}
_SKIP = {"id", "created_at"}


def _value(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def record_payload(row: Mapping[str, Any], action: str) -> dict[str, Any]:
    return {"action": action, **{k: _value(v) for k, v in row.items()
                                 if k not in _SKIP and v is not None}}


async def ledger_records(session: AsyncSession, tenant_id: int, kind: str,
                         inserted: Iterable[Mapping[str, Any]],
                         updated: Iterable[Mapping[str, Any]] = ()) -> int:
    """Append one entry per payment or refund row (other kinds are not ledgered per record)."""
    entry_type = LEDGERED_KINDS.get(kind)
    if entry_type is None:
        return 0
    items = [(entry_type, record_payload(r, "insert")) for r in inserted]
    items += [(entry_type, record_payload(r, "update")) for r in updated]
    if items:
        await append_entries(session, tenant_id, items, purgeable=True)
    return len(items)

"""``probity.bulk.insert_rows`` converts parameters column by column; its fast path for UTC
datetimes on SQLite writes exactly the text of SQLAlchemy's own processor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from probity.bulk import _processor
from probity.models import Payment


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")])))
def test_utc_datetime_text_is_sqlalchemys(value: datetime) -> None:
    dialect = sqlite.dialect()
    col = Payment.__table__.c.paid_at.type
    fast, reference = _processor(col, dialect), col._cached_bind_processor(dialect)
    assert fast is not reference
    assert fast(value) == reference(value)


def test_naive_datetimes_are_still_refused() -> None:
    dialect = sqlite.dialect()
    fast = _processor(Payment.__table__.c.paid_at.type, dialect)
    try:
        fast(datetime(2026, 1, 1))
    except ValueError:
        return
    raise AssertionError("a naive datetime was accepted")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                             timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                        ZoneInfo("UTC")])),
                min_size=1, max_size=8))
def test_column_forms_are_the_processors(values: list[datetime]) -> None:
    """A column converted at once (UTC datetimes by C-level maps, enums once per member) is
    the reference processor's values, whatever the mix of zones."""
    from probity.models import PaymentMethod

    dialect = sqlite.dialect()
    col = Payment.__table__.c.paid_at.type
    fast, reference = _processor(col, dialect), col._cached_bind_processor(dialect)
    assert fast.column(values) == [reference(v) for v in values]
    utc = [v.astimezone(UTC) for v in values]
    assert fast.column(utc) == [reference(v) for v in utc]
    method = Payment.__table__.c.method.type
    fast, reference = _processor(method, dialect), method._cached_bind_processor(dialect)
    members = [list(PaymentMethod)[v.second % len(PaymentMethod)] for v in values]
    assert fast.column(members) == [reference(m) for m in members]

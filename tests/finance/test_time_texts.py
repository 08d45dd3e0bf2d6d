"""The import's faster forms of its time values are the same values and texts: local times to
UTC without ``replace`` (`importer._local_to_utc`, zones with DST gaps and folds too), one
formatting pass for a UTC column (`bulk.utc_texts`, compiled where built: `probity.utctext`,
the same texts as the pure-Python path, both run here) that the ledger leaf's ISO-8601 text and
SQLite's stored text are cut from, and leaf texts with one-object columns written once into
the format (`records.column_leaf_texts`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from probity import bulk, utctext
from probity.bulk import _processor, utc_texts
from probity.finance.importer import _local_to_utc
from probity.finance.records import column_leaf_texts, iso_from_utc_texts, record_payload
from probity.ledger.batch import leaf_text, new_salts
from probity.models import Payment, PaymentMethod

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe",
         "America/St_Johns", "UTC"]
_local = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.lists(_local, min_size=1, max_size=30))
def test_local_to_utc_is_replace_then_astimezone(zone: str, times: list[datetime]) -> None:
    tz = ZoneInfo(zone)
    # DST gaps and folds of the zone's recent years as well
    times += [datetime(y, m, d, h, 30) for y in (2000, 2021, 2026) for m in (3, 4, 10, 11)
              for d in (1, 7, 14, 28) for h in (0, 1, 2, 3)]
    want = [d.replace(tzinfo=tz).astimezone(UTC) for d in times]
    got = _local_to_utc(times, tz)
    assert got == want
    assert [(g.tzinfo, g.fold, g.isoformat()) for g in got] == \
        [(w.tzinfo, w.fold, w.isoformat()) for w in want]


_utc = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_utc, _utc.map(lambda d: d.replace(microsecond=0))), min_size=1,
                max_size=40))
def test_utc_texts_cut_into_isoformat_and_sqlite_text(times: list[datetime]) -> None:
    texts = utc_texts(times)
    assert texts is not None
    assert iso_from_utc_texts(texts) == [d.isoformat() for d in times]
    sqlite = create_engine("sqlite://").dialect
    proc = _processor(Payment.__table__.c.paid_at.type, sqlite)
    assert [t[:-6] for t in texts] == [proc(d) for d in times]


def test_utc_texts_only_for_utc_datetimes(texts_path: str) -> None:
    shanghai = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert utc_texts([datetime(2026, 1, 1, tzinfo=UTC), shanghai]) is None
    assert utc_texts([datetime(2026, 1, 1)]) is None
    assert utc_texts([]) is None


def test_leaf_texts_with_formatted_times_and_one_object_columns(texts_path: str) -> None:
    n = 60
    start = datetime(2026, 1, 1, tzinfo=UTC)
    columns = {
        "tenant_id": [7] * n, "order_id": [None if i % 3 == 0 else i for i in range(n)],
        "customer_id": list(range(n)), "payment_no": [f'P%{i}"x' for i in range(n)],
        "amount": [Decimal("12.50")] * n, "currency": ["CNY"] * n,
        "method": [PaymentMethod.wechat_pay] * n, "payee_account": ["A%s"] * n,
        "paid_at": [start + timedelta(seconds=i, microseconds=(i % 2) * 1234)
                    for i in range(n)]}
    keys, salts = list(columns), new_salts(n)
    want = [leaf_text(record_payload(dict(zip(keys, row, strict=True)), "insert"), salt)
            for row, salt in zip(zip(*columns.values(), strict=True), salts, strict=True)]
    texts = utc_texts(columns["paid_at"])
    assert texts is not None
    for formatted in (None, {"paid_at": texts}):
        assert column_leaf_texts(keys, [columns[k] for k in keys], "insert", salts,
                                 formatted) == want


@pytest.fixture(params=["compiled", "pure"])
def texts_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test below twice: with the compiled UTC texts (skipped where not built) and with
    the pure-Python path (as a machine without a C compiler runs it)."""
    if request.param == "compiled":
        if not utctext.compiled():
            pytest.skip("probity._utctext not built (make install)")
    else:
        import probity.finance.records as records

        monkeypatch.setattr(bulk, "_compiled_utc_texts", None)
        monkeypatch.setattr(records, "_compiled_iso_texts", None)
    return str(request.param)


_any_utc = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59,
                                                                        59, 999999)).map(
    lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_any_utc, _any_utc.map(lambda d: d.replace(microsecond=0))),
                min_size=1, max_size=40))
def test_compiled_texts_are_isoformat(times: list[datetime]) -> None:
    """The compiled forms are ``isoformat`` over the whole datetime range (years < 1000 too,
    microseconds written or left out as ``isoformat`` does)."""
    if utctext.utc_texts is None or utctext.iso_texts is None:
        pytest.skip("probity._utctext not built (make install)")
    assert utctext.utc_texts(times) == [d.isoformat(" ", "microseconds") for d in times]
    assert utctext.iso_texts(times) == [d.isoformat() for d in times]


def test_compiled_texts_only_for_lists_of_utc_datetimes() -> None:
    if utctext.utc_texts is None or utctext.iso_texts is None:
        pytest.skip("probity._utctext not built (make install)")

    class Sub(datetime):
        pass

    utc = datetime(2026, 1, 1, tzinfo=UTC)
    for values in ([], [datetime(2026, 1, 1)], [utc, datetime(2026, 1, 1, tzinfo=ZoneInfo(
            "Asia/Shanghai"))], [Sub(2026, 1, 1, tzinfo=UTC)], [utc, "2026-01-01"], (utc,)):
        assert utctext.utc_texts(values) is None  # type: ignore[arg-type]
        assert utctext.iso_texts(values) is None  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_utc, _utc.map(lambda d: d.replace(microsecond=0))), min_size=1,
                max_size=40))
def test_both_paths_write_the_same_texts(times: list[datetime]) -> None:
    """``bulk.utc_texts`` and the leaf texts, compiled and pure: the same texts."""
    import probity.finance.records as records

    compiled = utc_texts(times)
    keys, salts = ["paid_at", "payment_no"], new_salts(len(times))
    columns = [times, [f"P{i}" for i in range(len(times))]]
    leaves = column_leaf_texts(keys, columns, "insert", salts, {"paid_at": compiled or []})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "_compiled_utc_texts", None)
        mp.setattr(records, "_compiled_iso_texts", None)
        pure = utc_texts(times)
        assert column_leaf_texts(keys, columns, "insert", salts, {"paid_at": pure or []}) \
            == leaves
    assert compiled == pure == [d.isoformat(" ", "microseconds") for d in times]

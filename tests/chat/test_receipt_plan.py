"""`store.plan_receipts` (the writer's receipts, direct and session paths) keeps the rules of
`mark` exactly: checked against the formula it replaced (session 15) on random receipts."""

from __future__ import annotations

import copy
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from probity.chat.store import Receipt, plan_receipts

_COLUMNS = ("customer_delivered_seq", "customer_read_seq", "agent_delivered_seq",
            "agent_read_seq")


def _reference(receipts: list[Receipt], state: dict[int, dict[str, int]]) -> Any:
    moved: dict[tuple[int, str], Any] = {}
    for r in receipts:
        seqs = state.get(r.conv_id)
        if seqs is None or r.side not in ("customer", "agent"):
            continue
        top = seqs["last_seq"]
        d_col, r_col = f"{r.side}_delivered_seq", f"{r.side}_read_seq"
        delivered = r.delivered
        if r.read is not None and seqs[r_col] < min(r.read, top):
            seqs[r_col] = min(r.read, top)
            delivered = max(delivered or 0, r.read)
            moved[(r.conv_id, r.side)] = r.publish
        if delivered is not None and seqs[d_col] < min(delivered, top):
            seqs[d_col] = min(delivered, top)
            moved[(r.conv_id, r.side)] = r.publish
    now = {(r.conv_id, r.side): (state[r.conv_id][f"{r.side}_delivered_seq"],
                                 state[r.conv_id][f"{r.side}_read_seq"])
           for r in receipts if r.conv_id in state and r.side in ("customer", "agent")}
    return now, moved


_seq = st.integers(-2, 12)
_receipts = st.lists(st.builds(
    Receipt, conv_id=st.integers(1, 4), side=st.sampled_from(["customer", "agent", "other"]),
    publish=st.sampled_from(["p1", "p2"]), delivered=st.none() | _seq, read=st.none() | _seq),
    max_size=12)
_states = st.dictionaries(st.integers(1, 3), st.fixed_dictionaries(
    {"last_seq": st.integers(0, 10), **{c: st.integers(0, 10) for c in _COLUMNS}}))


@settings(max_examples=500, deadline=None)
@given(_receipts, _states)
def test_plan_receipts_is_the_reference(receipts: list[Receipt],
                                        state: dict[int, dict[str, int]]) -> None:
    theirs = copy.deepcopy(state)
    assert plan_receipts(receipts, state) == _reference(receipts, theirs)
    assert state == theirs


def test_none_is_bound_as_null() -> None:
    """The direct path's NoneType adapter (`probity.chat.direct`) binds NULL, as before."""
    import probity.chat.direct  # noqa: F401  (registers it)

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (a, b)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(None, 1), (2, None)])
    assert con.execute("SELECT a, typeof(a), b, typeof(b) FROM t ORDER BY rowid").fetchall() \
        == [(None, "null", 1, "integer"), (2, "integer", None, "null")]
    assert con.execute("SELECT ? IS NULL", (None,)).fetchone() == (1,)

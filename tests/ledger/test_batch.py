"""Record batches, the pure core (probity-record-batch/v1): leaf texts are the canonical JSON of
the salted payload, the batch tree's audit paths are RFC 9162's, and a record verifies only at
its own place in its own batch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.ledger.batch import (
    BATCH_FORMAT,
    BatchTree,
    batch_payload,
    leaf_hashes,
    leaf_text,
    leaf_texts,
    new_salts,
    pack_leaves,
    record_proof,
    unpack_leaves,
    verify_record,
)
from probity.ledger.canonical import canonical_json
from probity.ledger.merkle import inclusion_proof, root_hash, verify_inclusion

_values = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                    st.text(max_size=20))
_payloads = st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k != "_salt"),
                            _values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(_payloads)
def test_leaf_text_is_the_canonical_json_of_the_salted_payload(payload: dict[str, object]
                                                               ) -> None:
    (salt,) = new_salts(1)
    assert len(salt) == 32
    text = leaf_text(payload, salt)
    assert text.encode("utf-8") == canonical_json({**payload, "_salt": salt})


def test_a_payload_may_not_bring_its_own_salt() -> None:
    with pytest.raises(ValueError):
        leaf_text({"_salt": "x"}, "0" * 32)


@pytest.mark.parametrize("size", [*range(1, 34), 100, 1000])
def test_batch_tree_proofs_are_rfc9162_paths(size: int) -> None:
    leaves = leaf_hashes([f'{{"n":{i}}}' for i in range(size)])
    tree = BatchTree(leaves)
    assert tree.root == root_hash(leaves)
    for index in range(size) if size <= 100 else (0, 1, 511, 512, 999):
        path = tree.proof(index)
        assert path == inclusion_proof(leaves, index)
        assert path == record_proof(leaves, index)
        assert verify_inclusion(leaves[index], index, size, path, tree.root)


def test_a_record_verifies_only_in_its_place() -> None:
    payloads = [{"action": "insert", "amount": f"{i}.00", "payment_no": f"P{i}"}
                for i in range(7)]
    salts = new_salts(7)
    texts = leaf_texts(payloads, salts)
    leaves = leaf_hashes(texts)
    batch = batch_payload("payment", leaves)
    assert batch["format"] == BATCH_FORMAT and batch["count"] == 7
    assert unpack_leaves(pack_leaves(leaves)) == leaves
    tree = BatchTree(leaves)
    for i, text in enumerate(texts):
        assert verify_record(text, i, tree.proof(i), batch)
        assert not verify_record(text, (i + 1) % 7, tree.proof(i), batch)  # another place
        assert not verify_record(text, i, tree.proof((i + 1) % 7), batch)
        edited = json.loads(text)
        edited["amount"] = "0.01"
        assert not verify_record(canonical_json(edited).decode(), i, tree.proof(i), batch)
    # Another root, another format, too few records: nothing verifies. (The count itself is
    # bound by the batch entry's payload hash, not by the root.)
    for other in ({**batch, "count": 3}, {**batch, "count": "7"},
                  {**batch, "root": "00" * 32}, {**batch, "format": "x"}, {}):
        assert not verify_record(texts[3], 3, tree.proof(3), other)
    with pytest.raises(ValueError):
        batch_payload("payment", [])


_record_values = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-(2**53) + 1, 2**53 - 1),
    st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False),
    st.datetimes(timezones=st.just(__import__("datetime").UTC)),
    st.sampled_from(list(__import__("probity.models", fromlist=["PaymentMethod"]).PaymentMethod)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
                .filter(lambda k: k != "_salt"),  # the salt's own key: refused (leaf_text)
                min_size=1, max_size=6, unique=True).flatmap(
    lambda keys: st.lists(st.fixed_dictionaries({k: _record_values for k in keys}),
                          min_size=1, max_size=6)))
def test_column_wise_leaves_equal_the_per_record_leaves(rows: list[dict[str, object]]) -> None:
    from probity.finance.records import record_leaf_texts, record_payload

    salts = new_salts(len(rows))
    want = [leaf_text(record_payload(r, "insert"), s) for r, s in zip(rows, salts, strict=True)]
    assert record_leaf_texts(rows, "insert", salts) == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(), st.integers(1, 2**40), st.none() | st.integers(1, 99),
                          st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
                          st.datetimes(timezones=st.just(__import__("datetime").UTC))),
                min_size=1, max_size=20))
def test_column_wise_leaves_of_payment_shaped_rows(values: list[tuple[Any, ...]]) -> None:
    """Uniform columns (the fast path): text with quotes, controls and non-ASCII, ints, a
    column with None (left out), decimals, aware datetimes and enums."""
    from probity.finance.records import record_leaf_texts, record_payload
    from probity.models import PaymentMethod

    rows = [{"payee_account": a, "customer_id": c, "order_id": o, "amount": d, "paid_at": t,
             "method": PaymentMethod.alipay, "tenant_id": 2, "created_at": t}
            for a, c, o, d, t in values]
    salts = new_salts(len(rows))
    want = [leaf_text(record_payload(r, "insert"), s) for r, s in zip(rows, salts, strict=True)]
    assert record_leaf_texts(rows, "insert", salts) == want
    for text in want:
        assert text.encode() == canonical_json(json.loads(text))

"""Entry hashing and chain verification, including how each kind of tampering is reported.

Rows are tampered with the way someone with database access would: UPDATE a column, DELETE a
row (optionally renumbering the rest), INSERT a row (with a duplicate seq, or renumbering the
rest), or swap the seq of two rows — with and without recomputing the hashes they touched.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from probity.ledger import (
    GENESIS_HASH,
    ChainAppender,
    EntryRecord,
    Keyring,
    TamperKind,
    canonical_json,
    entry_hash,
    generate_signing_key,
    leaf_hash,
    make_entry,
    payload_hash,
    root_hash,
    verify_chain,
)

TENANT = "t-acme.sh"
T0 = "2026-11-29T10:55:00.000000Z"

Rows = list[EntryRecord]


def build(n: int = 30) -> Rows:
    appender = ChainAppender(TENANT)
    kinds = ["chat.message", "payment.refund", "case.action", "policy.change"]
    return [appender.append(kinds[i % 4], {"i": i, "text": f"消息 {i}"}, time=T0) for i in range(n)]


def forged(seq: int, prev_hash: str, text: str = "forged") -> EntryRecord:
    return make_entry(
        seq=seq,
        time=T0,
        type="chat.message",
        tenant=TENANT,
        prev_hash=prev_hash,
        payload={"text": text},
    )


def renumber(rows: Rows, start_index: int, delta: int) -> Rows:
    return rows[:start_index] + [r._replace(seq=r.seq + delta) for r in rows[start_index:]]


# --------------------------------------------------------------------------- hashed form


def test_header_is_canonical_json_and_entry_hash_is_the_leaf_hash() -> None:
    entry = build(3)[2]
    fields = {
        k: getattr(entry, k) for k in ("seq", "time", "type", "tenant", "payload_hash", "prev_hash")
    }
    header = canonical_json(fields)
    assert entry.header() == header
    assert header.startswith(b'{"payload_hash":"')
    assert entry.entry_hash == hashlib.sha256(b"\x00" + header).hexdigest() == entry_hash(header)
    assert entry.leaf_hash() == leaf_hash(header)
    assert entry.payload is not None
    assert (
        entry.payload_hash
        == hashlib.sha256(entry.payload).hexdigest()
        == payload_hash(entry.payload)
    )


def test_genesis_and_links() -> None:
    rows = build(5)
    assert rows[0].seq == 0 and rows[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.entry_hash and after.seq == before.seq + 1


def test_make_entry_validates_fields() -> None:
    good = {
        "seq": 0,
        "time": T0,
        "type": "chat.message",
        "tenant": TENANT,
        "prev_hash": GENESIS_HASH,
    }
    make_entry(**good, payload={})  # type: ignore[arg-type]
    for field, bad in [
        ("seq", -1),
        ("time", "2026-11-29T10:55:00Z"),
        ("time", "2026-11-29 10:55:00.000000+00:00"),
        ("type", "Chat.Message"),
        ("type", 'a"b'),
        ("tenant", 'acme"'),
        ("tenant", "公司"),
        ("prev_hash", "00"),
    ]:
        with pytest.raises(ValueError):
            make_entry(**{**good, field: bad}, payload={})  # type: ignore[arg-type]


def test_format_time() -> None:
    from probity.ledger import format_time

    shanghai = timezone(timedelta(hours=8))
    assert format_time(datetime(2026, 11, 29, 18, 55, tzinfo=shanghai)) == T0
    with pytest.raises(ValueError):
        format_time(datetime(2026, 11, 29))
    assert format_time(datetime.now(UTC)).endswith("Z")
    # The last moment's text is remembered (a batch shares one time): the same object gives
    # the same text, another one (even an equal instant in another zone) is formatted anew.
    moment = datetime(2026, 11, 29, 18, 55, tzinfo=shanghai)
    assert format_time(moment) == format_time(moment) == T0
    assert format_time(moment.astimezone(UTC)) == T0
    assert format_time(datetime(2026, 11, 29, 10, 55, 0, 1, tzinfo=UTC)) != T0
    with pytest.raises(ValueError):
        format_time(datetime(2026, 11, 29, 18, 55))


def test_salted_payload_and_payload_bytes() -> None:
    salted = make_entry(
        seq=0,
        time=T0,
        type="chat.message",
        tenant=TENANT,
        prev_hash=GENESIS_HASH,
        payload={"phone": "13800000000"},
        salt=True,
    )
    again = make_entry(
        seq=0,
        time=T0,
        type="chat.message",
        tenant=TENANT,
        prev_hash=GENESIS_HASH,
        payload={"phone": "13800000000"},
        salt=True,
    )
    assert salted.payload_hash != again.payload_hash  # the kept hash cannot be guessed
    assert salted.payload is not None and b'"_salt":"' in salted.payload
    raw = make_entry(
        seq=0,
        time=T0,
        type="chat.message",
        tenant=TENANT,
        prev_hash=GENESIS_HASH,
        payload_bytes=canonical_json({"a": 1}),
    )
    assert raw.payload == b'{"a":1}'


# --------------------------------------------------------------------------- verification


def test_intact_chain_verifies_and_reports_root() -> None:
    rows = build(37)
    result = verify_chain(rows, tenant=TENANT, chunk_size=8)
    assert result.ok and result.kind is None and result.first_bad_seq is None
    assert result.entries_checked == 37 and result.tree_size == 37
    assert result.root_hash == root_hash([r.leaf_hash() for r in rows])
    assert result.last_hash == rows[-1].entry_hash
    assert result.message.startswith("OK")


def test_empty_ledger_verifies() -> None:
    result = verify_chain([])
    assert result.ok and result.entries_checked == 0


def test_plain_tuples_and_str_payloads_are_accepted() -> None:
    rows = [tuple(r) for r in build(10)]
    as_text = [(*r[:7], r[7].decode()) for r in rows]  # type: ignore[union-attr]
    assert verify_chain(rows).ok
    assert verify_chain(as_text).ok


def test_purge_keeps_chain_and_tree_valid() -> None:
    rows = build(20)
    purged = [r.purged() if r.seq % 3 == 0 else r for r in rows]
    assert purged[3].payload is None
    result = verify_chain(purged, tenant=TENANT, chunk_size=4)
    assert result.ok
    assert result.root_hash == verify_chain(rows).root_hash


def test_resume_from_a_verified_prefix() -> None:
    rows = build(25)
    first = verify_chain(rows[:11])
    from probity.ledger import CompactRange

    acc = CompactRange()
    acc.extend([r.leaf_hash() for r in rows[:11]])
    rest = verify_chain(rows[11:], resume=acc, prev_hash=first.last_hash)
    assert rest.ok and rest.tree_size == 25 and rest.entries_checked == 14
    assert rest.root_hash == verify_chain(rows).root_hash
    wrong = verify_chain(rows[12:], resume=acc, prev_hash=first.last_hash)
    assert not wrong.ok and wrong.kind is TamperKind.REMOVED and wrong.first_bad_seq == 11


Tamper = Callable[[Rows], Rows]


def alter_payload(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(payload=canonical_json({"i": 7, "text": "改过的"}))
    return rows


def alter_payload_and_hashes(rows: Rows) -> Rows:
    # the tamperer recomputes payload_hash and entry_hash of the row they changed
    rows[7] = forged(7, rows[6].entry_hash, "rewritten")
    return rows


def alter_time(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(time="2026-11-28T00:00:00.000000Z")
    return rows


def alter_type(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(type="chat.deleted")
    return rows


def alter_payload_hash(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(payload_hash="ab" * 32, payload=None)
    return rows


def alter_entry_hash(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(entry_hash="cd" * 32)
    return rows


def upper_case_entry_hash(rows: Rows) -> Rows:
    rows[7] = rows[7]._replace(entry_hash=rows[7].entry_hash.upper())
    return rows


def remove(rows: Rows) -> Rows:
    del rows[7]
    return rows


def remove_first(rows: Rows) -> Rows:
    del rows[0]
    return rows


def remove_range(rows: Rows) -> Rows:
    del rows[7:10]
    return rows


def remove_and_renumber(rows: Rows) -> Rows:
    del rows[7]
    return renumber(rows, 7, -1)


def remove_two_and_renumber(rows: Rows) -> Rows:
    del rows[7:9]
    return renumber(rows, 7, -2)


def remove_second_last_and_renumber(rows: Rows) -> Rows:
    n = len(rows)
    del rows[n - 2]
    return renumber(rows, n - 2, -1)


def insert_duplicate_seq_after(rows: Rows) -> Rows:
    rows.insert(8, forged(7, rows[6].entry_hash))
    return rows


def insert_duplicate_seq_before(rows: Rows) -> Rows:
    rows.insert(7, forged(7, rows[6].entry_hash))
    return rows


def insert_and_renumber_well_forged(rows: Rows) -> Rows:
    rows = renumber(rows, 7, +1)
    rows.insert(7, forged(7, rows[6].entry_hash))
    return rows


def insert_and_renumber_bad_hash(rows: Rows) -> Rows:
    rows = renumber(rows, 7, +1)
    rows.insert(7, forged(7, rows[6].entry_hash)._replace(entry_hash="ee" * 32))
    return rows


def insert_and_renumber_bad_link(rows: Rows) -> Rows:
    rows = renumber(rows, 7, +1)
    rows.insert(7, forged(7, "12" * 32))
    return rows


def insert_other_tenant(rows: Rows) -> Rows:
    other = ChainAppender("t-other")
    stranger = [other.append("chat.message", {"x": i}, time=T0) for i in range(8)][7]
    rows = renumber(rows, 7, +1)
    rows.insert(7, stranger)
    return rows


def swap_adjacent_seqs(rows: Rows) -> Rows:
    a, b = rows[7], rows[8]
    rows[7], rows[8] = b._replace(seq=7), a._replace(seq=8)
    return rows


def swap_distant_seqs(rows: Rows) -> Rows:
    a, b = rows[7], rows[12]
    rows[7], rows[12] = b._replace(seq=7), a._replace(seq=12)
    return rows


def swap_seqs_and_rehash_both(rows: Rows) -> Rows:
    # the tamperer swaps two rows' seq and recomputes both entry hashes, but not the links
    a, b = rows[7], rows[8]
    a2, b2 = a._replace(seq=8), b._replace(seq=7)
    rows[7] = b2._replace(entry_hash=entry_hash(b2.header()))
    rows[8] = a2._replace(entry_hash=entry_hash(a2.header()))
    return rows


def swap_rows_in_storage_order(rows: Rows) -> Rows:
    # read in insertion order rather than by seq: seq 8 arrives before seq 7
    rows[7], rows[8] = rows[8], rows[7]
    return rows


CASES: list[tuple[Tamper, TamperKind, int]] = [
    (alter_payload, TamperKind.ALTERED, 7),
    (alter_payload_and_hashes, TamperKind.ALTERED, 7),
    (alter_time, TamperKind.ALTERED, 7),
    (alter_type, TamperKind.ALTERED, 7),
    (alter_payload_hash, TamperKind.ALTERED, 7),
    (alter_entry_hash, TamperKind.ALTERED, 7),
    (upper_case_entry_hash, TamperKind.ALTERED, 7),
    (remove, TamperKind.REMOVED, 7),
    (remove_first, TamperKind.REMOVED, 0),
    (remove_range, TamperKind.REMOVED, 7),
    (remove_and_renumber, TamperKind.REMOVED, 7),
    (remove_two_and_renumber, TamperKind.REMOVED, 7),
    (remove_second_last_and_renumber, TamperKind.REMOVED, 28),
    (insert_duplicate_seq_after, TamperKind.INSERTED, 7),
    (insert_duplicate_seq_before, TamperKind.INSERTED, 7),
    (insert_and_renumber_well_forged, TamperKind.INSERTED, 7),
    (insert_and_renumber_bad_hash, TamperKind.INSERTED, 7),
    (insert_and_renumber_bad_link, TamperKind.INSERTED, 7),
    (insert_other_tenant, TamperKind.INSERTED, 7),
    (swap_adjacent_seqs, TamperKind.REORDERED, 7),
    (swap_distant_seqs, TamperKind.REORDERED, 7),
    (swap_seqs_and_rehash_both, TamperKind.REORDERED, 7),
    (swap_rows_in_storage_order, TamperKind.REORDERED, 7),
]


@pytest.mark.parametrize("chunk_size", [16384, 7, 8, 1])
@pytest.mark.parametrize(("tamper", "kind", "seq"), CASES, ids=[c[0].__name__ for c in CASES])
def test_tampering_is_detected_and_classified(
    tamper: Tamper, kind: TamperKind, seq: int, chunk_size: int
) -> None:
    rows = tamper(build(30))
    result = verify_chain(rows, tenant=TENANT, chunk_size=chunk_size)
    assert not result.ok
    assert (result.kind, result.first_bad_seq) == (kind, seq), result.message
    assert str(seq) in result.message
    assert result.entries_checked <= seq + 1


def test_database_rows_as_plain_tuples_are_classified_the_same() -> None:
    for tamper, kind, seq in CASES:
        rows = [tuple(r) for r in tamper(build(30))]
        result = verify_chain(rows, tenant=TENANT)
        assert (result.kind, result.first_bad_seq) == (kind, seq), tamper.__name__


def test_malformed_rows_do_not_crash() -> None:
    rows: list[tuple[object, ...]] = [tuple(r) for r in build(10)]
    rows[4] = (*rows[4][:6], "not hex", rows[4][7])
    result = verify_chain(rows)  # type: ignore[arg-type]
    assert (result.kind, result.first_bad_seq) == (TamperKind.ALTERED, 4)
    rows = [tuple(r) for r in build(10)]
    rows[4] = ("four", *rows[4][1:])
    result = verify_chain(rows)  # type: ignore[arg-type]
    assert not result.ok and result.first_bad_seq == 4


# --------------------------------------------------------------------------- checkpoints


def checkpoints_for(rows: Rows, sizes: list[int]) -> list[object]:
    keyring = Keyring.from_config(generate_signing_key())
    leaves = [r.leaf_hash() for r in rows]
    return [keyring.sign_checkpoint(TENANT, s, root_hash(leaves[:s]), T0) for s in sizes]


def test_checkpoint_roots_are_checked() -> None:
    rows = build(30)
    cps = checkpoints_for(rows, [5, 16, 30])
    result = verify_chain(rows, checkpoints=cps, chunk_size=4)
    assert result.ok and result.checkpoints_checked == 3


def test_tail_removal_is_caught_by_a_checkpoint() -> None:
    rows = build(30)
    cps = checkpoints_for(rows, [10, 30])
    assert verify_chain(rows[:30], checkpoints=cps).ok
    result = verify_chain(rows[:27], checkpoints=cps)
    assert (result.kind, result.first_bad_seq) == (TamperKind.REMOVED, 27)


def test_tail_removal_and_extra_entries_against_the_head() -> None:
    rows = build(30)
    result = verify_chain(rows[:29], expected_size=30)
    assert (result.kind, result.first_bad_seq) == (TamperKind.REMOVED, 29)
    extra = [*rows, forged(30, rows[-1].entry_hash)]
    result = verify_chain(extra, expected_size=30)
    assert (result.kind, result.first_bad_seq) == (TamperKind.INSERTED, 30)


def test_rewritten_history_is_caught_by_a_checkpoint() -> None:
    # A tamperer rebuilds the whole chain from entry 12 on: every hash and link is consistent,
    # only the signed Merkle roots show it.
    rows = build(30)
    cps = checkpoints_for(rows, [10, 20, 30])
    from probity.ledger import CompactRange

    merkle = CompactRange()
    merkle.extend([r.leaf_hash() for r in rows[:12]])
    appender = ChainAppender(TENANT, next_seq=12, last_hash=rows[11].entry_hash, merkle=merkle)
    rewritten = rows[:12] + [
        appender.append("chat.message", {"i": i}, time=T0) for i in range(12, 30)
    ]
    assert verify_chain(rewritten).ok  # without checkpoints this cannot be seen
    result = verify_chain(rewritten, checkpoints=cps)
    assert (result.kind, result.first_bad_seq) == (TamperKind.ALTERED, 10)
    assert "10–19" in result.message
    assert result.checkpoints_checked == 1


def test_checkpoint_of_another_tenant_is_refused() -> None:
    rows = build(5)
    keyring = Keyring.from_config(generate_signing_key())
    other = keyring.sign_checkpoint("t-other", 5, root_hash([r.leaf_hash() for r in rows]), T0)
    with pytest.raises(ValueError, match="t-other"):
        verify_chain(rows, tenant=TENANT, checkpoints=[other])


def test_each_kind_has_a_distinct_report() -> None:
    # the four tamperings the ledger service's database tests perform, one each
    results = {
        kind: verify_chain(tamper(build(30)), tenant=TENANT)
        for tamper, kind in [
            (alter_payload, TamperKind.ALTERED),
            (remove, TamperKind.REMOVED),
            (insert_and_renumber_bad_hash, TamperKind.INSERTED),
            (swap_adjacent_seqs, TamperKind.REORDERED),
        ]
    }
    assert {kind: r.kind for kind, r in results.items()} == {k: k for k in results}
    assert len({r.message for r in results.values()}) == 4


def test_last_entry_hash_in_upper_case_is_caught() -> None:
    rows = build(10)
    rows[-1] = rows[-1]._replace(entry_hash=rows[-1].entry_hash.upper())
    result = verify_chain(rows)
    assert (result.kind, result.first_bad_seq) == (TamperKind.ALTERED, 9)


def test_short_rows_do_not_crash() -> None:
    rows: list[tuple[object, ...]] = [tuple(r) for r in build(6)]
    rows[3] = rows[3][:5]
    result = verify_chain(rows)  # type: ignore[arg-type]
    assert not result.ok and result.first_bad_seq == 3

"""RFC 9162 Merkle trees: known vectors, proofs for every (i, n) and (m, n), tampering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.ledger import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 test leaves used by Certificate Transparency implementations, and the roots of
# their prefixes (from Google's / transparency-dev's merkle test vectors).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [leaf_hash(d) for d in CT_LEAVES]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def test_hash_definitions() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert root_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_known_roots(n: int) -> None:
    assert root_hash(LEAVES[:n]).hex() == CT_ROOTS[n - 1]


def test_known_inclusion_and_consistency_vectors() -> None:
    # RFC 6962 §2.1.3 example tree of 7 leaves: the path for d0 is [b, h, l].
    seven = LEAVES[:7]
    path = inclusion_proof(seven, 0)
    assert path == [LEAVES[1], node_hash(LEAVES[2], LEAVES[3]), root_hash(LEAVES[4:7])]
    # and the consistency proof between sizes 3 and 7 is [c, d, g, l]
    proof = consistency_proof(seven, 3)
    assert proof == [LEAVES[2], LEAVES[3], node_hash(LEAVES[0], LEAVES[1]), root_hash(LEAVES[4:7])]
    assert verify_consistency(3, 7, root_hash(LEAVES[:3]), root_hash(seven), proof)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_inclusion_proof_verifies(n: int) -> None:
    data = leaves(n)
    root = root_hash(data)
    for i in range(n):
        proof = inclusion_proof(data, i)
        assert verify_inclusion(data[i], i, n, proof, root)
        assert not verify_inclusion(flip(data[i]), i, n, proof, root)
        assert not verify_inclusion(data[i], i, n, proof, flip(root))
        assert not verify_inclusion(data[i], i, n, [*proof, data[0]], root)
        if proof:
            assert not verify_inclusion(data[i], i, n, proof[:-1], root)
            assert not verify_inclusion(data[i], i, n, [flip(proof[0]), *proof[1:]], root)
        if n > 1:
            other = (i + 1) % n
            assert not verify_inclusion(data[i], other, n, proof, root)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_consistency_proof_verifies(n: int) -> None:
    data = leaves(n)
    new_root = root_hash(data)
    for m in range(0, n + 1):
        old_root = root_hash(data[:m])
        proof = consistency_proof(data, m)
        assert verify_consistency(m, n, old_root, new_root, proof), (m, n)
        assert not verify_consistency(m, n, flip(old_root), new_root, proof)
        if m:  # the empty tree is a prefix of every tree, whatever its root
            assert not verify_consistency(m, n, old_root, flip(new_root), proof)
        if proof:
            assert not verify_consistency(m, n, old_root, new_root, proof[:-1])
            assert not verify_consistency(m, n, old_root, new_root, [*proof, data[0]])
            assert not verify_consistency(m, n, old_root, new_root, [flip(proof[0]), *proof[1:]])
        if 0 < m < n:
            assert not verify_consistency(m, n, old_root, new_root, [])


def test_consistency_rejects_bad_sizes() -> None:
    data = leaves(8)
    assert not verify_consistency(9, 8, root_hash(data), root_hash(data), [])
    assert verify_consistency(8, 8, root_hash(data), root_hash(data), [])
    assert not verify_consistency(8, 8, root_hash(data), root_hash(data[:7]), [])
    with pytest.raises(ValueError):
        consistency_proof(data, 9)
    with pytest.raises(ValueError):
        inclusion_proof(data, 8)


def test_proofs_from_a_subtree_function() -> None:
    data = leaves(21)
    calls: list[tuple[int, int]] = []

    def subtree(start: int, end: int) -> bytes:
        calls.append((start, end))
        return root_hash(data[start:end])

    assert inclusion_proof(subtree, 5, 21) == inclusion_proof(data, 5)
    assert consistency_proof(subtree, 6, 21) == consistency_proof(data, 6)
    assert calls


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_inclusion(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 70))
    i = data.draw(st.integers(0, n - 1))
    items = leaves(n)
    root = root_hash(items)
    proof = inclusion_proof(items, i)
    assert verify_inclusion(items[i], i, n, proof, root)
    wrong_index = data.draw(st.integers(0, n - 1).filter(lambda j: j != i)) if n > 1 else None
    if wrong_index is not None:
        assert not verify_inclusion(items[i], wrong_index, n, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[k] = (
            bad[k][: bit // 8] + bytes([bad[k][bit // 8] ^ (1 << bit % 8)]) + bad[k][bit // 8 + 1 :]
        )
        assert not verify_inclusion(items[i], i, n, bad, root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_consistency(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 70))
    m = data.draw(st.integers(0, n))
    items = leaves(n)
    proof = consistency_proof(items, m)
    old, new = root_hash(items[:m]), root_hash(items)
    assert verify_consistency(m, n, old, new, proof)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = flip(bad[k])
        assert not verify_consistency(m, n, old, new, bad)
    # A tree that differs in any one leaf of the old range is not consistent.
    if m:
        j = data.draw(st.integers(0, m - 1))
        forked = list(items)
        forked[j] = flip(forked[j])
        assert not verify_consistency(m, n, root_hash(forked[:m]), new, proof)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_compact_range_matches_root(batches: list[int]) -> None:
    total = sum(batches)
    items = leaves(total)
    one_by_one, in_batches = CompactRange(), CompactRange()
    position = 0
    for size in batches:
        for leaf in items[position : position + size]:
            one_by_one.append(leaf)
        in_batches.extend(items[position : position + size])
        position += size
        assert one_by_one.root() == in_batches.root() == root_hash(items[:position])
    restored = CompactRange(in_batches.size, in_batches.peaks)
    assert restored.root() == root_hash(items)
    assert len(restored.peaks) == total.bit_count()


def test_compact_range_validation() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [b"x" * 32])
    with pytest.raises(ValueError):
        CompactRange().append(b"short")
    with pytest.raises(ValueError):
        CompactRange().extend([b"short"])
    assert CompactRange().root() == EMPTY_ROOT

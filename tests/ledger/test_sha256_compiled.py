"""The compiled bulk hashes (``probity.ledger._sha256``, used through ``batch.leaf_hashes``
and ``merkle``'s perfect subtrees where built) are hashlib's, byte for byte: leaf hashes of
any text (non-ASCII too; lone surrogates refused alike) and Merkle roots of any size, against
the pure-Python path run in the same test."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.ledger import batch, merkle
from probity.ledger.canonical import CanonicalJSONError

compiled = merkle.COMPILED_SHA256
needs_build = pytest.mark.skipif(compiled is None,
                                 reason="probity.ledger._sha256 not built (make install)")


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH, straight from its definition."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


@needs_build
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=50))
def test_leaf_hashes_are_hashlibs(texts: list[str]) -> None:
    want = [hashlib.sha256(b"\x00" + t.encode("utf-8")).digest() for t in texts]
    assert compiled.leaf_hashes(texts) == want
    assert batch.leaf_hashes(texts) == want


@needs_build
def test_leaf_hashes_refuse_what_hashlibs_path_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CanonicalJSONError):
        batch.leaf_hashes(["ok", "lone \ud800 surrogate"])
    assert compiled.leaf_hashes(["a", b"bytes"]) is None  # not str: the caller's path decides
    monkeypatch.setattr(batch, "COMPILED_SHA256", None)
    with pytest.raises(CanonicalJSONError):
        batch.leaf_hashes(["ok", "lone \ud800 surrogate"])


@needs_build
@pytest.mark.parametrize("n", [1, 2, 3, 63, 64, 65, 127, 128, 129, 1000, 4097])
def test_roots_are_the_pure_paths(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    root = merkle.root_hash(leaves)
    assert root == _mth(leaves)
    monkeypatch.setattr(merkle, "COMPILED_SHA256", None)
    assert merkle.root_hash(leaves) == root


@needs_build
def test_node_level_only_for_pairs_of_32_byte_hashes() -> None:
    h = hashlib.sha256(b"x").digest()
    assert compiled.node_level([h, h]) == [hashlib.sha256(b"\x01" + h + h).digest()]
    assert compiled.node_level([h]) is None
    assert compiled.node_level([h, h[:31]]) is None
    assert compiled.node_level([h, bytearray(h)]) is None

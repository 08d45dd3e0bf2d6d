"""Merkle tree hashing as defined by RFC 9162 §2.1 (the same as RFC 6962 §2.1).

* leaf hash  = SHA-256(0x00 ‖ leaf data)
* node hash  = SHA-256(0x01 ‖ left ‖ right)
* MTH({})    = SHA-256("") (the empty tree)
* MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])) with k the largest power of two < n.

All hashes here are 32-byte ``bytes``. Every function takes *leaf hashes* (not leaf data): in
the ledger the leaf hash of entry ``seq`` is its ``entry_hash`` (see :mod:`.chain`), so the
tree can be rebuilt from the stored hashes alone, after a purge as before.

:class:`CompactRange` is the O(log n) accumulator: it keeps one hash per set bit of the tree
size (the roots of the perfect subtrees the tree decomposes into, left to right), so appending
a leaf and reading the root never need the earlier leaves. Its ``extend`` hashes whole
aligned power-of-two blocks level by level with C-level ``map`` calls, which is what makes
full-ledger verification run near raw SHA-256 speed.

The proof generators follow the RFC's recursive PATH and SUBPROOF definitions; the verifiers
follow the RFC's iterative algorithms (§2.1.3.2 and §2.1.4.2) step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from operator import methodcaller
from typing import Any

from probity.compiled import load

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
# Bulk leaf and node hashes in C (``_sha256.pyx``: OpenSSL's SHA-256, as hashlib's), or None:
# not built, stale, or PROBITY_PURE_HELPERS=1 (probity.compiled.load).
COMPILED_SHA256: Any = load("probity.ledger._sha256")
_digest = methodcaller("digest")
_node_prefix = NODE_PREFIX.__add__

SubtreeRoot = Callable[[int, int], bytes]
"""``subtree_root(start, end)`` → MTH of leaves ``[start, end)``; lets a caller plug in a cache."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 ‖ data)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _perfect_root(level: list[bytes]) -> bytes:
    """Root of a perfect subtree (len(level) a power of two), hashed level by level (compiled
    where built: :data:`COMPILED_SHA256`, the same hashes)."""
    sha256, prefix = _sha256, NODE_PREFIX
    if COMPILED_SHA256 is not None and len(level) >= 64:
        while len(level) > 1:
            up = COMPILED_SHA256.node_level(level)
            if up is None:
                break
            level = up
    while len(level) > 1:
        level = [
            sha256(prefix + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=True)
        ]
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n ≤ 2k, for n ≥ 2 (the RFC's split point)."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """Append-only Merkle accumulator over leaves ``[0, size)`` in O(log n) memory.

    ``peaks`` are the roots of the perfect subtrees, largest (leftmost) first; there is one
    per set bit of ``size``. Persist ``(size, peaks)`` and rebuild with
    ``CompactRange(size, peaks)``.
    """

    __slots__ = ("_heights", "_peaks", "_size")

    def __init__(self, size: int = 0, peaks: Iterable[bytes] = ()) -> None:
        peak_list = [bytes(p) for p in peaks]
        if size < 0:
            raise ValueError("size must be ≥ 0")
        if len(peak_list) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} peaks, not {len(peak_list)}"
            )
        if any(len(p) != HASH_SIZE for p in peak_list):
            raise ValueError("peaks must be 32-byte hashes")
        self._size = size
        self._peaks = peak_list
        self._heights = [h for h in range(size.bit_length() - 1, -1, -1) if size >> h & 1]

    @property
    def size(self) -> int:
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        return tuple(self._peaks)

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._peaks)

    def _push(self, digest: bytes, height: int) -> None:
        peaks, heights = self._peaks, self._heights
        while heights and heights[-1] == height:
            digest = _sha256(NODE_PREFIX + peaks.pop() + digest).digest()
            heights.pop()
            height += 1
        peaks.append(digest)
        heights.append(height)

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (32 bytes)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("leaf hashes are 32 bytes")
        self._push(leaf, 0)
        self._size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append many leaf hashes; aligned power-of-two blocks are hashed in bulk."""
        position, total = 0, len(leaves)
        while position < total:
            remaining = total - position
            height = remaining.bit_length() - 1
            if self._size:
                # A block of 2**h leaves can only be added where the tree size is a multiple of it.
                height = min(height, (self._size & -self._size).bit_length() - 1)
            block = 1 << height
            if block == total and isinstance(leaves, list):
                chunk = leaves  # the common case in verification: no copy
            else:
                chunk = list(leaves[position : position + block])
            if set(map(len, chunk)) != {HASH_SIZE}:
                raise ValueError("leaf hashes are 32 bytes")
            self._push(_perfect_root(chunk), height)
            self._size += block
            position += block

    def root(self) -> bytes:
        """MTH of the leaves so far (``EMPTY_ROOT`` for size 0)."""
        if not self._peaks:
            return EMPTY_ROOT
        digest = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            digest = _sha256(NODE_PREFIX + peak + digest).digest()
        return digest

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes."""
    acc = CompactRange()
    acc.extend(leaves)
    return acc.root()


def _subtree_function(leaves: Sequence[bytes] | SubtreeRoot) -> SubtreeRoot:
    if callable(leaves):
        return leaves
    seq = leaves

    def subtree_root(start: int, end: int) -> bytes:
        return root_hash(seq[start:end])

    return subtree_root


def inclusion_proof(
    leaves: Sequence[bytes] | SubtreeRoot, index: int, tree_size: int | None = None
) -> list[bytes]:
    """Audit path for leaf *index* in the tree of the first *tree_size* leaves (RFC 9162 PATH).

    *leaves* is the list of leaf hashes, or a ``subtree_root(start, end)`` function (then
    *tree_size* is required).
    """
    if tree_size is None:
        if callable(leaves):
            raise ValueError("tree_size is required with a subtree_root function")
        tree_size = len(leaves)
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    subtree = _subtree_function(leaves)
    path: list[bytes] = []
    start, end = 0, tree_size
    # Walk down from the root; siblings are collected top-down, then reversed (PATH is bottom-up).
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_proof(
    leaves: Sequence[bytes] | SubtreeRoot, old_size: int, new_size: int | None = None
) -> list[bytes]:
    """Consistency proof from tree size *old_size* to *new_size* (RFC 9162 SUBPROOF).

    Empty when ``old_size`` is 0 or equal to ``new_size``.
    """
    if new_size is None:
        if callable(leaves):
            raise ValueError("new_size is required with a subtree_root function")
        new_size = len(leaves)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"need 0 ≤ old_size ≤ new_size, got {old_size}, {new_size}")
    if old_size in (0, new_size):
        return []
    subtree = _subtree_function(leaves)
    proof: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree(start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            m -= k
            start += k
            complete = False
    proof.reverse()
    return proof


def _check_hash(value: bytes) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does *proof* put leaf hash *leaf* at *index* in (*tree_size*, *root*)?"""
    if not (_check_hash(leaf) and _check_hash(root) and all(map(_check_hash, proof))):
        return False
    # 1. If leaf_index is greater than or equal to tree_size, then stop and fail.
    if index < 0 or index >= tree_size:
        return False
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, tree_size - 1
    # 3. Set r to hash.
    r = bytes(leaf)
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(bytes(p), r)
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
            #     LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: Set r to HASH(0x01 || r || p).
            r = node_hash(r, bytes(p))
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the
    #    root_hash are equal, then the log has proven the inclusion of hash.
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does *proof* show (*old_size*, *old_root*) is a prefix of the new tree?"""
    if not (_check_hash(old_root) and _check_hash(new_root) and all(map(_check_hash, proof))):
        return False
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        # Same tree: the proof is empty and the roots are equal.
        return not proof and old_root == new_root
    if old_size == 0:
        # The empty tree is a prefix of every tree; the proof is empty.
        return not proof and old_root == EMPTY_ROOT
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not proof:
        return False
    path = [bytes(c) for c in proof]
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
            #      LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: i. Set sr to HASH(0x01 || sr || c).
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
    return sn == 0 and fr == old_root and sr == new_root

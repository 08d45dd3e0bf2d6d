"""Record batches: ONE ledger entry commits to many records through a Merkle root of salted
per-record leaves (format ``probity-record-batch/v1``, see FORMATS.md §7). Pure: no database.

A bulk import of N payments appends one ``finance.payment_batch`` entry instead of N
``finance.payment`` entries. Each record's *leaf* is the canonical JSON of what the per-record
entry's payload would have been — the record as stored, with ``"action"`` and a random
``"_salt"`` — and its leaf hash is the RFC 9162 leaf hash of those bytes::

    leaf text  = canonical JSON of {"_salt": <32 hex>, "action": "insert", <record fields>}
    leaf hash  = SHA-256(0x00 ‖ UTF-8(leaf text))
    batch root = MTH(leaf hashes in leaf order)             (RFC 9162, :mod:`.merkle`)

    batch entry payload = {"count": N, "format": "probity-record-batch/v1",
                           "record": "payment", "root": "<64 hex>"}

The entry itself is an ordinary ledger entry (hash chain, tree, checkpoints), so a record is
proven by two inclusion proofs: its leaf in the batch root, the batch entry in a signed
checkpoint. Proofs are derived on demand from the stored leaf hashes.

Erasure: the salt makes a kept leaf hash useless for guessing the record's personal content,
so a record's content (and its salt) can be erased while its leaf hash, the batch root and the
chain all still verify — the same rule as a salted entry's purged payload.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from operator import methodcaller
from typing import Any

from .canonical import CanonicalJSONError, canonical_json, canonical_text_fast
from .merkle import COMPILED_SHA256, HASH_SIZE, inclusion_proof, root_hash, verify_inclusion

__all__ = [
    "BATCH_FORMAT",
    "SALT_KEY",
    "BatchTree",
    "batch_payload",
    "leaf_hashes",
    "leaf_text",
    "leaf_texts",
    "new_salts",
    "pack_leaves",
    "record_proof",
    "root_hash",
    "unpack_leaves",
    "verify_record",
]

BATCH_FORMAT = "probity-record-batch/v1"
SALT_KEY = "_salt"
_SALT_HEX = 32  # 16 random bytes, as a salted entry's "_salt"
_sha256 = hashlib.sha256


def new_salts(n: int) -> list[str]:
    """*n* random salts (32 hex digits each), from one random read."""
    blob = secrets.token_hex(16 * n)
    return [blob[i:i + _SALT_HEX] for i in range(0, _SALT_HEX * n, _SALT_HEX)]


def leaf_text(payload: Mapping[str, Any], salt: str) -> str:
    """The canonical JSON text of *payload* with ``"_salt": salt`` added (the salt is spliced
    in front where that gives the same text: every key sorts after ``"_salt"``)."""
    if SALT_KEY in payload:
        raise ValueError("a record payload must not carry its own _salt")
    if not payload:
        return f'{{"{SALT_KEY}":"{salt}"}}'
    plain = canonical_text_fast(payload)
    if plain is not None and min(payload) > SALT_KEY:
        return f'{{"{SALT_KEY}":"{salt}",{plain[1:]}'
    return canonical_json({**payload, SALT_KEY: salt}).decode("utf-8")


def leaf_texts(payloads: Sequence[Mapping[str, Any]], salts: Sequence[str]) -> list[str]:
    """:func:`leaf_text` for each payload and its salt."""
    if len(payloads) != len(salts):
        raise ValueError("one salt per payload")
    return list(map(leaf_text, payloads, salts))


def _leaf(text: str) -> bytes:
    try:
        return _sha256(b"\x00" + text.encode("utf-8")).digest()
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("strings must not contain lone surrogates") from exc


_digest = methodcaller("digest")
_leaf_prefix = b"\x00".__add__


def leaf_hashes(texts: Sequence[str]) -> list[bytes]:
    """The RFC 9162 leaf hash of each leaf text (32 bytes each), in C-level ``map`` calls, or
    in one compiled call where built (``merkle.COMPILED_SHA256``: the same hashes)."""
    try:
        if COMPILED_SHA256 is not None and type(texts) is list:
            done: list[bytes] | None = COMPILED_SHA256.leaf_hashes(texts)
            if done is not None:
                return done
        return list(map(_digest, map(_sha256, map(_leaf_prefix, map(str.encode, texts)))))
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("strings must not contain lone surrogates") from exc


def batch_payload(record: str, leaves: Sequence[bytes]) -> dict[str, Any]:
    """The batch entry's payload committing to *leaves* (in order)."""
    if not leaves:
        raise ValueError("a batch holds at least one record")
    return {"count": len(leaves), "format": BATCH_FORMAT, "record": record,
            "root": root_hash(list(leaves)).hex()}


def pack_leaves(leaves: Sequence[bytes]) -> bytes:
    """The leaf hashes as one blob (32 bytes each, in leaf order), as stored."""
    if set(map(len, leaves)) - {HASH_SIZE}:
        raise ValueError("leaf hashes are 32 bytes")
    return b"".join(leaves)


def unpack_leaves(blob: bytes) -> list[bytes]:
    if len(blob) % HASH_SIZE:
        raise ValueError("a leaf blob is a multiple of 32 bytes")
    return [bytes(blob[i:i + HASH_SIZE]) for i in range(0, len(blob), HASH_SIZE)]


def record_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf *index* in the batch (RFC 9162 PATH)."""
    return inclusion_proof(leaves, index, len(leaves))


def verify_record(text: str, index: int, path: Sequence[bytes], batch: Mapping[str, Any]) -> bool:
    """Does the leaf *text* sit at *index* of the batch whose entry payload is *batch*?"""
    try:
        if batch.get("format") != BATCH_FORMAT:
            return False
        count, root = batch["count"], bytes.fromhex(batch["root"])
        if not isinstance(count, int) or isinstance(count, bool):
            return False
        return verify_inclusion(_leaf(text), index, count, path, root)
    except (KeyError, TypeError, ValueError, CanonicalJSONError):
        return False


class BatchTree:
    """Every level of a batch's Merkle tree, built once (about 2n hashes), so the audit paths
    of many of its records cost O(log n) each instead of O(n) (:func:`record_proof`).

    The RFC 9162 tree equals the left-packed binary tree in which a level's odd last node is
    carried up unchanged; a node's audit path is then its sibling at each level, skipping the
    levels where it has none."""

    __slots__ = ("levels",)

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a batch holds at least one record")
        level = list(leaves)
        self.levels = [level]
        sha256, prefix = _sha256, b"\x01"
        while len(level) > 1:
            nxt = [sha256(prefix + a + b).digest()
                   for a, b in zip(level[0::2], level[1::2], strict=False)]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)
            level = nxt

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < len(self.levels[0]):
            raise ValueError(f"leaf index {index} is outside a batch of {len(self.levels[0])}")
        path: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path

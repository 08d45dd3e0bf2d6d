"""Ledger entries, their hashed form, the append-side accumulator and chain verification.

Hashed form of an entry
-----------------------
An entry has six header fields. Its *header* is their canonical JSON object (see
:mod:`.canonical`; keys in sorted order, no whitespace)::

    {"payload_hash":"<64 hex>","prev_hash":"<64 hex>","seq":<int>,"tenant":"<id>",
     "time":"YYYY-MM-DDTHH:MM:SS.ffffffZ","type":"<dotted.name>"}

    payload_hash = hex(SHA-256(canonical JSON of the payload))
    entry_hash   = hex(SHA-256(0x00 ‖ header))       (= the RFC 9162 leaf hash of the header)
    prev_hash    = entry_hash of entry seq-1, or 64 "0" for the genesis entry (seq 0)

So the Merkle leaf of entry ``seq`` (leaf index = seq) is exactly ``bytes.fromhex(entry_hash)``:
one SHA-256 per entry serves both the hash chain and the tree. The payload enters only
through its hash, so a retention purge can drop the payload (``payload = None``) and keep
``payload_hash``; the chain, the tree and every proof still verify. For payloads holding
low-entropy personal data, pass ``salt=True`` to :func:`make_entry`: a random ``"_salt"``
member makes the kept hash useless for guessing the purged content.

Field rules (checked on creation, so that the fixed header template below is exactly the
canonical JSON of the header, with nothing to escape): ``seq`` ≥ 0; ``tenant`` matches
``[A-Za-z0-9][A-Za-z0-9._:-]{0,127}``; ``type`` is lower-case dotted
(``chat.message``, ``payment.refund``, ``case.action``, ``policy.change``…); ``time`` is UTC
with exactly six fractional digits and ``Z`` (:func:`format_time` makes one from an aware
datetime); hashes are 64 lower-case hex digits.

Stored entries
--------------
:class:`EntryRecord` is a named tuple in the order
``(seq, time, type, tenant, payload_hash, prev_hash, entry_hash, payload)``. The verifier
accepts any tuple-like rows in that order (e.g. database rows selected in that column order),
so a service can stream rows straight into :func:`verify_chain`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import compress, islice, repeat
from operator import is_not, itemgetter, methodcaller
from typing import Any, NamedTuple

from .canonical import CanonicalJSONError, canonical_json, canonical_text_fast
from .merkle import CompactRange

__all__ = [
    "GENESIS_HASH",
    "ChainAppender",
    "ChainVerification",
    "EntryRecord",
    "TamperKind",
    "chain_texts",
    "entry_hash",
    "entry_header",
    "format_time",
    "make_entries",
    "make_entry",
    "payload_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64

_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_TYPE_RE = re.compile(r"(?=.{1,64}\Z)[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\Z")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_HASH_RE = re.compile(r"[0-9a-f]{64}\Z")

_sha256 = hashlib.sha256
_hexdigest = methodcaller("hexdigest")


class EntryRecord(NamedTuple):
    """One stored ledger entry. ``payload`` is canonical JSON bytes, or ``None`` once purged."""

    seq: int
    time: str
    type: str
    tenant: str
    payload_hash: str
    prev_hash: str
    entry_hash: str
    payload: bytes | None = None

    def header(self) -> bytes:
        return entry_header(
            self.seq, self.time, self.type, self.tenant, self.payload_hash, self.prev_hash
        )

    def leaf_hash(self) -> bytes:
        """The Merkle leaf hash of this entry (its entry_hash as bytes)."""
        return bytes.fromhex(self.entry_hash)

    def purged(self) -> EntryRecord:
        """The same entry with its personal content dropped; it still verifies."""
        return self._replace(payload=None)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (payload as text), as written into evidence packs."""
        return {
            "seq": self.seq,
            "time": self.time,
            "type": self.type,
            "tenant": self.tenant,
            "payload_hash": self.payload_hash,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
            "payload": None if self.payload is None else self.payload.decode("utf-8"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryRecord:
        payload = data.get("payload")
        return cls(
            seq=int(data["seq"]),
            time=str(data["time"]),
            type=str(data["type"]),
            tenant=str(data["tenant"]),
            payload_hash=str(data["payload_hash"]),
            prev_hash=str(data["prev_hash"]),
            entry_hash=str(data["entry_hash"]),
            payload=None if payload is None else str(payload).encode("utf-8"),
        )


# The last moment formatted and its text: a batch's entries (a chat writer's batch: every
# message's created_at) share one time, and strftime is most of this function.
_LAST_TIME: tuple[datetime, str] | None = None


def format_time(moment: datetime) -> str:
    """The ledger's time format: UTC, microseconds, ``Z`` — e.g. ``2026-11-29T10:55:00.000000Z``."""
    global _LAST_TIME
    last = _LAST_TIME
    if last is not None and last[0] is moment:
        return last[1]
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("ledger times must be timezone-aware")
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _LAST_TIME = (moment, text)
    return text


def _check_fields(seq: int, time: str, type_: str, tenant: str, *hashes: str) -> None:
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError(f"seq must be an int ≥ 0, got {seq!r}")
    if not _TIME_RE.match(time):
        raise ValueError(f"time must look like 2026-11-29T10:55:00.000000Z, got {time!r}")
    if not _TYPE_RE.match(type_):
        raise ValueError(f"type must be lower-case dotted (e.g. chat.message), got {type_!r}")
    if not _TENANT_RE.match(tenant):
        raise ValueError(f"tenant id {tenant!r} has characters outside [A-Za-z0-9._:-]")
    for value in hashes:
        if not _HASH_RE.match(value):
            raise ValueError(f"hash must be 64 lower-case hex digits, got {value!r}")


def entry_header(
    seq: int, time: str, type: str, tenant: str, payload_hash: str, prev_hash: str
) -> bytes:
    """Canonical JSON of the header (without the 0x00 leaf prefix).

    Equal to ``canonical_json({...six fields...})`` for valid fields; written with a template
    because it is on the verification hot path.
    """
    return (
        f'{{"payload_hash":"{payload_hash}","prev_hash":"{prev_hash}","seq":{seq},'
        f'"tenant":"{tenant}","time":"{time}","type":"{type}"}}'
    ).encode()


def entry_hash(header: bytes) -> str:
    """hex(SHA-256(0x00 ‖ header)) — the entry hash, which is also its Merkle leaf hash."""
    return _sha256(b"\x00" + header).hexdigest()


def payload_hash(payload: bytes) -> str:
    """hex(SHA-256(canonical payload bytes))."""
    return _sha256(payload).hexdigest()


def make_entry(
    *,
    seq: int,
    time: str,
    type: str,
    tenant: str,
    prev_hash: str,
    payload: Any = None,
    payload_bytes: bytes | None = None,
    salt: bool = False,
) -> EntryRecord:
    """Build a valid entry. Give the payload as a JSON value (*payload*) or as bytes that are
    already canonical JSON (*payload_bytes*); ``salt=True`` adds a random ``"_salt"`` member
    to a dict payload (for purgeable personal data)."""
    if payload_bytes is None:
        if salt:
            if not isinstance(payload, dict):
                raise ValueError("salt=True needs a dict payload")
            payload = {**payload, "_salt": secrets.token_hex(16)}
        payload_bytes = canonical_json(payload)
    elif salt:
        raise ValueError("salt=True needs payload, not payload_bytes")
    p_hash = payload_hash(payload_bytes)
    _check_fields(seq, time, type, tenant, p_hash, prev_hash)
    e_hash = entry_hash(entry_header(seq, time, type, tenant, p_hash, prev_hash))
    return EntryRecord(seq, time, type, tenant, p_hash, prev_hash, e_hash, payload_bytes)


def make_entries(
    *,
    seq: int,
    time: str,
    tenant: str,
    prev_hash: str,
    items: Iterable[tuple[str, Any]],
    salt: bool = False,
) -> list[EntryRecord]:
    """Chain ``(type, payload)`` items after ``(seq, prev_hash)``: the same entries as repeated
    :func:`make_entry` calls with the same *time*, built in one loop (the shared fields and
    each distinct type are checked once, not once per entry)."""
    _check_fields(seq, time, "chat.message", tenant, prev_hash)
    checked: set[str] = set()
    sha256 = _sha256
    out: list[EntryRecord] = []
    append = out.append
    items = list(items)
    # The salts of the whole batch from one read of the OS's random source (16 random bytes
    # each, as secrets.token_hex(16)): a system call per entry was a tenth of the chain's time.
    salts = secrets.token_hex(16 * len(items)) if salt else ""
    for i, (type_, payload) in enumerate(items):
        if type_ not in checked:
            if not isinstance(type_, str) or not _TYPE_RE.match(type_):
                raise ValueError(
                    f"type must be lower-case dotted (e.g. chat.message), got {type_!r}")
            checked.add(type_)
        if salt:
            if not isinstance(payload, dict):
                raise ValueError("salt=True needs a dict payload")
            payload = {**payload, "_salt": salts[32 * i:32 * i + 32]}
        body = canonical_json(payload)
        p_hash = sha256(body).hexdigest()
        e_hash = sha256(
            f'\x00{{"payload_hash":"{p_hash}","prev_hash":"{prev_hash}","seq":{seq},'
            f'"tenant":"{tenant}","time":"{time}","type":"{type_}"}}'.encode()
        ).hexdigest()
        append(EntryRecord(seq, time, type_, tenant, p_hash, prev_hash, e_hash, body))
        seq += 1
        prev_hash = e_hash
    return out


_SALT_KEY = "_salt"


def chain_texts(
    *,
    seq: int,
    time: str,
    tenant: str,
    prev_hash: str,
    items: Sequence[tuple[str, Any]],
    salt: bool = False,
    bodies: Sequence[bytes | None] | None = None,
) -> list[tuple[int, str, str, str, str, str]]:
    """:func:`make_entries`' entries in the database rows' form: ``(seq, type, payload_hash,
    prev_hash, entry_hash, payload text)``, the same values (the payload text is the canonical
    JSON that ``make_entries`` returns as bytes). One loop for bulk appends (an import's
    100,000 entries): no :class:`EntryRecord`, no bytes → text round trip, and a salt is
    spliced into the encoded payload instead of copying the dict, where that gives the same
    bytes (every key sorts after ``"_salt"``; keys are then BMP strings, so code-point order
    is RFC 8785's UTF-16 order).

    ``bodies`` (optional, one per item): the canonical JSON of the item's payload, unsalted,
    as the caller already made it (e.g. `probity.ledger.facts.message_json`: the chat writer),
    or None for an item this makes as usual. A body given for a salted item must be that of a
    dict whose keys all sort after ``"_salt"`` (the salt is spliced in as its first member)."""
    _check_fields(seq, time, "chat.message", tenant, prev_hash)
    checked: set[str] = set()
    sha256 = _sha256
    out: list[tuple[int, str, str, str, str, str]] = []
    append = out.append
    salts = secrets.token_hex(16 * len(items)) if salt else ""
    salt_bytes = salts.encode() if bodies is not None else b""
    fast = canonical_text_fast
    for i, (type_, payload) in enumerate(items):
        if type_ not in checked:
            if not isinstance(type_, str) or not _TYPE_RE.match(type_):
                raise ValueError(
                    f"type must be lower-case dotted (e.g. chat.message), got {type_!r}")
            checked.add(type_)
        made = bodies[i] if bodies is not None else None
        if made is not None:  # the caller's canonical bytes: no text → bytes round trip
            if salt:
                made = (b'{"_salt":"' + salt_bytes[32 * i:32 * i + 32]
                        + (b'"}' if made == b"{}" else b'",' + made[1:]))
            body, text = made, made.decode()
        else:
            t: str | None = None
            if salt:
                if not isinstance(payload, dict):
                    raise ValueError("salt=True needs a dict payload")
                s = salts[32 * i:32 * i + 32]
                if not payload:
                    t = f'{{"{_SALT_KEY}":"{s}"}}'
                else:
                    plain = fast(payload)  # None unless a plain dict with str keys
                    if plain is not None and min(payload) > _SALT_KEY:
                        t = f'{{"{_SALT_KEY}":"{s}",{plain[1:]}'
                if t is None:
                    t = canonical_json({**payload, _SALT_KEY: s}).decode("utf-8")
            else:
                t = fast(payload)
                if t is None:
                    t = canonical_json(payload).decode("utf-8")
            try:
                body = t.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise CanonicalJSONError("strings must not contain lone surrogates") from exc
            text = t
        p_hash = sha256(body).hexdigest()
        e_hash = sha256(
            f'\x00{{"payload_hash":"{p_hash}","prev_hash":"{prev_hash}","seq":{seq},'
            f'"tenant":"{tenant}","time":"{time}","type":"{type_}"}}'.encode()
        ).hexdigest()
        append((seq, type_, p_hash, prev_hash, e_hash, text))
        seq += 1
        prev_hash = e_hash
    return out


@dataclass
class ChainAppender:
    """In-memory append side of one tenant's ledger: next seq, last hash, Merkle accumulator.

    The database service keeps the same three things (it can persist ``merkle.size`` and
    ``merkle.peaks`` next to the head, or rebuild them with :func:`verify_chain`).
    """

    tenant: str
    next_seq: int = 0
    last_hash: str = GENESIS_HASH
    merkle: CompactRange = field(default_factory=CompactRange)

    def __post_init__(self) -> None:
        if not _TENANT_RE.match(self.tenant):
            raise ValueError(f"tenant id {self.tenant!r} has characters outside [A-Za-z0-9._:-]")
        if self.merkle.size != self.next_seq:
            raise ValueError("the Merkle accumulator size must equal next_seq")

    def append(
        self,
        type: str,
        payload: Any = None,
        *,
        time: str | None = None,
        payload_bytes: bytes | None = None,
        salt: bool = False,
    ) -> EntryRecord:
        entry = make_entry(
            seq=self.next_seq,
            time=time if time is not None else format_time(datetime.now(UTC)),
            type=type,
            tenant=self.tenant,
            prev_hash=self.last_hash,
            payload=payload,
            payload_bytes=payload_bytes,
            salt=salt,
        )
        self.merkle.append(bytes.fromhex(entry.entry_hash))
        self.next_seq += 1
        self.last_hash = entry.entry_hash
        return entry

    @property
    def tree_size(self) -> int:
        return self.merkle.size

    def root(self) -> bytes:
        return self.merkle.root()


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


class TamperKind(StrEnum):
    """What the first problem in a chain looks like."""

    ALTERED = "altered"
    REMOVED = "removed"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True)
class ChainVerification:
    """Outcome of :func:`verify_chain`.

    ``entries_checked`` counts the entries that verified before the first problem.
    ``tree_size`` / ``root_hash`` / ``last_hash`` describe that verified prefix, so a caller can
    resume or compare with a checkpoint. ``first_bad_seq`` and ``kind`` are ``None`` when ok.
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None
    kind: TamperKind | None
    message: str
    tree_size: int
    root_hash: bytes
    last_hash: str
    checkpoints_checked: int = 0


_Row = Sequence[Any]  # (seq, time, type, tenant, payload_hash, prev_hash, entry_hash, payload)

_SEARCH_WINDOW = 64
_get_seq = itemgetter(0)
_get_tenant = itemgetter(3)
_get_payload_hash = itemgetter(4)
_get_prev = itemgetter(5)
_get_hash = itemgetter(6)
_get_payload = itemgetter(7)


def _row_entry_hash(row: _Row, seq: int | None = None) -> str:
    return entry_hash(
        entry_header(row[0] if seq is None else seq, row[1], row[2], row[3], row[4], row[5])
    )


def _payload_ok(row: _Row) -> bool:
    payload = row[7] if len(row) > 7 else None
    if payload is None:
        return True
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    return bool(payload_hash(data) == row[4])


def _original_seq(row: _Row) -> int | None:
    """The seq this row's stored hash was computed with, if it is near its current seq."""
    seq = row[0]
    if not isinstance(seq, int):
        return None
    for delta in range(1, _SEARCH_WINDOW + 1):
        for candidate in (seq + delta, seq - delta):
            if candidate >= 0 and _row_entry_hash(row, candidate) == row[6]:
                return candidate
    return None


@dataclass(frozen=True)
class _Finding:
    kind: TamperKind
    seq: int
    message: str


def _classify(
    row: _Row,
    prev: _Row | None,
    prev_prev_hash: str | None,
    nxt: _Row | None,
    expected_seq: int,
    expected_prev: str,
    tenant: str | None,
) -> _Finding:
    """Explain the first row that failed a check.

    The rules assume rows were edited directly (UPDATE/DELETE/INSERT) without recomputing the
    whole chain after them; a tamperer who re-hashes everything after the change is caught by
    the signed checkpoints instead (see :func:`verify_chain`).
    """
    seq = row[0]
    here = f"entry {seq}"
    if prev is not None and seq == prev[0]:
        return _Finding(TamperKind.INSERTED, seq, f"two entries carry seq {seq}: one was inserted")
    if not isinstance(seq, int) or seq < expected_seq:
        return _Finding(
            TamperKind.REORDERED,
            expected_seq,
            f"{here} is out of order (expected seq {expected_seq})",
        )
    if seq > expected_seq:
        if nxt is not None and nxt[0] == expected_seq:
            return _Finding(
                TamperKind.REORDERED,
                expected_seq,
                f"{here} comes before entry {expected_seq}: entries were reordered",
            )
        missing = (
            f"entry {expected_seq}"
            if seq == expected_seq + 1
            else f"entries {expected_seq}–{seq - 1}"
        )
        return _Finding(TamperKind.REMOVED, expected_seq, f"{missing} missing: seq jumps to {seq}")

    self_ok = _row_entry_hash(row) == row[6]
    link_ok = row[5] == expected_prev
    if self_ok and link_ok:
        if tenant is not None and row[3] != tenant:
            return _Finding(
                TamperKind.INSERTED, seq, f"{here} belongs to tenant {row[3]!r}, not {tenant!r}"
            )
        if not _payload_ok(row):
            return _Finding(
                TamperKind.ALTERED, seq, f"{here}: payload does not match its payload_hash"
            )
        return _Finding(TamperKind.ALTERED, seq, f"{here}: stored fields are malformed")

    if not self_ok:
        original = _original_seq(row)
        if original is None:
            if nxt is not None and nxt[5] == expected_prev and nxt[0] == seq + 1:
                return _Finding(
                    TamperKind.INSERTED,
                    seq,
                    f"{here} is not part of the chain: entry {nxt[0]} links straight to "
                    f"entry {seq - 1}",
                )
            return _Finding(
                TamperKind.ALTERED, seq, f"{here}: header does not match its entry_hash"
            )
        if original > seq:
            shift = original - seq
            if nxt is not None and (nxt[6] == row[5] or _original_seq(nxt) != nxt[0] + shift):
                return _Finding(
                    TamperKind.REORDERED,
                    seq,
                    f"{here} was written as entry {original}: entries were reordered",
                )
            missing = f"entry {seq}" if shift == 1 else f"entries {seq}–{original - 1}"
            return _Finding(
                TamperKind.REMOVED,
                seq,
                f"{missing} removed and later entries renumbered ({here} was written as "
                f"{original})",
            )
        inserted = f"entry {original}" if seq - original == 1 else f"entries {original}–{seq - 1}"
        return _Finding(
            TamperKind.INSERTED,
            original,
            f"{inserted} inserted: {here} was written as entry {original}",
        )

    # The row is self-consistent but does not link to its predecessor.
    if nxt is not None and (
        nxt[6] == row[5]
        # both rows re-hashed under their swapped seqs, links left alone
        or (isinstance(nxt[0], int) and nxt[0] > 0 and _row_entry_hash(nxt, nxt[0] - 1) == row[5])
    ):
        return _Finding(
            TamperKind.REORDERED, seq, f"{here} links to entry {nxt[0]}, which comes after it"
        )
    if prev is not None and prev_prev_hash is not None and row[5] == prev_prev_hash:
        return _Finding(
            TamperKind.INSERTED,
            prev[0],
            f"entry {prev[0]} was inserted: {here} links past it to entry {prev[0] - 1}",
        )
    if nxt is not None and nxt[5] == expected_prev and nxt[0] == seq + 1:
        return _Finding(
            TamperKind.INSERTED,
            seq,
            f"{here} is not part of the chain: entry {nxt[0]} links straight to entry {seq - 1}",
        )
    if prev is None:
        return _Finding(
            TamperKind.ALTERED, seq, f"{here}: prev_hash does not match the chain start"
        )
    return _Finding(
        TamperKind.ALTERED,
        prev[0],
        f"entry {prev[0]} was rewritten: its hash is not the one entry {seq} recorded",
    )


def _checkpoint_pairs(checkpoints: Iterable[Any], tenant: str | None) -> list[tuple[int, bytes]]:
    pairs: list[tuple[int, bytes]] = []
    for cp in checkpoints:
        if isinstance(cp, tuple):
            size, root = cp
        else:
            if tenant is not None and cp.tenant != tenant:
                raise ValueError(f"checkpoint is for tenant {cp.tenant!r}, not {tenant!r}")
            size, root = cp.tree_size, cp.root_hash
        pairs.append((int(size), bytes(root)))
    pairs.sort()
    return pairs


def verify_chain(
    entries: Iterable[_Row],
    *,
    tenant: str | None = None,
    checkpoints: Iterable[Any] = (),
    resume: CompactRange | None = None,
    prev_hash: str = GENESIS_HASH,
    expected_size: int | None = None,
    chunk_size: int = 16384,
) -> ChainVerification:
    """Recompute the hash chain and the Merkle tree over *entries* (in seq order) and stop at the
    first problem.

    * *entries*: rows ``(seq, time, type, tenant, payload_hash, prev_hash, entry_hash,
      payload)`` — :class:`EntryRecord` or any tuple-like in that order; read in chunks, so memory
      stays constant however long the ledger is.
    * *tenant*: when given, every entry must carry it.
    * *checkpoints*: trusted (already signature-checked) checkpoints, or ``(tree_size,
      root_hash)`` pairs; the recomputed root at each size must match, and the ledger must be at
      least as long as the largest one (else its tail was removed).
    * *expected_size*: the number of entries the ledger's head says it has (a stored head row);
      fewer means the tail was removed, more means entries were added behind the service's back.
    * *resume* / *prev_hash*: continue from a verified prefix (its accumulator and last entry
      hash) instead of from the genesis entry.

    Checks per entry: seq is the previous seq + 1; the header hashes to entry_hash; prev_hash is
    the previous entry's hash; the payload, when present, hashes to payload_hash; the tenant.
    """
    merkle = resume.copy() if resume is not None else CompactRange()
    start = merkle.size
    cps = [(size, root) for size, root in _checkpoint_pairs(checkpoints, tenant) if size > start]
    cp_index = 0
    checked_cps = 0
    position = start
    last = prev_hash
    prev_row: _Row | None = None
    prev_prev_hash: str | None = None
    iterator: Iterator[_Row] = iter(entries)

    def fail(finding: _Finding) -> ChainVerification:
        return ChainVerification(
            ok=False,
            entries_checked=position - start,
            first_bad_seq=finding.seq,
            kind=finding.kind,
            message=finding.message,
            tree_size=merkle.size,
            root_hash=merkle.root(),
            last_hash=last,
            checkpoints_checked=checked_cps,
        )

    while True:
        limit = chunk_size
        if cp_index < len(cps):
            limit = min(limit, cps[cp_index][0] - position)
        chunk = list(islice(iterator, limit))
        malformed = _first_malformed(chunk)
        rows = chunk if malformed is None else chunk[:malformed]
        if rows:
            bad, digests = _first_bad_index(rows, position, last, tenant)
            good = rows if bad is None else rows[:bad]
            if good:
                merkle.extend(digests if bad is None else digests[:bad])
                prev_prev_hash = last if len(good) == 1 else good[-2][6]
                last = good[-1][6]
                prev_row = good[-1]
                position += len(good)
            if bad is not None:
                row = rows[bad]
                nxt: _Row | None
                if bad + 1 < len(rows):
                    nxt = rows[bad + 1]
                else:
                    nxt = None if malformed is not None else next(iterator, None)
                return fail(_classify(row, prev_row, prev_prev_hash, nxt, position, last, tenant))
        if malformed is not None:
            return fail(
                _Finding(
                    TamperKind.ALTERED,
                    position,
                    f"entry {position}: stored row is malformed "
                    f"({len(chunk[malformed])} fields instead of 8)",
                )
            )
        while cp_index < len(cps) and cps[cp_index][0] == position:
            size, root = cps[cp_index]
            if merkle.root() != root:
                lower = cps[cp_index - 1][0] if cp_index else start
                return fail(
                    _Finding(
                        TamperKind.ALTERED,
                        lower,
                        f"entries {lower}–{size - 1} were rewritten: the Merkle root at tree "
                        f"size {size} does not match the signed checkpoint",
                    )
                )
            checked_cps += 1
            cp_index += 1
        if not chunk:
            break
    if cp_index < len(cps):
        size = cps[-1][0]
        return fail(
            _Finding(
                TamperKind.REMOVED,
                position,
                f"entries {position}–{size - 1} missing: the ledger ends at seq {position - 1} but "
                f"a signed checkpoint covers {size} entries",
            )
        )
    if expected_size is not None and position != expected_size:
        if position < expected_size:
            return fail(
                _Finding(
                    TamperKind.REMOVED,
                    position,
                    f"entries {position}–{expected_size - 1} missing: the ledger head records "
                    f"{expected_size} entries",
                )
            )
        return fail(
            _Finding(
                TamperKind.INSERTED,
                expected_size,
                f"entries {expected_size}–{position - 1} were added: the ledger head records "
                f"only {expected_size} entries",
            )
        )
    return ChainVerification(
        ok=True,
        entries_checked=position - start,
        first_bad_seq=None,
        kind=None,
        message=f"OK: {position - start} entries verified",
        tree_size=merkle.size,
        root_hash=merkle.root(),
        last_hash=last,
        checkpoints_checked=checked_cps,
    )


def _first_malformed(chunk: list[_Row]) -> int | None:
    """Index of the first row whose width differs (all 8 fields, or all 7 without payloads)."""
    if not chunk:
        return None
    widths = set(map(len, chunk))
    width = len(chunk[0])
    if widths == {width} and width in (7, 8):
        return None
    if width not in (7, 8):
        return 0
    return next(i for i, row in enumerate(chunk) if len(row) != width)


def _hex_to_bytes(value: Any) -> bytes:
    """Stored hash → bytes, or b"" when it is not 64 lower-case hex digits."""
    if isinstance(value, str) and _HASH_RE.match(value):
        return bytes.fromhex(value)
    return b""


def _first_mismatch(left: list[Any], right: list[Any]) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def _first_bad_index(
    chunk: list[_Row], start: int, last: str, tenant: str | None
) -> tuple[int | None, list[bytes]]:
    """Index of the first row in *chunk* failing any check (or None), and the recomputed leaf
    hashes. The fast path: list comprehensions and C-level ``map``/list comparisons only;
    per-row Python logic runs only after a mismatch, in :func:`_classify`."""
    candidates: list[int] = []
    n = len(chunk)
    sha256 = _sha256

    seqs = list(map(_get_seq, chunk))
    expected = list(range(start, start + n))
    if seqs != expected:
        candidates.append(_first_mismatch(seqs, expected))

    stored = list(map(_get_hash, chunk))
    try:
        # Indexing rows is cheaper than unpacking them (named tuples and database rows
        # are not plain tuples, so unpacking takes the slow iterator path).
        digests = [
            sha256(
                f'\x00{{"payload_hash":"{r[4]}","prev_hash":"{r[5]}","seq":{r[0]},'
                f'"tenant":"{r[3]}","time":"{r[1]}","type":"{r[2]}"}}'.encode()
            ).digest()
            for r in chunk
        ]
        # One join and one hex() per chunk instead of one per row; comparing text keeps the
        # check exact (lower-case hex, 64 digits each).
        same = b"".join(digests).hex() == "".join(stored) and set(map(len, stored)) == {64}
        stored_bytes = digests if same else [_hex_to_bytes(h) for h in stored]
    except (ValueError, TypeError, IndexError):  # a malformed row: find it the slow way
        digests, stored_bytes = [], []
        for row in chunk:
            try:
                digests.append(bytes.fromhex(_row_entry_hash(row)))
            except (ValueError, TypeError, IndexError):
                digests.append(b"?")
            stored_bytes.append(_hex_to_bytes(row[6]) if len(row) > 6 else b"")
    if digests != stored_bytes:
        candidates.append(_first_mismatch(digests, stored_bytes))

    # Up to the first bad entry hash, stored == recomputed, so links can use the stored hashes.
    prevs = list(map(_get_prev, chunk))
    links = [last, *stored[:-1]]
    if prevs != links:
        candidates.append(_first_mismatch(prevs, links))

    if tenant is not None:
        tenants = set(map(_get_tenant, chunk))
        if tenants != {tenant}:
            candidates.append(next(i for i, row in enumerate(chunk) if row[3] != tenant))

    if len(chunk[0]) > 7:
        payloads: list[Any] = list(map(_get_payload, chunk))
        purged = payloads.count(None)
        if purged == n:  # a fully purged chunk: nothing to hash
            present, data = [], []
        elif purged:
            present = list(map(is_not, payloads, repeat(None)))
            data = list(compress(payloads, present))
        else:  # nothing purged in this chunk (the usual case)
            present, data = [True] * n, payloads
        if data:
            try:
                got = [sha256(b).digest() for b in data]
            except TypeError:
                got = [
                    sha256(b.encode("utf-8") if isinstance(b, str) else b).digest() for b in data
                ]
            want = list(compress(map(_get_payload_hash, chunk), present))
            try:
                same = b"".join(got).hex() == "".join(want)
            except TypeError:
                same = False
            if not same:
                which = _first_mismatch([g.hex() for g in got], want)
                candidates.append(list(compress(range(n), present))[which])

    return (min(candidates) if candidates else None), digests

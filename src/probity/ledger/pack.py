"""Evidence packs: a zip that proves, offline, what the ledger holds about a conversation or case.

Layout (every path is fixed except the attachment and key names)::

    manifest.json        canonical JSON: {"format": "probity-evidence-pack/v1", "created": …,
                         "subject": {…}, "tenant": …, "files": {path: sha256 hex, …}}
    manifest.sig         one signed-note signature line over
                         b"probity-evidence-pack/v1\\n" ‖ manifest.json bytes:
                         "— <key_id> <base64(key_id bytes ‖ Ed25519 signature)>\\n"
    checkpoint.txt       the signed checkpoint note (see :mod:`.checkpoint`)
    entries.json         the ledger entries involved: seq, time, type, tenant, payload_hash,
                         prev_hash, entry_hash and payload (canonical JSON text, or null if purged)
    proofs.json          {"tree_size": n, "root_hash": hex, "proofs": [{"seq": i,
                         "entry_hash": hex, "audit_path": [hex, …]}, …]}, all in the
                         checkpoint's tree
    transcript.json      the conversation as given by the caller
    transcript.html      the same, readable in a browser (no scripts, no external resources)
    decisions.json       screening decisions
    payments.json        related payments and refunds
    record_proofs.json   (v2 only) records proven as leaves of a record batch entry
                         (probity-record-batch/v1): [{"no", "seq", "index", "leaf",
                         "leaf_hash", "audit_path"}, …] — the batch entry (seq) is in
                         entries.json with its own inclusion proof
    case_actions.json    case actions
    attachments/<sha256> each attachment's bytes, named by their SHA-256
    keys/<key_id>.pub    the public keys the exporter knew (informational only: a verifier
                         uses the keys it trusts, never keys found inside the pack)

Chain of trust: a trusted public key → checkpoint signature → Merkle root → each entry's
inclusion proof → entry_hash → header fields and payload_hash → payload (the message, decision,
payment… as recorded). A batched record adds one link: the batch entry's payload (its root and
count) → the record's audit path → its leaf hash → its leaf text (the payment as recorded), and
the payments.json item of the same number must agree with that leaf.

Formats: ``probity-evidence-pack/v1`` (no record_proofs.json) is still written when a pack has
no batched record, and verified as before; ``…/v2`` adds record_proofs.json. The manifest's
signature context is the pack's own format line.

Attachments are anchored by their SHA-256 appearing in a recorded payload. The human-facing
files (transcript, decisions, payments, case actions) are bound by the manifest,
whose signature is made with the same ledger key.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .batch import verify_record
from .canonical import CanonicalJSONError, canonical_json
from .chain import EntryRecord, entry_hash, entry_header, payload_hash
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    Keyring,
    load_public_key,
    verify_checkpoint,
)
from .merkle import verify_inclusion

__all__ = [
    "PACK_FORMAT",
    "PACK_FORMAT_V2",
    "EvidenceContents",
    "PackVerification",
    "build_pack",
    "verify_pack",
]

PACK_FORMAT = "probity-evidence-pack/v1"
PACK_FORMAT_V2 = "probity-evidence-pack/v2"  # with record_proofs.json (record batches)
_FORMATS = (PACK_FORMAT, PACK_FORMAT_V2)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SIG_DASH = "\u2014 "

MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
CHECKPOINT = "checkpoint.txt"
ENTRIES = "entries.json"
PROOFS = "proofs.json"
RECORD_PROOFS = "record_proofs.json"
_JSON_FILES = ("transcript.json", "decisions.json", "payments.json", "case_actions.json")


@dataclass(frozen=True)
class EvidenceContents:
    """Plain data for one pack. ``proofs`` maps each entry's seq to its audit path in the
    checkpoint's tree; ``attachments`` maps SHA-256 hex to bytes."""

    subject: Mapping[str, Any]
    entries: Sequence[EntryRecord]
    proofs: Mapping[int, Sequence[bytes]]
    checkpoint: Checkpoint
    transcript: Sequence[Mapping[str, Any]] = ()
    attachments: Mapping[str, bytes] = field(default_factory=dict)
    decisions: Sequence[Mapping[str, Any]] = ()
    payments: Sequence[Mapping[str, Any]] = ()
    case_actions: Sequence[Mapping[str, Any]] = ()
    # Leaves of record batch entries (each batch entry must be in ``entries``): see
    # probity.ledger.batches.record_proofs. Non-empty makes the pack v2.
    record_proofs: Sequence[Mapping[str, Any]] = ()


def _pretty_json(value: Any) -> bytes:
    # Readable, but every value must still be canonical-JSON-able (no datetimes, no NaN).
    canonical_json(value)
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _render_html(subject: Mapping[str, Any], transcript: Sequence[Mapping[str, Any]]) -> bytes:
    esc = html.escape
    title = f"{subject.get('kind', 'evidence')} {subject.get('id', '')}".strip()
    rows = []
    for item in transcript:
        decision = item.get("decision")
        if isinstance(decision, Mapping):
            decision = decision.get("action", json.dumps(decision, ensure_ascii=False))
        attachments = item.get("attachments") or []
        links = " ".join(
            f'<a href="attachments/{esc(str(a))}">{esc(str(a))[:12]}…</a>' for a in attachments
        )
        rows.append(
            "<tr>"
            f"<td>{esc(str(item.get('time', '')))}</td>"
            f"<td>{esc(str(item.get('sender', '')))}</td>"
            f"<td>{esc(str(item.get('text', '')))}{' ' + links if links else ''}</td>"
            f"<td>{esc(str(decision or ''))}</td>"
            "</tr>"
        )
    body = "\n".join(rows)
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top}</style>\n"
        f"</head>\n<body>\n<h1>{esc(title)}</h1>\n"
        "<table>\n<tr><th>时间 time</th><th>发送者 sender</th><th>内容 text</th>"
        "<th>检测 decision</th></tr>\n"
        f"{body}\n</table>\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


def build_pack(contents: EvidenceContents, keyring: Keyring, *, created: str) -> bytes:
    """Write the pack (deterministic zip bytes). Raises ``ValueError`` if the contents do not
    verify (a proof that does not reach the checkpoint root, a mislabelled attachment…), so a
    broken pack is never handed out."""
    cp = contents.checkpoint
    files: dict[str, bytes] = {}
    for sha, data in contents.attachments.items():
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"attachment {sha} does not hash to its name")
        files[f"attachments/{sha}"] = bytes(data)
    proofs = []
    for entry in sorted(contents.entries, key=lambda e: e.seq):
        path = contents.proofs.get(entry.seq)
        if path is None:
            raise ValueError(f"no inclusion proof for entry {entry.seq}")
        if entry.tenant != cp.tenant:
            raise ValueError(f"entry {entry.seq} belongs to tenant {entry.tenant}, not {cp.tenant}")
        if not verify_inclusion(entry.leaf_hash(), entry.seq, cp.tree_size, path, cp.root_hash):
            raise ValueError(f"inclusion proof for entry {entry.seq} does not reach the checkpoint")
        proofs.append(
            {
                "seq": entry.seq,
                "entry_hash": entry.entry_hash,
                "audit_path": [bytes(p).hex() for p in path],
            }
        )
    files[ENTRIES] = _pretty_json(
        [e.to_json() for e in sorted(contents.entries, key=lambda e: e.seq)]
    )
    files[PROOFS] = _pretty_json(
        {"tree_size": cp.tree_size, "root_hash": cp.root_hash.hex(), "proofs": proofs}
    )
    files[CHECKPOINT] = cp.to_note().encode("utf-8")
    files["transcript.json"] = _pretty_json(list(map(dict, contents.transcript)))
    files["transcript.html"] = _render_html(contents.subject, contents.transcript)
    files["decisions.json"] = _pretty_json(list(map(dict, contents.decisions)))
    files["payments.json"] = _pretty_json(list(map(dict, contents.payments)))
    files["case_actions.json"] = _pretty_json(list(map(dict, contents.case_actions)))
    pack_format = PACK_FORMAT
    if contents.record_proofs:
        pack_format = PACK_FORMAT_V2
        batches = _batch_payloads(contents.entries)
        for item in contents.record_proofs:
            problem = _record_problem(item, batches)
            if problem:
                raise ValueError(problem)
        files[RECORD_PROOFS] = _pretty_json(list(map(dict, contents.record_proofs)))
    for kid, text in keyring.export_public_keys().items():
        files[f"keys/{kid}.pub"] = (text + "\n").encode("ascii")

    manifest = canonical_json(
        {
            "format": pack_format,
            "created": created,
            "subject": dict(contents.subject),
            "tenant": cp.tenant,
            "files": {
                name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())
            },
        }
    )
    kid, signature = keyring.sign(_context(pack_format) + manifest)
    blob = base64.b64encode(bytes.fromhex(kid) + signature).decode("ascii")
    files[MANIFEST] = manifest
    files[MANIFEST_SIG] = f"{_SIG_DASH}{kid} {blob}\n".encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in [MANIFEST, MANIFEST_SIG, *sorted(set(files) - {MANIFEST, MANIFEST_SIG})]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buffer.getvalue()


def _context(pack_format: str) -> bytes:
    return (pack_format + "\n").encode("ascii")


def _batch_payloads(entries: Iterable[EntryRecord]) -> dict[int, dict[str, Any]]:
    """seq → payload of the record batch entries among *entries* (payload present)."""
    out: dict[int, dict[str, Any]] = {}
    for e in entries:
        if e.payload is None:
            continue
        try:
            body = json.loads(e.payload)
        except ValueError:
            continue
        if isinstance(body, dict) and "root" in body and "count" in body:
            out[e.seq] = body
    return out


def _record_problem(item: Mapping[str, Any], batches: Mapping[int, Mapping[str, Any]]
                    ) -> str | None:
    """What is wrong with one record proof (None: it leads to its batch entry's root)."""
    try:
        no, seq, index = item["no"], int(item["seq"]), int(item["index"])
        leaf_hex, text = str(item["leaf_hash"]), item["leaf"]
        path = [bytes.fromhex(p) for p in item["audit_path"]]
        leaf = bytes.fromhex(leaf_hex)
    except (KeyError, TypeError, ValueError):
        return f"record_proofs.json: malformed record proof {str(item)[:60]}"
    batch = batches.get(seq)
    if batch is None:
        return f"record {no}: its batch entry {seq} is not in the pack"
    if text is not None:
        if not isinstance(text, str):
            return f"record {no}: leaf is not text"
        try:
            if canonical_json(json.loads(text)).decode("utf-8") != text:
                raise CanonicalJSONError("not canonical")
        except (ValueError, CanonicalJSONError):
            return f"record {no}: leaf is not canonical JSON"
        if not verify_record(text, index, path, batch):
            return f"record {no}: leaf does not lead to batch entry {seq}'s root"
        if hashlib.sha256(b"\x00" + text.encode("utf-8")).digest() != leaf:
            return f"record {no}: leaf_hash does not match its leaf"
        return None
    count, root = batch.get("count"), batch.get("root")
    try:
        ok = isinstance(count, int) and verify_inclusion(leaf, index, count, path,
                                                         bytes.fromhex(str(root)))
    except ValueError:
        ok = False
    return None if ok else f"record {no}: leaf hash does not lead to batch entry {seq}'s root"


# payments.json field → the leaf field it must equal (the leaf's own text form)
_RECORD_FIELDS = {"no": "payment_no", "amount": "amount", "currency": "currency",
                  "method": "method", "payee_account": "payee_account",
                  "order_id": "order_id"}


def _record_disagreement(leaf: Mapping[str, Any], shown: Mapping[str, Any]) -> list[str]:
    """The payments.json fields that differ from the proven leaf (time compared as an
    instant: payments.json writes ``…Z``, the leaf ISO-8601 with an offset)."""
    from datetime import datetime

    bad = [k for k, lk in _RECORD_FIELDS.items() if k in shown and shown[k] != leaf.get(lk)]
    try:
        if "time" in shown and datetime.fromisoformat(str(shown["time"]).replace(
                "Z", "+00:00")) != datetime.fromisoformat(str(leaf.get("paid_at"))):
            bad.append("time")
    except ValueError:
        bad.append("time")
    return bad


@dataclass(frozen=True)
class PackVerification:
    """Outcome of :func:`verify_pack`. ``problems`` is empty when ``ok``; each names the file or
    entry at fault."""

    ok: bool
    problems: tuple[str, ...]
    files_checked: int = 0
    entries_checked: int = 0
    proofs_checked: int = 0
    checkpoint: Checkpoint | None = None
    records_checked: int = 0  # batched records whose leaf proof verified (v2)
    subject: Mapping[str, Any] | None = None

    @property
    def message(self) -> str:
        if self.ok:
            records = (f", {self.records_checked} batched records"
                       if self.records_checked else "")
            return (
                f"OK: {self.files_checked} files, {self.entries_checked} entries and "
                f"{self.proofs_checked} inclusion proofs verified{records}"
            )
        return self.problems[0]


PublicKeys = Keyring | Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey | str]


def _trusted(keys: PublicKeys) -> Keyring:
    if isinstance(keys, Keyring):
        return keys
    if isinstance(keys, Mapping):
        return Keyring(public_keys=keys.values())
    return Keyring(public_keys=[load_public_key(k) if isinstance(k, str) else k for k in keys])


def _load_json(raw: bytes, name: str, problems: list[str]) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        problems.append(f"{name}: not valid JSON")
        return None


def verify_pack(source: bytes | str | Path, public_keys: PublicKeys) -> PackVerification:
    """Check a pack offline against trusted public keys; no database needed. Every check runs
    and every problem is reported, the most fundamental first."""
    trusted = _trusted(public_keys)
    problems: list[str] = []
    try:
        if isinstance(source, bytes | bytearray):
            zf = zipfile.ZipFile(io.BytesIO(source))
        else:
            zf = zipfile.ZipFile(Path(source))
        with zf:
            names = zf.namelist()
            if len(set(names)) != len(names):
                return PackVerification(False, ("pack holds the same file name twice",))
            data = {name: zf.read(name) for name in names}
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        KeyError,
        EOFError,
        NotImplementedError,  # unsupported compression method
        RuntimeError,  # encrypted member
        ValueError,
    ) as exc:
        return PackVerification(False, (f"not a readable zip file: {exc}",))

    # 1. Manifest and its signature.
    if MANIFEST not in data:
        return PackVerification(False, ("manifest.json is missing",))
    manifest_raw = data[MANIFEST]
    manifest = _load_json(manifest_raw, MANIFEST, problems)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return PackVerification(False, (*problems, "manifest.json has no file list"))
    pack_format = manifest.get("format")
    if pack_format not in _FORMATS:
        problems.append(f"manifest.json: unknown format {pack_format!r}")
        pack_format = PACK_FORMAT
    sig_context = _context(str(pack_format))
    sig_line = data.get(MANIFEST_SIG, b"").decode("utf-8", "replace").strip("\n")
    if not sig_line:
        problems.append("manifest.sig is missing")
    else:
        try:
            kid, blob_text = sig_line[len(_SIG_DASH) :].split(" ")
            blob = base64.b64decode(blob_text, validate=True)
            if not sig_line.startswith(_SIG_DASH) or blob[:8].hex() != kid or len(blob) != 72:
                raise ValueError
        except ValueError:
            problems.append("manifest.sig: malformed signature line")
        else:
            if kid not in trusted.public_keys:
                problems.append(f"manifest.sig: signed by unknown key {kid}")
            elif not trusted.verify(kid, sig_context + manifest_raw, blob[8:]):
                problems.append("manifest.sig: signature does not match manifest.json")

    # 2. Every file against the manifest.
    listed: dict[str, Any] = manifest["files"]
    files_checked = 0
    for name in sorted(set(data) - {MANIFEST, MANIFEST_SIG}):
        if name not in listed:
            problems.append(f"{name}: not listed in the manifest")
        elif hashlib.sha256(data[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: content does not match its hash in the manifest")
        else:
            files_checked += 1
    for name in sorted(set(listed) - set(data)):
        problems.append(f"{name}: listed in the manifest but missing from the pack")

    # 3. The signed checkpoint.
    checkpoint: Checkpoint | None = None
    if CHECKPOINT not in data:
        problems.append("checkpoint.txt is missing")
    else:
        try:
            checkpoint = verify_checkpoint(data[CHECKPOINT], trusted)
        except (CheckpointError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"checkpoint.txt: {exc}")
        if checkpoint is not None and manifest.get("tenant") != checkpoint.tenant:
            problems.append("manifest.json: tenant differs from the checkpoint's")

    # 4. Entries: header hash, payload hash, tenant, linkage of consecutive entries.
    entries: list[EntryRecord] = []
    raw_entries = _load_json(data.get(ENTRIES, b"[]"), ENTRIES, problems)
    if ENTRIES not in data:
        problems.append("entries.json is missing")
    if isinstance(raw_entries, list):
        for item in raw_entries:
            try:
                entries.append(EntryRecord.from_json(item))
            except (KeyError, TypeError, ValueError):
                problems.append(f"entries.json: malformed entry {str(item)[:60]}")
    entries_checked = 0
    by_seq: dict[int, EntryRecord] = {}
    payload_text: list[bytes] = []
    for entry in entries:
        ok = True
        if entry.seq in by_seq:
            problems.append(f"entry {entry.seq}: appears twice in entries.json")
            ok = False
        by_seq[entry.seq] = entry
        header = entry_header(
            entry.seq, entry.time, entry.type, entry.tenant, entry.payload_hash, entry.prev_hash
        )
        if entry_hash(header) != entry.entry_hash:
            problems.append(f"entry {entry.seq}: header does not match its entry_hash")
            ok = False
        if entry.payload is not None:
            if payload_hash(entry.payload) != entry.payload_hash:
                problems.append(f"entry {entry.seq}: payload does not match its payload_hash")
                ok = False
            else:
                try:
                    canonical_json(json.loads(entry.payload))
                except (ValueError, CanonicalJSONError):
                    problems.append(f"entry {entry.seq}: payload is not canonical JSON")
                    ok = False
                payload_text.append(entry.payload)
        if checkpoint is not None and entry.tenant != checkpoint.tenant:
            problems.append(f"entry {entry.seq}: belongs to tenant {entry.tenant}")
            ok = False
        before = by_seq.get(entry.seq - 1)
        if before is not None and entry.prev_hash != before.entry_hash:
            problems.append(f"entry {entry.seq}: prev_hash does not match entry {entry.seq - 1}")
            ok = False
        entries_checked += ok

    # 5. Inclusion proofs against the checkpoint root.
    proofs_checked = 0
    proven: set[int] = set()
    proven_seqs: set[int] = set()  # entries whose inclusion proof verified
    raw_proofs = _load_json(data.get(PROOFS, b"{}"), PROOFS, problems)
    if PROOFS not in data:
        problems.append("proofs.json is missing")
    elif isinstance(raw_proofs, dict):
        if checkpoint is not None and (
            raw_proofs.get("tree_size") != checkpoint.tree_size
            or raw_proofs.get("root_hash") != checkpoint.root_hash.hex()
        ):
            problems.append("proofs.json: tree size or root differs from the signed checkpoint")
        for item in raw_proofs.get("proofs", []):
            try:
                seq = int(item["seq"])
                leaf = bytes.fromhex(item["entry_hash"])
                path = [bytes.fromhex(p) for p in item["audit_path"]]
            except (KeyError, TypeError, ValueError):
                problems.append(f"proofs.json: malformed proof {str(item)[:60]}")
                continue
            proved = by_seq.get(seq)
            if proved is None:
                problems.append(f"proofs.json: proof for entry {seq}, which is not in the pack")
                continue
            if leaf.hex() != proved.entry_hash:
                problems.append(f"entry {seq}: proof is for a different entry hash")
                continue
            proven.add(seq)
            if checkpoint is None:
                continue
            if verify_inclusion(leaf, seq, checkpoint.tree_size, path, checkpoint.root_hash):
                proofs_checked += 1
                proven_seqs.add(seq)
            else:
                problems.append(
                    f"entry {seq}: inclusion proof does not lead to the checkpoint root"
                )
        for seq in sorted(set(by_seq) - proven):
            problems.append(f"entry {seq}: no inclusion proof")
    else:
        problems.append("proofs.json: not a proof object")

    # 6. Attachments: named by their hash, and anchored in a recorded payload.
    anchors = b"\n".join(payload_text)
    for name in sorted(n for n in data if n.startswith("attachments/")):
        sha = name.removeprefix("attachments/")
        if hashlib.sha256(data[name]).hexdigest() != sha:
            problems.append(f"{name}: content does not hash to its name")
        elif sha.encode("ascii", "replace") not in anchors:
            problems.append(f"{name}: not referenced by any ledger entry in the pack")

    for name in _JSON_FILES:
        if name in data:
            _load_json(data[name], name, problems)

    # 7. Batched records (v2): leaf → audit path → the batch entry's root, and payments.json
    #    agrees with each proven leaf. The batch entry itself was proven in steps 4-5.
    records_checked = 0
    if pack_format == PACK_FORMAT_V2 and RECORD_PROOFS not in data:
        problems.append("record_proofs.json is missing")
    if RECORD_PROOFS in data:
        if pack_format != PACK_FORMAT_V2:
            problems.append("record_proofs.json: only a v2 pack holds record proofs")
        raw_records = _load_json(data[RECORD_PROOFS], RECORD_PROOFS, problems)
        shown = _load_json(data.get("payments.json", b"[]"), "payments.json", [])
        by_no = {str(p.get("no")): p for p in shown if isinstance(p, dict)
                 and p.get("kind") == "payment"} if isinstance(shown, list) else {}
        batches = _batch_payloads(e for e in entries if e.seq in proven_seqs)
        places: set[tuple[int, int]] = set()
        for item in raw_records if isinstance(raw_records, list) else []:
            problem = _record_problem(item, batches) if isinstance(item, dict) else \
                f"record_proofs.json: malformed record proof {str(item)[:60]}"
            if problem is None:
                place = (int(item["seq"]), int(item["index"]))
                if place in places:
                    problem = f"record {item['no']}: leaf {place[1]} of entry {place[0]} twice"
                places.add(place)
            if problem is None and item["leaf"] is not None:
                leaf = json.loads(item["leaf"])
                if not isinstance(leaf, dict) or str(leaf.get("payment_no")) != str(item["no"]):
                    problem = f"record {item['no']}: its leaf is another record's"
                else:
                    payment = by_no.get(str(item["no"]))
                    bad = _record_disagreement(leaf, payment) if payment else []
                    if bad:
                        problem = (f"payments.json: payment {item['no']} differs from its "
                                   f"proven leaf ({', '.join(sorted(bad))})")
            if problem:
                problems.append(problem)
            else:
                records_checked += 1
        if not isinstance(raw_records, list):
            problems.append("record_proofs.json: not a list")

    subject = manifest.get("subject")
    return PackVerification(
        ok=not problems,
        problems=tuple(problems),
        files_checked=files_checked,
        entries_checked=entries_checked,
        proofs_checked=proofs_checked,
        records_checked=records_checked,
        checkpoint=checkpoint,
        subject=subject if isinstance(subject, dict) else None,
    )

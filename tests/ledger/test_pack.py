"""Evidence packs: a good pack verifies offline; any change to any part is named."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from probity.ledger import (
    ChainAppender,
    EntryRecord,
    EvidenceContents,
    Keyring,
    build_pack,
    canonical_json,
    generate_signing_key,
    inclusion_proof,
    load_private_key,
    root_hash,
    verify_pack,
)

TENANT = "t-acme"
T0 = "2026-11-29T10:55:00.000000Z"
PHOTO = b"\x89PNG\r\n\x1a\n fake receipt image"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


def make_contents(keyring: Keyring) -> EvidenceContents:
    """A 19-entry ledger; the pack covers conversation c-1 (entries 3, 4), a refund (11) and a
    case action (12)."""
    appender = ChainAppender(TENANT)
    everything: list[EntryRecord] = []

    def add(type_: str, payload: dict[str, object], *, salt: bool = False) -> EntryRecord:
        entry = appender.append(type_, payload, time=T0, salt=salt)
        everything.append(entry)
        return entry

    for i in range(3):
        add("chat.message", {"conversation": "c-other", "i": i})
    picked = [
        add(
            "chat.message",
            {
                "conversation": "c-1",
                "sender": "customer:7",
                "text": "加个微信吧",
                "attachments": [],
                "decision": {"action": "warn", "categories": ["contact"]},
            },
        ),
        add(
            "chat.message",
            {
                "conversation": "c-1",
                "sender": "agent:3",
                "text": "请在官方渠道沟通",
                "attachments": [PHOTO_SHA],
                "decision": {"action": "allow", "categories": ["refusal"]},
            },
            salt=True,
        ),
    ]
    for i in range(3, 9):
        add("chat.message", {"conversation": "c-other", "i": i})
    picked.append(add("payment.refund", {"order": "o-9", "amount": "12.50", "currency": "CNY"}))
    picked.append(add("case.action", {"case": "k-1", "action": "open", "by": "compliance:2"}))
    for i in range(9, 14):
        add("chat.message", {"conversation": "c-other", "i": i})

    checkpoint = keyring.sign_checkpoint(TENANT, appender.tree_size, appender.root(), T0)
    leaves = [e.leaf_hash() for e in everything]
    assert root_hash(leaves) == checkpoint.root_hash
    return EvidenceContents(
        subject={"kind": "conversation", "id": "c-1"},
        entries=picked,
        proofs={e.seq: inclusion_proof(leaves, e.seq) for e in picked},
        checkpoint=checkpoint,
        transcript=[
            {
                "time": T0,
                "sender": "customer:7",
                "text": "加个微信吧",
                "decision": {"action": "warn"},
            },
            {
                "time": T0,
                "sender": "agent:3",
                "text": "请在官方渠道沟通 <b>",
                "attachments": [PHOTO_SHA],
            },
        ],
        attachments={PHOTO_SHA: PHOTO},
        decisions=[{"message": "m-1", "action": "warn", "categories": ["contact"]}],
        payments=[{"order": "o-9", "amount": "12.50", "currency": "CNY", "kind": "refund"}],
        case_actions=[{"case": "k-1", "action": "open"}],
    )


def replace(contents: EvidenceContents, **changes: object) -> EvidenceContents:
    return dataclasses.replace(contents, **changes)  # type: ignore[arg-type]


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_config(generate_signing_key())


@pytest.fixture
def pack_parts(keyring: Keyring) -> tuple[bytes, EvidenceContents]:
    contents = make_contents(keyring)
    return build_pack(contents, keyring, created=T0), contents


def rezip(pack: bytes, changes: dict[str, bytes | None]) -> bytes:
    """Rewrite a pack with some files replaced (or removed, with None) and the rest as they were."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(pack)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = changes.get(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
        for name, data in changes.items():
            if name not in src.namelist() and data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def read(pack: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        return zf.read(name)


def with_manifest_updated(pack: bytes, changes: dict[str, bytes]) -> bytes:
    """Replace files AND fix their hashes in the manifest (but the manifest signature cannot be
    redone without the key) — the deeper checks must still catch the change."""
    manifest = json.loads(read(pack, "manifest.json"))
    for name, data in changes.items():
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    return rezip(pack, {**changes, "manifest.json": canonical_json(manifest)})


def test_good_pack_verifies(pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring) -> None:
    pack, contents = pack_parts
    result = verify_pack(pack, keyring)
    assert result.ok, result.problems
    assert result.entries_checked == 4 and result.proofs_checked == 4
    assert result.checkpoint == contents.checkpoint
    assert result.subject == {"kind": "conversation", "id": "c-1"}
    assert result.message.startswith("OK")


def test_layout(pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring) -> None:
    pack, contents = pack_parts
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        names = set(zf.namelist())
    assert names == {
        "manifest.json",
        "manifest.sig",
        "checkpoint.txt",
        "entries.json",
        "proofs.json",
        "transcript.json",
        "transcript.html",
        "decisions.json",
        "payments.json",
        "case_actions.json",
        f"attachments/{PHOTO_SHA}",
        f"keys/{keyring.current_key_id}.pub",
    }
    manifest = json.loads(read(pack, "manifest.json"))
    assert manifest["format"] == "probity-evidence-pack/v1"
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sig"}
    assert read(pack, "checkpoint.txt").decode() == contents.checkpoint.to_note()
    html = read(pack, "transcript.html").decode()
    assert "加个微信吧" in html and "&lt;b&gt;" in html and "<script" not in html
    proofs = json.loads(read(pack, "proofs.json"))
    assert proofs["tree_size"] == contents.checkpoint.tree_size
    assert [p["seq"] for p in proofs["proofs"]] == [3, 4, 11, 12]
    # deterministic: same inputs, same bytes
    assert build_pack(contents, keyring, created=T0) == pack


def test_verify_from_a_file_with_public_key_text_only(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring, tmp_path: Path
) -> None:
    pack, _ = pack_parts
    path = tmp_path / "pack.zip"
    path.write_bytes(pack)
    public_texts = list(keyring.export_public_keys().values())
    assert verify_pack(path, public_texts).ok
    assert verify_pack(str(path), keyring.public_keys).ok


def test_old_pack_verifies_after_key_rotation(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    rotated = keyring.rotated(load_private_key(generate_signing_key()))
    assert verify_pack(pack, rotated).ok


def test_unknown_key(pack_parts: tuple[bytes, EvidenceContents]) -> None:
    pack, _ = pack_parts
    stranger = Keyring.from_config(generate_signing_key())
    result = verify_pack(pack, stranger)
    assert not result.ok
    assert any("manifest.sig: signed by unknown key" in p for p in result.problems)
    assert any("checkpoint.txt: checkpoint signed by unknown key" in p for p in result.problems)


FILES = [
    "transcript.html",
    "transcript.json",
    "decisions.json",
    "payments.json",
    "case_actions.json",
    "entries.json",
    "proofs.json",
    "checkpoint.txt",
    f"attachments/{PHOTO_SHA}",
]


@pytest.mark.parametrize("name", FILES)
def test_altering_any_file_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring, name: str
) -> None:
    pack, _ = pack_parts
    data = read(pack, name)
    changed = data.replace(b"2", b"3", 1) if b"2" in data else data + b" "
    result = verify_pack(rezip(pack, {name: changed}), keyring)
    assert not result.ok
    assert f"{name}: content does not match its hash in the manifest" in result.problems


@pytest.mark.parametrize("name", FILES)
def test_removing_any_file_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring, name: str
) -> None:
    pack, _ = pack_parts
    result = verify_pack(rezip(pack, {name: None}), keyring)
    assert not result.ok
    assert f"{name}: listed in the manifest but missing from the pack" in result.problems


def test_extra_file_is_named(pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring) -> None:
    pack, _ = pack_parts
    result = verify_pack(rezip(pack, {"notes.txt": b"hello"}), keyring)
    assert result.problems == ("notes.txt: not listed in the manifest",)


def test_manifest_edit_breaks_its_signature(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    html = read(pack, "transcript.html").replace("加个微信吧".encode(), "你好".encode())
    result = verify_pack(with_manifest_updated(pack, {"transcript.html": html}), keyring)
    assert result.problems == ("manifest.sig: signature does not match manifest.json",)


def test_bad_manifest_signature(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    line = read(pack, "manifest.sig").decode()
    import base64

    name, blob = line[2:].strip().split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    bad = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n".encode()
    result = verify_pack(rezip(pack, {"manifest.sig": bad}), keyring)
    assert result.problems == ("manifest.sig: signature does not match manifest.json",)


def _entries(pack: bytes) -> list[dict[str, object]]:
    return json.loads(read(pack, "entries.json"))  # type: ignore[no-any-return]


def test_altered_payload_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    entries = _entries(pack)
    entries[0]["payload"] = str(entries[0]["payload"]).replace("加个微信吧", "你好")
    data = json.dumps(entries, ensure_ascii=False).encode()
    result = verify_pack(with_manifest_updated(pack, {"entries.json": data}), keyring)
    assert "entry 3: payload does not match its payload_hash" in result.problems


def test_altered_entry_header_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    entries = _entries(pack)
    entries[2]["time"] = "2026-11-28T00:00:00.000000Z"
    data = json.dumps(entries, ensure_ascii=False).encode()
    result = verify_pack(with_manifest_updated(pack, {"entries.json": data}), keyring)
    assert "entry 11: header does not match its entry_hash" in result.problems


def test_entry_rehashed_after_edit_fails_its_proof(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    from probity.ledger import EntryRecord, make_entry

    pack, _ = pack_parts
    entries = _entries(pack)
    original = EntryRecord.from_json(entries[2])
    fake = make_entry(
        seq=original.seq,
        time=original.time,
        type=original.type,
        tenant=original.tenant,
        prev_hash=original.prev_hash,
        payload={"order": "o-9", "amount": "1.00", "currency": "CNY"},
    )
    entries[2] = fake.to_json()
    proofs = json.loads(read(pack, "proofs.json"))
    proofs["proofs"][2]["entry_hash"] = fake.entry_hash
    result = verify_pack(
        with_manifest_updated(
            pack,
            {
                "entries.json": json.dumps(entries).encode(),
                "proofs.json": json.dumps(proofs).encode(),
            },
        ),
        keyring,
    )
    assert "entry 11: inclusion proof does not lead to the checkpoint root" in result.problems
    assert "entry 12: prev_hash does not match entry 11" in result.problems


def test_altered_proof_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    proofs = json.loads(read(pack, "proofs.json"))
    path = proofs["proofs"][1]["audit_path"]
    path[0] = ("0" if path[0][0] != "0" else "1") + path[0][1:]
    result = verify_pack(
        with_manifest_updated(pack, {"proofs.json": json.dumps(proofs).encode()}), keyring
    )
    assert "entry 4: inclusion proof does not lead to the checkpoint root" in result.problems


def test_missing_proof_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    proofs = json.loads(read(pack, "proofs.json"))
    del proofs["proofs"][0]
    result = verify_pack(
        with_manifest_updated(pack, {"proofs.json": json.dumps(proofs).encode()}), keyring
    )
    assert "entry 3: no inclusion proof" in result.problems


def test_altered_checkpoint_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, contents = pack_parts
    note = read(pack, "checkpoint.txt").decode()
    size = contents.checkpoint.tree_size
    changed = note.replace(f"\n{size}\n", f"\n{size + 1}\n").encode()
    result = verify_pack(with_manifest_updated(pack, {"checkpoint.txt": changed}), keyring)
    kid = contents.checkpoint.key_id
    assert f"checkpoint.txt: checkpoint signature by key {kid} is invalid" in result.problems


def test_checkpoint_signature_flip_is_named(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    import base64

    pack, _ = pack_parts
    note = read(pack, "checkpoint.txt").decode()
    body, line = note.split("\n\n")
    name, blob = line[2:].strip().split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[20] ^= 0x40
    changed = f"{body}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n".encode()
    result = verify_pack(with_manifest_updated(pack, {"checkpoint.txt": changed}), keyring)
    assert f"checkpoint.txt: checkpoint signature by key {name} is invalid" in result.problems


def test_unanchored_or_mislabelled_attachment(
    pack_parts: tuple[bytes, EvidenceContents], keyring: Keyring
) -> None:
    pack, _ = pack_parts
    extra = b"an image no entry mentions"
    extra_name = f"attachments/{hashlib.sha256(extra).hexdigest()}"
    result = verify_pack(with_manifest_updated(pack, {extra_name: extra}), keyring)
    assert f"{extra_name}: not referenced by any ledger entry in the pack" in result.problems
    swapped = b"a different picture"
    result = verify_pack(
        with_manifest_updated(pack, {f"attachments/{PHOTO_SHA}": swapped}), keyring
    )
    assert f"attachments/{PHOTO_SHA}: content does not hash to its name" in result.problems


def test_not_a_zip(keyring: Keyring) -> None:
    result = verify_pack(b"not a zip", keyring)
    assert not result.ok and result.problems[0].startswith("not a readable zip file")


def test_builder_refuses_broken_contents(keyring: Keyring) -> None:
    contents = make_contents(keyring)
    bad_proofs = dict(contents.proofs)
    bad_proofs[3] = bad_proofs[4]
    with pytest.raises(ValueError, match="entry 3"):
        build_pack(replace(contents, proofs=bad_proofs), keyring, created=T0)
    with pytest.raises(ValueError, match="does not hash"):
        build_pack(replace(contents, attachments={PHOTO_SHA: b"x"}), keyring, created=T0)
    missing = {k: v for k, v in contents.proofs.items() if k != 4}
    with pytest.raises(ValueError, match="no inclusion proof for entry 4"):
        build_pack(replace(contents, proofs=missing), keyring, created=T0)


def test_purged_entries_still_verify(keyring: Keyring) -> None:
    contents = make_contents(keyring)
    purged = [e.purged() if e.seq == 3 else e for e in contents.entries]
    pack = build_pack(replace(contents, entries=purged), keyring, created=T0)
    result = verify_pack(pack, keyring)
    assert result.ok, result.problems

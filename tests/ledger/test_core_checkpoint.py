"""Signed checkpoints: the note format, key loading, rotation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from probity.ledger import (
    Checkpoint,
    CheckpointError,
    Keyring,
    generate_signing_key,
    key_id,
    load_private_key,
    load_public_key,
    private_key_text,
    public_key_text,
    verify_checkpoint,
)

ROOT = bytes(range(32))
TIME = "2026-11-29T10:55:00.000000Z"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_config(generate_signing_key())


def test_note_layout(keyring: Keyring) -> None:
    cp = keyring.sign_checkpoint("t-acme", 42, ROOT, TIME)
    note = cp.to_note()
    body, signature_line = note.split("\n\n")
    assert body + "\n" == (
        f"probity.ledger/v1/t-acme\n42\n{base64.b64encode(ROOT).decode()}\ntime {TIME}\n"
    )
    assert cp.body() == (body + "\n").encode()
    assert signature_line.startswith(f"\u2014 {cp.key_id} ")
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert blob[:8].hex() == cp.key_id and blob[8:] == cp.signature and len(blob) == 72
    assert note.endswith("\n")
    assert Checkpoint.from_note(note) == cp
    assert verify_checkpoint(note, keyring) == cp
    assert verify_checkpoint(cp, keyring) == cp


def test_key_id_is_first_8_bytes_of_sha256_of_raw_public_key(keyring: Keyring) -> None:
    import hashlib

    public = keyring.public_keys[keyring.current_key_id or ""]
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id(public) == hashlib.sha256(raw).hexdigest()[:16] == keyring.current_key_id


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda n: n.replace("\n42\n", "\n43\n"), "invalid"),
        (lambda n: n.replace("t-acme", "t-evil"), "invalid"),
        (lambda n: n.replace("time 2026-11-29", "time 2026-11-30"), "invalid"),
    ],
)
def test_tampered_note_fails(keyring: Keyring, mutate: object, reason: str) -> None:
    note = keyring.sign_checkpoint("t-acme", 42, ROOT, TIME).to_note()
    with pytest.raises(CheckpointError, match=reason):
        verify_checkpoint(mutate(note), keyring)  # type: ignore[operator]


def test_tampered_root_and_signature_fail(keyring: Keyring) -> None:
    cp = keyring.sign_checkpoint("t-acme", 42, ROOT, TIME)
    other_root = Checkpoint(
        cp.tenant, cp.tree_size, bytes(32), cp.timestamp, cp.key_id, cp.signature
    )
    with pytest.raises(CheckpointError, match="invalid"):
        verify_checkpoint(other_root.to_note(), keyring)
    bad_sig = bytes([cp.signature[0] ^ 1]) + cp.signature[1:]
    forged = Checkpoint(cp.tenant, cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id, bad_sig)
    with pytest.raises(CheckpointError, match="invalid"):
        verify_checkpoint(forged, keyring)


def test_unknown_key_is_reported(keyring: Keyring) -> None:
    cp = keyring.sign_checkpoint("t-acme", 1, ROOT, TIME)
    stranger = Keyring.from_config(generate_signing_key())
    with pytest.raises(CheckpointError, match="unknown key"):
        verify_checkpoint(cp.to_note(), stranger)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "probity.ledger/v1/t\n1\nAAAA\ntime x\n",
        "other/v1/t\n1\n" + base64.b64encode(ROOT).decode() + f"\ntime {TIME}\n\n\u2014 a b\n",
        "probity.ledger/v1/t\n01\n" + base64.b64encode(ROOT).decode() + f"\ntime {TIME}\n\n",
        "probity.ledger/v1/t\n1\n" + base64.b64encode(ROOT).decode() + f"\ntime {TIME}\n\n- x y\n",
    ],
)
def test_malformed_notes(note: str, keyring: Keyring) -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, keyring)


def test_old_checkpoints_verify_after_rotation(keyring: Keyring) -> None:
    old = keyring.sign_checkpoint("t-acme", 10, ROOT, TIME)
    rotated = keyring.rotated(Ed25519PrivateKey.generate())
    new = rotated.sign_checkpoint("t-acme", 20, ROOT, TIME)
    assert new.key_id != old.key_id == keyring.current_key_id
    assert verify_checkpoint(old.to_note(), rotated) == old
    assert verify_checkpoint(new.to_note(), rotated) == new
    # a verifier configured from exported public keys only (no private key) verifies both
    published = Keyring.from_config(None, rotated.export_public_keys().values())
    assert published.current_key_id is None
    assert verify_checkpoint(old.to_note(), published) == old
    assert verify_checkpoint(new.to_note(), published) == new
    with pytest.raises(CheckpointError, match="no signing key"):
        published.sign_checkpoint("t-acme", 1, ROOT, TIME)


def test_note_with_several_signers_verifies_with_any_known_key(keyring: Keyring) -> None:
    other = Keyring.from_config(generate_signing_key())
    a = keyring.sign_checkpoint("t-acme", 5, ROOT, TIME)
    b = other.sign_checkpoint("t-acme", 5, ROOT, TIME)
    note = a.to_note() + b.to_note().split("\n\n")[1]
    assert verify_checkpoint(note, other) == b
    assert verify_checkpoint(note, keyring) == a


def test_key_text_forms() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    expected = key_id(private.public_key())
    for text in (pem, private_key_text(private), base64.b64encode(der).decode()):
        assert key_id(load_private_key(text).public_key()) == expected
    public = private.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    for text in (public_pem, public_key_text(public)):
        assert key_id(load_public_key(text)) == expected
    with pytest.raises(ValueError):
        load_private_key("not base64!")
    with pytest.raises(ValueError):
        load_public_key(base64.b64encode(b"short").decode())


def test_body_validation(keyring: Keyring) -> None:
    with pytest.raises(CheckpointError):
        keyring.sign_checkpoint("t-acme", 1, b"short", TIME)
    with pytest.raises(CheckpointError):
        keyring.sign_checkpoint("t-acme", 1, ROOT, "yesterday")
    with pytest.raises(CheckpointError):
        keyring.sign_checkpoint("t acme", 1, ROOT, TIME)

"""Signed checkpoints and the signing keyring.

Signed checkpoint format (a C2SP signed note holding a tlog checkpoint)
-----------------------------------------------------------------------
The note is UTF-8 text. Its *body* is four lines, each ending in ``\\n``::

    probity.ledger/v1/<tenant>        origin: names the format version and the tenant's log
    <tree size, decimal>
    <root hash, standard base64 (44 chars)>
    time <timestamp, 2026-11-29T10:55:00.000000Z>

then one empty line, then one or more signature lines::

    — <key_id> <base64(key_id bytes (8) ‖ Ed25519 signature (64))>

(the dash is U+2014 EM DASH followed by a space, as in C2SP signed-note). The Ed25519
signature is over the body bytes exactly (everything before the empty line, including the
final ``\\n``). ``key_id`` is the first 8 bytes, in hex, of SHA-256 of the raw 32-byte public
key; it is repeated as the signer name so a reader sees which key signed. Unlike C2SP, the key
hash inside the signature blob is 8 bytes (our key_id) rather than 4 bytes of a hash of the
name; everything else follows the spec. Signature lines from keys a verifier does not know are
ignored; a checkpoint verifies when at least one line verifies with a known key.

Rotation: a :class:`Keyring` holds the current private key and every public key that ever
signed, by key_id, so checkpoints signed before a rotation still verify.

Keys travel as text: private keys as PEM (PKCS#8) or base64 of the raw 32-byte seed (or of
PKCS#8 DER) — the form ``PROBITY_LEDGER_SIGNING_KEY`` takes; public keys as PEM
(SubjectPublicKeyInfo) or base64 of the raw 32 bytes (or of SPKI DER).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "CHECKPOINT_ORIGIN_PREFIX",
    "Checkpoint",
    "CheckpointError",
    "Keyring",
    "generate_signing_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "private_key_text",
    "public_key_text",
    "verify_checkpoint",
]

CHECKPOINT_ORIGIN_PREFIX = "probity.ledger/v1/"
_SIG_DASH = "\u2014 "
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}\Z")


class CheckpointError(ValueError):
    """A checkpoint note is malformed, or its signature does not verify."""


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 bytes (16 hex digits) of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(_raw_public(public_key)).digest()[:8].hex()


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


def load_private_key(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM, or base64 of the raw 32-byte seed or of PKCS#8 DER."""
    raw_text = text.decode("ascii") if isinstance(text, bytes) else text
    raw_text = raw_text.strip()
    if raw_text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(raw_text.encode("ascii"), password=None)
    else:
        data = _b64decode(raw_text)
        if len(data) == 32:
            return Ed25519PrivateKey.from_private_bytes(data)
        key = serialization.load_der_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key is not an Ed25519 key")
    return key


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or base64 of the raw 32 bytes or of SPKI DER."""
    raw_text = text.decode("ascii") if isinstance(text, bytes) else text
    raw_text = raw_text.strip()
    if raw_text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(raw_text.encode("ascii"))
    else:
        data = _b64decode(raw_text)
        if len(data) == 32:
            return Ed25519PublicKey.from_public_bytes(data)
        key = serialization.load_der_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def private_key_text(private_key: Ed25519PrivateKey) -> str:
    """base64 of the raw 32-byte seed (the form ``PROBITY_LEDGER_SIGNING_KEY`` takes)."""
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode("ascii")


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """base64 of the raw 32-byte public key."""
    return base64.b64encode(_raw_public(public_key)).decode("ascii")


def generate_signing_key() -> str:
    """A new Ed25519 private key, as base64 of its raw 32-byte seed."""
    return private_key_text(Ed25519PrivateKey.generate())


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: tenant's ledger had *tree_size* entries with Merkle root *root_hash*."""

    tenant: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    @staticmethod
    def body_for(tenant: str, tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
        """The exact bytes that are signed (see the module docstring)."""
        if not _TENANT_RE.match(tenant):
            raise CheckpointError(f"bad tenant id {tenant!r}")
        if tree_size < 0:
            raise CheckpointError("tree size must be ≥ 0")
        if len(root_hash) != 32:
            raise CheckpointError("root hash must be 32 bytes")
        if not _TIME_RE.match(timestamp):
            raise CheckpointError(f"bad checkpoint time {timestamp!r}")
        root = base64.b64encode(root_hash).decode("ascii")
        text = f"{CHECKPOINT_ORIGIN_PREFIX}{tenant}\n{tree_size}\n{root}\ntime {timestamp}\n"
        return text.encode("utf-8")

    def body(self) -> bytes:
        return self.body_for(self.tenant, self.tree_size, self.root_hash, self.timestamp)

    def to_note(self) -> str:
        blob = base64.b64encode(bytes.fromhex(self.key_id) + self.signature).decode("ascii")
        return f"{self.body().decode('utf-8')}\n{_SIG_DASH}{self.key_id} {blob}\n"

    @classmethod
    def from_note(cls, note: str | bytes, *, prefer_key_ids: Iterable[str] = ()) -> Checkpoint:
        """Parse a signed note. With several signature lines, the first whose key_id is in
        *prefer_key_ids* is kept (else the first line). Does not check the signature."""
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        body, sep, sigs = text.partition("\n\n")
        if not sep:
            raise CheckpointError("checkpoint note has no blank line before its signatures")
        lines = body.split("\n")
        if len(lines) != 4:
            raise CheckpointError(f"checkpoint body has {len(lines)} lines, expected 4")
        origin, size_text, root_text, time_line = lines
        if not origin.startswith(CHECKPOINT_ORIGIN_PREFIX):
            raise CheckpointError(f"unknown checkpoint origin {origin!r}")
        tenant = origin[len(CHECKPOINT_ORIGIN_PREFIX) :]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise CheckpointError(f"bad tree size {size_text!r}")
        try:
            root_hash = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CheckpointError("root hash is not base64") from exc
        if not time_line.startswith("time "):
            raise CheckpointError("checkpoint has no time line")
        timestamp = time_line[5:]
        if not sigs.endswith("\n"):
            raise CheckpointError("checkpoint note must end with a newline")
        parsed: list[tuple[str, bytes]] = []
        for line in sigs[:-1].split("\n"):
            if not line.startswith(_SIG_DASH):
                raise CheckpointError(f"bad signature line {line!r}")
            parts = line[len(_SIG_DASH) :].split(" ")
            if len(parts) != 2:
                raise CheckpointError(f"bad signature line {line!r}")
            name, blob_text = parts
            try:
                blob = base64.b64decode(blob_text, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CheckpointError("signature is not base64") from exc
            if len(blob) != 8 + 64 or blob[:8].hex() != name or not _KEY_ID_RE.match(name):
                raise CheckpointError(f"signature line for {name!r} is malformed")
            parsed.append((name, blob[8:]))
        preferred = set(prefer_key_ids)
        chosen = next((p for p in parsed if p[0] in preferred), parsed[0])
        checkpoint = cls(tenant, int(size_text), root_hash, timestamp, chosen[0], chosen[1])
        if checkpoint.body() != body.encode("utf-8") + b"\n":
            raise CheckpointError("checkpoint body is not in canonical form")
        return checkpoint


class Keyring:
    """The current signing key (optional: verifiers need none) and all known public keys."""

    def __init__(
        self,
        signing_key: Ed25519PrivateKey | None = None,
        public_keys: Iterable[Ed25519PublicKey] = (),
    ) -> None:
        self._signing_key = signing_key
        self._public: dict[str, Ed25519PublicKey] = {}
        for key in public_keys:
            self._public[key_id(key)] = key
        self._current_id: str | None = None
        if signing_key is not None:
            public = signing_key.public_key()
            self._current_id = key_id(public)
            self._public[self._current_id] = public

    @classmethod
    def from_config(
        cls, signing_key: str | None = None, public_keys: Iterable[str] = ()
    ) -> Keyring:
        """From text keys: ``PROBITY_LEDGER_SIGNING_KEY`` and the retired public keys."""
        private = load_private_key(signing_key) if signing_key else None
        return cls(private, [load_public_key(text) for text in public_keys])

    @property
    def current_key_id(self) -> str | None:
        return self._current_id

    @property
    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return dict(self._public)

    def export_public_keys(self) -> dict[str, str]:
        """key_id → base64 raw public key, for publishing and for evidence packs."""
        return {kid: public_key_text(key) for kid, key in sorted(self._public.items())}

    def rotated(self, new_signing_key: Ed25519PrivateKey) -> Keyring:
        """A keyring signing with *new_signing_key* that still knows every older public key."""
        return Keyring(new_signing_key, self._public.values())

    def sign(self, data: bytes) -> tuple[str, bytes]:
        if self._signing_key is None or self._current_id is None:
            raise CheckpointError("this keyring has no signing key")
        return self._current_id, self._signing_key.sign(data)

    def verify(self, kid: str, data: bytes, signature: bytes) -> bool:
        key = self._public.get(kid)
        if key is None:
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def sign_checkpoint(
        self, tenant: str, tree_size: int, root_hash: bytes, timestamp: str
    ) -> Checkpoint:
        body = Checkpoint.body_for(tenant, tree_size, root_hash, timestamp)
        kid, signature = self.sign(body)
        return Checkpoint(tenant, tree_size, bytes(root_hash), timestamp, kid, signature)


def _as_keyring(
    keys: Keyring | Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey],
) -> Keyring:
    if isinstance(keys, Keyring):
        return keys
    if isinstance(keys, Mapping):
        return Keyring(public_keys=keys.values())
    return Keyring(public_keys=keys)


def verify_checkpoint(
    checkpoint: Checkpoint | str | bytes,
    keys: Keyring | Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey],
) -> Checkpoint:
    """Check a checkpoint (object or signed note) against trusted public keys.

    Returns the checkpoint (parsed, if a note was given); raises :class:`CheckpointError`
    naming the reason otherwise. For a note, any signature line by a known key suffices.
    """
    keyring = _as_keyring(keys)
    if isinstance(checkpoint, Checkpoint):
        candidates = [checkpoint]
    else:
        text = checkpoint.decode("utf-8") if isinstance(checkpoint, bytes) else checkpoint
        first = Checkpoint.from_note(text)
        _body, _sep, sig_block = text.partition("\n\n")
        candidates = []
        for line in sig_block.rstrip("\n").split("\n"):
            blob = base64.b64decode(line.split(" ")[-1])
            candidates.append(
                Checkpoint(
                    first.tenant,
                    first.tree_size,
                    first.root_hash,
                    first.timestamp,
                    blob[:8].hex(),
                    blob[8:],
                )
            )
    known = [cp for cp in candidates if cp.key_id in keyring.public_keys]
    if not known:
        ids = ", ".join(cp.key_id for cp in candidates)
        raise CheckpointError(f"checkpoint signed by unknown key {ids}")
    for cp in known:
        if keyring.verify(cp.key_id, cp.body(), cp.signature):
            return cp
    raise CheckpointError(f"checkpoint signature by key {known[0].key_id} is invalid")

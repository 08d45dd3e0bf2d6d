"""The ledger's pure hashing core: canonical JSON, the entry hash chain, RFC 9162 Merkle trees,
signed checkpoints and evidence packs. Imports nothing from the web or database layers.

The database-backed service (appending rows, scheduling checkpoints, the CLI and API) builds on
these functions; see the module docstrings for the exact hashed forms and file formats.
"""

from .canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    is_canonical,
    loads_canonical,
)
from .chain import (
    GENESIS_HASH,
    ChainAppender,
    ChainVerification,
    EntryRecord,
    TamperKind,
    entry_hash,
    entry_header,
    format_time,
    make_entry,
    payload_hash,
    verify_chain,
)
from .checkpoint import (
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
from .merkle import (
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
from .pack import PACK_FORMAT, EvidenceContents, PackVerification, build_pack, verify_pack

__all__ = [
    "EMPTY_ROOT",
    "GENESIS_HASH",
    "MAX_SAFE_INTEGER",
    "PACK_FORMAT",
    "CanonicalJSONError",
    "ChainAppender",
    "ChainVerification",
    "Checkpoint",
    "CheckpointError",
    "CompactRange",
    "EntryRecord",
    "EvidenceContents",
    "Keyring",
    "PackVerification",
    "TamperKind",
    "build_pack",
    "canonical_json",
    "consistency_proof",
    "entry_hash",
    "entry_header",
    "format_time",
    "generate_signing_key",
    "inclusion_proof",
    "is_canonical",
    "key_id",
    "leaf_hash",
    "load_private_key",
    "load_public_key",
    "loads_canonical",
    "make_entry",
    "node_hash",
    "payload_hash",
    "private_key_text",
    "public_key_text",
    "root_hash",
    "verify_chain",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_pack",
]

"""``chain_texts`` (the bulk append's one loop) writes exactly ``make_entries``' entries: the same
payload bytes, payload hashes and chain, salted or not, for payloads of every kind (the salt is
spliced into the encoded payload only where that gives the same bytes)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ledger.test_canonical_fast import _key, _values

from probity.ledger import chain
from probity.ledger.canonical import CanonicalJSONError


class _Salts:
    def __init__(self) -> None:
        self.n = 0

    def token_hex(self, n: int = 32) -> str:
        self.n += 1
        return bytes((self.n + i) % 256 for i in range(n)).hex()


_payloads = st.one_of(
    st.dictionaries(_key, _values, max_size=6),
    st.dictionaries(st.sampled_from(["_salt", "Action", "_a", "a", "z", "\u00e9", "1"]),
                    _values, max_size=4),
)


def _both(items: list[tuple[str, Any]], salt: bool) -> tuple[Any, Any]:
    results = []
    for build in ("records", "texts"):
        chain.secrets = _Salts()  # type: ignore[assignment]
        try:
            if build == "records":
                got: Any = [(r.seq, r.type, r.payload_hash, r.prev_hash, r.entry_hash,
                             (r.payload or b"").decode("utf-8"))
                            for r in chain.make_entries(seq=7, time="2026-12-05T10:00:00.000000Z",
                                                        tenant="ECOM", prev_hash="a" * 64,
                                                        items=items, salt=salt)]
            else:
                got = chain.chain_texts(seq=7, time="2026-12-05T10:00:00.000000Z",
                                        tenant="ECOM", prev_hash="a" * 64, items=items,
                                        salt=salt)
        except (CanonicalJSONError, ValueError, TypeError) as exc:
            got = type(exc)
        results.append(got)
    return results[0], results[1]


@pytest.fixture(autouse=True)
def _restore_secrets() -> Any:
    saved = chain.secrets
    yield
    chain.secrets = saved


@settings(max_examples=300, deadline=None)
@given(st.lists(_payloads, max_size=6), st.booleans())
def test_chain_texts_is_make_entries(payloads: list[dict[str, Any]], salt: bool) -> None:
    items = [("finance.payment" if i % 2 else "chat.message", p) for i, p in enumerate(payloads)]
    records, texts = _both(items, salt)
    assert records == texts


def test_a_salted_payload_needs_a_dict() -> None:
    records, texts = _both([("chat.message", [1, 2])], True)
    assert records is ValueError and texts is ValueError


@settings(max_examples=300, deadline=None)
@given(st.lists(_payloads, max_size=6), st.booleans(), st.lists(st.booleans(), max_size=6))
def test_chain_texts_with_the_callers_bodies_is_the_same(
        payloads: list[dict[str, Any]], salt: bool, given_: list[bool]) -> None:
    """A caller's canonical bytes (`bodies`, the chat writer's `facts.message_json`) give the
    very rows that chain_texts makes itself, salted (the salt spliced in first) or not."""
    from probity.ledger.canonical import canonical_json

    items = [("chat.message", p) for p in payloads]
    # Where the caller may give bodies: canonical payloads whose keys all sort after "_salt".
    bodies: list[bytes | None] = []
    for p, give in zip(payloads, (given_ + [True] * len(payloads))[:len(payloads)], strict=True):
        try:
            body = canonical_json(p)
        except (CanonicalJSONError, ValueError):
            body = None
        bodies.append(body if give and body is not None and all(k > "_salt" for k in p)
                      else None)
    out = []
    for with_bodies in (None, bodies):
        chain.secrets = _Salts()  # type: ignore[assignment]
        try:
            got: Any = chain.chain_texts(seq=7, time="2026-12-05T10:00:00.000000Z",
                                         tenant="ECOM", prev_hash="a" * 64, items=items,
                                         salt=salt, bodies=with_bodies)
        except (CanonicalJSONError, ValueError, TypeError) as exc:
            got = type(exc)
        out.append(got)
    assert out[0] == out[1]

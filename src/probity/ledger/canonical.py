"""Canonical JSON: one byte string per value, so that hashes of payloads are reproducible.

The rules are those of RFC 8785 (JSON Canonicalization Scheme) for the types the ledger uses:

* Objects: keys must be ``str``; members are sorted by the UTF-16 code units of their keys
  (RFC 8785 §3.2.3), written as ``{"k":v,...}`` with no whitespace at all.
* Arrays: ``list`` or ``tuple``, written as ``[a,b,...]``.
* Strings: written as UTF-8 (not ``\\u`` escaped), except ``"`` → ``\\"``, ``\\`` → ``\\\\``,
  the five short escapes ``\\b \\f \\n \\r \\t`` and the other control characters U+0000–U+001F
  as ``\\u00xx`` with lower-case hex (exactly what ECMAScript ``JSON.stringify`` does). Strings
  holding lone surrogates are rejected: they have no UTF-8 form.
* Literals: ``true``, ``false``, ``null`` (from ``True``, ``False``, ``None``).
* Integers: decimal, no leading zeros, and only in the range an IEEE-754 double holds exactly
  (|i| ≤ 2**53 − 1), so that any RFC 8785 implementation reads the same number. Larger
  identifiers and money amounts must be passed as strings (amounts are best kept as integer
  minor units or decimal strings anyway).
* Floats: finite only (NaN and ±Infinity are rejected), written the way ECMAScript
  ``Number.prototype.toString`` writes them (RFC 8785 §3.2.2.3): shortest round-trip digits,
  ``1e+21`` style exponents from 1e21 up and below 1e-6, ``-0`` written as ``0``.
* Nothing else is accepted: ``datetime``, ``Decimal``, ``bytes``, sets, dataclasses… raise
  :class:`CanonicalJSONError`. Callers pass times as ISO-8601 strings (see
  :func:`probity.ledger.chain.format_time`) and binary data as hex or base64 strings.

The output is the UTF-8 encoding of the JSON text. :func:`canonical_json` is the only encoder
the ledger uses for payloads; :func:`loads_canonical` parses and checks that a byte string is
already in canonical form.

Fast path. For the values the product writes — dicts with ``str`` keys, lists, tuples, ``str``,
``int`` within ±(2**53−1), ``bool`` and ``None``, all of exactly those types — the standard
library's C encoder (``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``) writes the very same bytes: it escapes strings with the same C function
used below, writes exact ints with ``int.__repr__``, and sorts keys by code point, which is the
UTF-16 order of RFC 8785 unless a key holds a character beyond U+FFFF. :func:`_fast_ok` checks
exactly that (one cheap pass over types, no output built in Python); anything else — a float,
a subclass (``StrEnum``, ``IntEnum``…), a huge int, a non-``str`` key, a key beyond the BMP, an
unknown type — goes to the Python encoder, which stays the reference. A property test
(tests/ledger/test_canonical_fast.py) checks the two byte for byte.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

__all__ = [
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "canonical_json",
    "canonical_json_reference",
    "canonical_text_fast",
    "is_canonical",
    "loads_canonical",
]

MAX_SAFE_INTEGER = 2**53 - 1

# The C accelerated encoder of the standard library, with ensure_ascii=False semantics: it
# escapes exactly '"', '\\' and U+0000..U+001F (short forms for \b \f \n \r \t, lower-case
# \u00xx for the rest), which is the RFC 8785 / JSON.stringify rule.
_encode_string = json.encoder.encode_basestring


class CanonicalJSONError(ValueError):
    """The value cannot be written as canonical JSON (wrong type, NaN, huge int, …)."""


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        raise CanonicalJSONError(f"non-finite number {value!r} is not allowed in canonical JSON")
    if value == 0.0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digit string that round-trips, as ECMAScript requires.
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = exponent + k  # value = 0.digits × 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJSONError(
                f"integer {value} is outside ±(2**53-1); pass it as a string instead"
            )
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_format_float(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalJSONError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        first = True
        for key in sorted(value, key=_utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise CanonicalJSONError(
            f"{type(value).__name__} is not a canonical JSON type "
            "(use str for datetimes, decimals and binary data)"
        )


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _make_fast_dumps() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the pure-Python json encoder is no faster than ours
        return None
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    # allow_nan): what json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    # check_circular=False, allow_nan=False) builds, called directly (no Python layer).
    encoder = make(None, _no_default, _encode_string, None, ":", ",", True, False, False)

    def dumps(value: Any) -> str:
        return "".join(encoder(value, 0))

    return dumps


_FAST_DUMPS = _make_fast_dumps()
_LEAVES = frozenset({str, bool, type(None)})


# Key sets of dicts whose keys passed `_keys_ok` (bounded: cleared past 256 sets).
_OK_KEYS: set[frozenset[Any]] = set()


def _keys_ok(value: dict[Any, Any]) -> bool:
    for key in value:
        if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
            return False
    return True


def _fast_ok(value: Any, depth: int = 0) -> bool:
    """True when the C encoder writes *value* exactly as :func:`_encode` would (see the module
    docstring): exact JSON types only, ints within range, ``str`` keys inside the BMP."""
    if depth > 64:  # deep nesting: leave it to the reference encoder (and its errors)
        return False
    kind = type(value)
    if kind in _LEAVES:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if kind is dict:
        if len(value) > 4:
            # The product's payloads repeat a few key sets (a chat message's 19 keys in every
            # entry): one set look-up instead of a pass over the keys, once a set passed.
            keys = frozenset(value)
            if keys not in _OK_KEYS:
                if not _keys_ok(value):
                    return False
                if len(_OK_KEYS) >= 256:
                    _OK_KEYS.clear()
                _OK_KEYS.add(keys)
        elif not _keys_ok(value):
            return False
        values: Any = value.values()
    elif kind is list or kind is tuple:
        values = value
    else:
        return False
    depth += 1
    for item in values:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif not _fast_ok(item, depth):
            return False
    return True


def canonical_json_reference(value: Any) -> bytes:
    """The pure-Python RFC 8785 encoder (the reference the fast path is checked against)."""
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("strings must not contain lone surrogates") from exc


def canonical_text_fast(value: Any) -> str | None:
    """The canonical JSON of *value* as text through the C encoder, or None where only the
    reference encoder may write it (then call :func:`canonical_json`). The caller encodes the
    text to UTF-8 (a lone surrogate fails there, as in :func:`canonical_json`)."""
    if _FAST_DUMPS is not None and _fast_ok(value):
        text: str = _FAST_DUMPS(value)
        return text
    return None


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON encoding (UTF-8 bytes) of *value*; see the module rules."""
    if _FAST_DUMPS is not None and _fast_ok(value):
        try:
            text: str = _FAST_DUMPS(value)
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalJSONError("strings must not contain lone surrogates") from exc
    return canonical_json_reference(value)


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not allowed in canonical JSON")


def _parse_int(text: str) -> int | float:
    # In RFC 8785 every number is an IEEE double: integers beyond 2**53 written by a float
    # (e.g. 1e20 → "100000000000000000000") read back as floats.
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(value)


def loads_canonical(data: bytes | str) -> Any:
    """Parse *data* and check that it is byte-for-byte canonical; raise otherwise."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_int=_parse_int
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
    if canonical_json(value) != raw:
        raise CanonicalJSONError("JSON text is valid but not in canonical form")
    return value


def is_canonical(data: bytes | str) -> bool:
    """True when *data* is valid JSON already in canonical form."""
    try:
        loads_canonical(data)
    except CanonicalJSONError:
        return False
    return True

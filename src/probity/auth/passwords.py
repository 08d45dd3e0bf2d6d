"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from probity.errors import InvalidInput

_hasher = PasswordHasher()
# A dummy hash verified when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password-1A!")



@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The list shipped with the package (auth/data/common-passwords.txt)."""
    text = (files("probity.auth") / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines()
                     if w.strip() and not w.startswith("#"))


# Keyboard rows and columns (a US/Chinese keyboard; forwards and backwards are both checked),
# the alphabet and the digits: runs along these are what people type when asked for a password.
SEQUENCES = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz",
             "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp")
MIN_RUN = 4


def _sequence_chars(password: str) -> int:
    """How many characters of the password lie in runs of MIN_RUN or more consecutive keys."""
    low = password.lower()
    covered = [False] * len(low)
    for seq in SEQUENCES:
        for line in (seq, seq[::-1]):
            i = 0
            while i < len(low):
                j = i
                while j + 1 < len(low) and (k := line.find(low[j])) >= 0 and (
                        k + 1 < len(line) and line[k + 1] == low[j + 1]):
                    j += 1
                if j - i + 1 >= MIN_RUN:
                    for x in range(i, j + 1):
                        covered[x] = True
                i = max(j, i + 1) if j > i else i + 1
    return sum(covered)


def _core_words(password: str) -> set[str]:
    """The password, lower-cased, and its letters with the digits and symbols around them
    stripped ("P@ssword123!" → "p@ssword", "password")."""
    low = password.lower()
    words = {low, low.strip("0123456789!@#$%^&*()_+-=.,;:?~ "),
             re.sub(r"[^a-z]", "", low)}
    leet = str.maketrans({"@": "a", "0": "o", "1": "i", "3": "e", "$": "s", "5": "s", "!": "i"})
    words |= {w.translate(leet) for w in list(words)}
    return {w for w in words if w}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password_policy(password: str, *, username: str, min_length: int) -> None:
    """At least `min_length` characters, three of four character classes, not a common
    password (even decorated with digits and symbols), not mostly keyboard or alphabet runs,
    and not containing the username."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"at least {min_length} characters")
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        problems.append("three of: lower case, upper case, digits, symbols")
    common = common_passwords()
    if any(w in common for w in _core_words(password)):
        problems.append("not a common password")
    if _sequence_chars(password) * 2 >= len(password):
        problems.append("not keyboard or alphabet sequences (qwerty, 12345, abcd…)")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if problems:
        raise InvalidInput("password does not meet the policy: " + "; ".join(problems),
                           code="weak_password")

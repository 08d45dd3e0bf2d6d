"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from probity.errors import InvalidInput

_hasher = PasswordHasher()
# A dummy hash verified when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password-1A!")

COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "123456789", "1234567890", "qwertyuiop",
        "1q2w3e4r5t", "iloveyou", "admin12345", "welcome123", "abc1234567", "passw0rd!",
        "p@ssw0rd", "qwerty123", "woaini1314", "11111111111", "aa123456789",
    }
)


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
    """At least `min_length` characters, three of four character classes, not common,
    and not containing the username."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"at least {min_length} characters")
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        problems.append("three of: lower case, upper case, digits, symbols")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("not a common password")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if problems:
        raise InvalidInput("password does not meet the policy: " + "; ".join(problems),
                           code="weak_password")

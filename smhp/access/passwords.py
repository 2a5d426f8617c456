"""Password hashing: argon2id with a per-password salt, slow on purpose.

argon2id (RFC 9106, the "low memory" profile argon2-cffi uses by default: 3 passes
over 64 MiB) makes each guess against a stolen users file cost real memory and time.
The salt and the parameters are inside the encoded hash, so hashes made with stronger
parameters later verify side by side with older ones.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
"""NCSC guidance favours length over composition rules; 12 is the floor here."""
MAX_LENGTH = 1024
"""Longer input is refused before hashing: no one types it, and it costs CPU."""

_HASHER = PasswordHasher()


def check_strength(password: str) -> None:
    """Raise ``ValueError`` for a password too short or too long to set."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must be at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The encoded argon2id hash (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``)."""
    return _HASHER.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches ``encoded``; any malformed input is a mismatch."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("smhp: not a password of anyone; only here to spend the same time")


def burn_verification_time(password: str) -> None:
    """Spend what a real verification costs, for an unknown user or a locked account.

    Without it, "no such user" would answer in microseconds and "wrong password" in
    tens of milliseconds, telling an attacker which usernames exist.
    """
    verify_password(_dummy_hash(), password[:MAX_LENGTH])

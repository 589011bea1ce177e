"""Password hashing with argon2id (argon2-cffi); parameters are the library's RFC 9106 low-memory defaults."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256


class Passwords:
    """Hash and verify passwords. Tests pass cheaper parameters; production keeps the defaults."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None, parallelism: int | None = None):
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            parallelism=parallelism or defaults.parallelism,
        )
        self._dummy = self._hasher.hash("omniops-dummy-password")

    def hash(self, password: str) -> str:
        """Return the argon2id hash of ``password`` (raises ``ValueError`` when it is too short or too long)."""
        check_strength(password)
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant-work check: an account without a hash still costs one verification (no user enumeration)."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def check_strength(password: str) -> None:
    """Length rules only (NIST SP 800-63B): at least 10 characters, at most 256."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")

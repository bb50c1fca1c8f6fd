"""Password hashing with Argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHERS = {
    "argon2": PasswordHasher(),  # library defaults (RFC 9106 low-memory profile)
    "argon2-fast": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),  # tests only
}


class Passwords:
    """Hash and verify passwords; ``scheme`` picks the cost profile."""

    def __init__(self, scheme: str = "argon2"):
        self._hasher = _HASHERS[scheme]
        self._dummy = self._hasher.hash("not-a-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; takes the same time for unknown users."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

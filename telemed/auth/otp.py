"""Time-based one-time codes (RFC 6238, via pyotp) and recovery codes: pure functions, no database.

Codes are 6 digits over 30-second steps; a code of the step before or after the current one is
accepted (clock drift). The caller keeps the last step it accepted per user and passes it back, so
a code is never accepted twice (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "telemed"
DIGITS = 6
INTERVAL = 30  # seconds per step
DRIFT = 1  # steps accepted before and after the current one
RECOVERY_COUNT = 10
#: The demo staff accounts' secret (``telemed seed-demo``); real accounts get their own random one.
DEMO_SECRET = "JBSWY3DPEHPK3PXP"
CODE_MAX = 32  # the longest code input read (a recovery code with spaces)


class _Totp(pyotp.TOTP):
    """pyotp's TOTP, also for the 80-bit demo secret (pyotp asks for 112 bits; every secret this
    module makes has 160)."""

    min_secret_length_bits = 80


def _totp(secret: str) -> _Totp:
    return _Totp(secret, digits=DIGITS, interval=INTERVAL)


def new_secret() -> str:
    """A random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def step_of(moment: datetime) -> int:
    """The 30-second step number of ``moment``."""
    return int(moment.timestamp()) // INTERVAL


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator shows at ``moment``."""
    return _totp(secret).at(moment)


def normalize(code: str | None) -> str:
    """The code as typed, without spaces and dashes, lower case."""
    return "".join((code or "")[:CODE_MAX].split()).replace("-", "").lower()


def is_totp_shaped(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, moment: datetime, *, last_step: int | None) -> int | None:
    """The step (current one ±1) whose code is ``code`` and that is later than ``last_step``, else None."""
    if not is_totp_shaped(code):
        return None
    totp = _totp(secret)
    now_step = step_of(moment)
    for step in range(now_step - DRIFT, now_step + DRIFT + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_COUNT) -> list[str]:
    """Fresh recovery codes, shown to the user once: ``xxxxx-xxxxx`` (50 random bits each)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_hash(code: str) -> str:
    """What is stored of a recovery code: the SHA-256 of its normalized form (the codes are random,
    so a fast hash is enough)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()

"""The audit chain's keys (no Flask here).

Rows are chained with HMAC-SHA256 under a key that is not in the database (``TELEMED_AUDIT_KEY``),
so someone able to write to the database cannot rewrite rows and recompute the chain. The
setting holds one key or several separated by commas: the first signs new rows, the others are
retired keys that still verify the rows they signed (rotation: put the new key first, keep the
old ones after it). Each row stores its key's id, a fingerprint that reveals nothing of the key.
Without the setting the key is derived from the app's secret key (fine for a demo; production
sets its own, see ``telemed check-config``).

Checkpoints of the chain are signed with Ed25519; the signing key is derived from the audit key,
and its public half is written in every checkpoint and printed by ``telemed audit-verify``, so
an outside auditor can check checkpoints without any secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_ID_LENGTH = 16
MIN_KEY_LENGTH = 32  # characters of a configured key


def key_id(key: bytes) -> str:
    """A key's public fingerprint: 16 hex characters."""
    return hashlib.sha256(b"telemed-audit-key-id:" + key).hexdigest()[:KEY_ID_LENGTH]


class UnknownKey(KeyError):
    """A row or checkpoint names a key that is not configured."""


class AuditKeys:
    """The configured keys: ``current_id`` signs, every key verifies what it signed."""

    def __init__(self, keys: list[bytes]):
        if not keys:
            raise ValueError("at least one audit key is needed")
        self._keys = {key_id(k): k for k in keys}
        self.current_id = key_id(keys[0])

    @classmethod
    def from_setting(cls, setting: str | None, secret_key: str) -> AuditKeys:
        """Keys from ``TELEMED_AUDIT_KEY`` (comma-separated, current first), or one derived from
        the secret key when it is unset."""
        configured = [k.strip().encode() for k in (setting or "").split(",") if k.strip()]
        if configured:
            return cls(configured)
        return cls([hmac.new(secret_key.encode(), b"telemed audit chain", hashlib.sha256).digest()])

    def _key(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    def mac(self, kid: str, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under key ``kid``, 64 lowercase hex characters."""
        return hmac.new(self._key(kid), message, hashlib.sha256).hexdigest()

    def signing_key(self, kid: str) -> Ed25519PrivateKey:
        seed = hmac.new(self._key(kid), b"telemed audit checkpoint signing", hashlib.sha256).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    def public_key(self, kid: str) -> str:
        """The checkpoint-signing public key of key ``kid``, base64 of its 32 raw bytes."""
        raw = self.signing_key(kid).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")

    def sign(self, message: bytes) -> tuple[str, str]:
        """``(key id, base64 signature)`` of ``message`` with the current key."""
        signature = self.signing_key(self.current_id).sign(message)
        return self.current_id, base64.b64encode(signature).decode("ascii")


def signature_valid(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is a valid Ed25519 signature of ``message`` by that public key."""
    from cryptography.exceptions import InvalidSignature

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True

"""Configuration: defaults overridden by ``TELEMED_*`` environment variables.

``load_config(overrides)`` returns a plain dict for ``app.config``. Every key
can be set from the environment as ``TELEMED_<KEY>``; the README lists them.
A value the app cannot work with raises :class:`ConfigError` at startup.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS: dict[str, object] = {
    "DATABASE_URL": None,  # default: sqlite file in the instance dir
    "INSTANCE_DIR": None,  # default: ./instance
    "SECRET_KEY": None,  # default: generated once, kept in the instance dir
    "STORAGE_URL": None,  # default: file://<instance>/storage
    "S3_ENDPOINT_URL": None,
    "MAX_UPLOAD_MB": 25,
    "MAX_JSON_KB": 256,  # the largest JSON request body (uploads have their own streaming limit)
    "CLINIC_TIMEZONE": "Europe/Moscow",
    "DEFAULT_LOCALE": "ru",
    "CONSENT_VERSION": "2026-01",
    "TOKEN_TTL_HOURS": 24 * 30,
    "SESSION_TTL_HOURS": 24 * 14,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "RATELIMIT_STORAGE_URL": "memory://",
    "SOCKETIO_MESSAGE_QUEUE": None,
    "ALLOWED_ORIGINS": "",
    "CHAT_OPEN_HOURS": 72,
    "ROOM_EARLY_JOIN_MINUTES": 15,
    "STUN_URLS": "",
    "TURN_URLS": "",
    "TURN_SECRET": None,
    "TURN_TTL_SECONDS": 3600,
    "ICE_TRANSPORT_POLICY": "all",  # "relay": calls only through TURN, so peers never see each other's IPs
    "PASSWORD_HASH": "argon2",  # "argon2-fast" only for tests
    "URGENT_ESCALATE_SECONDS": 600,  # a request waiting this long escalates (level 1; twice as long: 2)
    "DUTY_GRACE_SECONDS": 120,  # duty ends when no session of the doctor was connected for this long
    "URGENT_DURATION_MINUTES": 30,  # an urgent consultation's planned length (its end = pick-up + this)
    "ACCESS_LOG": True,  # one JSON line per request on the ``telemed.access`` logger (stderr)
    "METRICS_TOKEN": None,  # /metrics answers only to ``Authorization: Bearer <this>``; 404 when unset
    "SESSION_COOKIE_SECURE": False,  # on in production (HTTPS): cookies only over TLS
}

_INT_KEYS = {
    "MAX_UPLOAD_MB",
    "MAX_JSON_KB",
    "TOKEN_TTL_HOURS",
    "SESSION_TTL_HOURS",
    "CHAT_OPEN_HOURS",
    "ROOM_EARLY_JOIN_MINUTES",
    "TURN_TTL_SECONDS",
    "URGENT_ESCALATE_SECONDS",
    "DUTY_GRACE_SECONDS",
    "URGENT_DURATION_MINUTES",
}
_BOOL_KEYS = {"ACCESS_LOG", "SESSION_COOKIE_SECURE"}
_BOOLS = {
    "on": True,
    "true": True,
    "yes": True,
    "1": True,
    "off": False,
    "false": False,
    "no": False,
    "0": False,
}
_POSITIVE_KEYS = ("URGENT_ESCALATE_SECONDS", "DUTY_GRACE_SECONDS", "URGENT_DURATION_MINUTES")
ICE_TRANSPORT_POLICIES = ("all", "relay")


class ConfigError(ValueError):
    """A setting has a value the app cannot work with; the message names the variable."""


def _check_ice_transport_policy(cfg: dict[str, object]) -> None:
    """Normalize ``ICE_TRANSPORT_POLICY``; ``relay`` needs TURN URLs and a TURN secret."""
    raw = cfg["ICE_TRANSPORT_POLICY"]
    policy = str(raw or "").strip().lower()
    if policy not in ICE_TRANSPORT_POLICIES:
        raise ConfigError(
            f"TELEMED_ICE_TRANSPORT_POLICY must be one of {', '.join(ICE_TRANSPORT_POLICIES)}, not {raw!r}"
        )
    if policy == "relay" and not (str(cfg["TURN_URLS"] or "").strip() and cfg["TURN_SECRET"]):
        raise ConfigError(
            "TELEMED_ICE_TRANSPORT_POLICY=relay needs TELEMED_TURN_URLS and TELEMED_TURN_SECRET: "
            "without a TURN server no call could connect"
        )
    cfg["ICE_TRANSPORT_POLICY"] = policy


def _check_positive(cfg: dict[str, object]) -> None:
    for key in _POSITIVE_KEYS:
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"TELEMED_{key} must be a positive whole number, not {value!r}")


def _from_env() -> dict[str, object]:
    values: dict[str, object] = {}
    for key in DEFAULTS:
        raw = os.environ.get(f"TELEMED_{key}")
        if raw is None or raw == "":
            continue
        if key in _INT_KEYS:
            try:
                values[key] = int(raw)
            except ValueError:
                raise ConfigError(f"TELEMED_{key} must be a whole number, not {raw!r}") from None
        elif key in _BOOL_KEYS:
            if raw.strip().lower() not in _BOOLS:
                raise ConfigError(f"TELEMED_{key} must be on or off, not {raw!r}")
            values[key] = _BOOLS[raw.strip().lower()]
        else:
            values[key] = raw
    return values


def _secret_key(instance_dir: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first use."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_config(overrides: dict | None = None) -> dict[str, object]:
    """Merge defaults, environment and ``overrides`` (highest priority).

    Raises :class:`ConfigError` for a value the app cannot work with.
    """
    cfg = dict(DEFAULTS)
    cfg.update(_from_env())
    cfg.update(overrides or {})
    _check_ice_transport_policy(cfg)
    _check_positive(cfg)
    instance = Path(str(cfg["INSTANCE_DIR"] or Path.cwd() / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    cfg["INSTANCE_DIR"] = str(instance)
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'telemed.sqlite3'}"
    if not cfg["STORAGE_URL"]:
        cfg["STORAGE_URL"] = (instance / "storage").as_uri()
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _secret_key(instance)
    cfg["MAX_CONTENT_LENGTH"] = None  # uploads are streamed and limited by the upload service
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_SECURE"] = cfg["SESSION_COOKIE_SECURE"]
    cfg.setdefault("REMEMBER_COOKIE_DURATION", 0)
    cfg["RATELIMIT_STORAGE_URI"] = cfg["RATELIMIT_STORAGE_URL"]
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    cfg["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in a before_request hook, skipped for bearer tokens
    cfg["WTF_CSRF_TIME_LIMIT"] = None
    return cfg

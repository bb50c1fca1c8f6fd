"""Configuration: defaults overridden by ``TELEMED_*`` environment variables.

``load_config(overrides)`` returns a plain dict for ``app.config``. Every key
can be set from the environment as ``TELEMED_<KEY>``; the README lists them.
A value the app cannot work with raises :class:`ConfigError` at startup.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

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
    "STAFF_IDLE_MINUTES": 15,  # a staff login session ends after this long without a request
    "LOGIN_RATE_LIMIT": "10 per minute",
    "REDIS_URL": None,  # set: Socket.IO message queue and rate-limit counters shared by all processes
    "RATELIMIT_STORAGE_URL": "memory://",  # default with REDIS_URL: that Redis
    "SOCKETIO_MESSAGE_QUEUE": None,  # default with REDIS_URL: that Redis
    "ALLOWED_ORIGINS": "",
    "CHAT_OPEN_HOURS": 72,
    "ROOM_EARLY_JOIN_MINUTES": 15,
    "STUN_URLS": "",
    "TURN_URLS": "",
    "TURN_SECRET": None,
    "TURN_TTL_SECONDS": 3600,
    "ICE_TRANSPORT_POLICY": "all",  # "relay": calls only through TURN, so peers never see each other's IPs
    "PASSWORD_HASH": "argon2",  # "argon2-fast" only for tests
    "AUDIT_KEY": None,  # the audit chain's HMAC key(s), current first; default: derived from SECRET_KEY
    "AUDIT_CHECKPOINT_SECONDS": 60,  # the worker writes a signed checkpoint of the audit chain this often
    "URGENT_ESCALATE_SECONDS": 600,  # a request waiting this long escalates (level 1; twice as long: 2)
    "DUTY_GRACE_SECONDS": 120,  # duty ends when no session of the doctor was connected for this long
    "URGENT_DURATION_MINUTES": 30,  # an urgent consultation's planned length (its end = pick-up + this)
    "PRESENCE_TTL_SECONDS": 60,  # room presence a serving process stopped refreshing expires after this
    "PROXY_HOPS": 0,  # reverse proxies in front whose X-Forwarded-* headers are trusted (nginx: 1)
    "SECURE_COOKIES": False,  # production (HTTPS): cookies only over HTTPS, and HSTS
    "COOKIE_SECURE": None,  # the older name of SECURE_COOKIES, still read when that is not set
    "ACTIVE_REQUESTS": 4,  # GET/HEAD requests a process works on at once, the rest queued in order (0: no limit)
    "ACCESS_LOG": True,  # one JSON line per request on the ``telemed.access`` logger (stderr)
    "METRICS_TOKEN": None,  # /metrics answers only to ``Authorization: Bearer <this>``; 404 when unset
    "SMTP_URL": None,  # smtp[s]://[user:password@]host[:port][?starttls=1]; unset: no e-mail is sent
    "MAIL_FROM": "Телемедицина <no-reply@localhost>",  # the From of notification e-mails
    "PUBLIC_URL": "http://localhost:5000",  # the service's address as members reach it (links in e-mails)
    "OIDC_ISSUER": None,  # OpenID Connect login (Gosuslugi): the provider; <issuer>/.well-known/openid-configuration
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "OIDC_SCOPES": "openid profile email",  # the policy claim's scope is added when it names one
    "OIDC_POLICY_CLAIM": "policy_number",  # the claim holding the insurance policy number
    "OIDC_PROVIDER": "oidc",  # "oidc" (plain OpenID Connect); "esia" stops startup (not built: oidc.EsiaNotReady)
}

_INT_KEYS = {
    "MAX_UPLOAD_MB",
    "MAX_JSON_KB",
    "TOKEN_TTL_HOURS",
    "SESSION_TTL_HOURS",
    "STAFF_IDLE_MINUTES",
    "CHAT_OPEN_HOURS",
    "ROOM_EARLY_JOIN_MINUTES",
    "TURN_TTL_SECONDS",
    "URGENT_ESCALATE_SECONDS",
    "DUTY_GRACE_SECONDS",
    "URGENT_DURATION_MINUTES",
    "PROXY_HOPS",
    "PRESENCE_TTL_SECONDS",
    "AUDIT_CHECKPOINT_SECONDS",
    "ACTIVE_REQUESTS",
}
_BOOL_KEYS = {"SECURE_COOKIES", "COOKIE_SECURE", "ACCESS_LOG"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_POSITIVE_KEYS = (
    "AUDIT_CHECKPOINT_SECONDS",
    "STAFF_IDLE_MINUTES",
    "URGENT_ESCALATE_SECONDS",
    "DUTY_GRACE_SECONDS",
    "URGENT_DURATION_MINUTES",
    "PRESENCE_TTL_SECONDS",
)
ICE_TRANSPORT_POLICIES = ("all", "relay")
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_URL_KEYS = ("REDIS_URL", "SOCKETIO_MESSAGE_QUEUE")  # the settings that name a Redis


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


def redis_urls(cfg: dict[str, object]) -> list[str]:
    """The distinct Redis URLs the app uses (``REDIS_URL``, the Socket.IO queue): none when embedded."""
    urls = [str(cfg[key]) for key in REDIS_URL_KEYS if cfg.get(key)]
    return list(dict.fromkeys(urls))


def _check_redis(cfg: dict[str, object], explicit: dict[str, object]) -> None:
    """Check the Redis URLs' schemes; ``REDIS_URL`` becomes the default of the Socket.IO message
    queue and of the rate-limit storage (each still overridable by its own setting)."""
    for key in REDIS_URL_KEYS:
        url = str(cfg[key] or "").strip()
        scheme = urlsplit(url).scheme
        if url and scheme not in REDIS_SCHEMES:
            shown = f"{scheme}://" if scheme else "a URL without a scheme"
            raise ConfigError(f"TELEMED_{key} must start with redis://, rediss:// or unix://, not {shown}")
        cfg[key] = url or None
    redis_url = cfg["REDIS_URL"]
    if not redis_url:
        return
    if not explicit.get("SOCKETIO_MESSAGE_QUEUE"):
        cfg["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    if not explicit.get("RATELIMIT_STORAGE_URL"):
        url = str(redis_url)  # Flask-Limiter's storage names a Unix socket redis+unix://
        cfg["RATELIMIT_STORAGE_URL"] = "redis+" + url if url.startswith("unix:") else url


def _check_mail(cfg: dict[str, object]) -> None:
    url = str(cfg["SMTP_URL"] or "").strip()
    parts = urlsplit(url)
    if url and (parts.scheme not in ("smtp", "smtps") or not parts.hostname):
        raise ConfigError("TELEMED_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    cfg["SMTP_URL"] = url or None
    public = str(cfg["PUBLIC_URL"] or "").strip().rstrip("/")
    if urlsplit(public).scheme not in ("http", "https") or not urlsplit(public).hostname:
        raise ConfigError(f"TELEMED_PUBLIC_URL must be an http:// or https:// address, not {public!r}")
    cfg["PUBLIC_URL"] = public


OIDC_PROVIDERS = ("oidc", "esia")


def _check_oidc(cfg: dict[str, object]) -> None:
    """OpenID Connect login is all or nothing: an issuer (an http(s) URL) needs a client id and the
    reverse; the scopes always include ``openid``; the policy claim is a plain name."""
    for key in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        cfg[key] = str(cfg[key] or "").strip() or None
    issuer, client_id = cfg["OIDC_ISSUER"], cfg["OIDC_CLIENT_ID"]
    if issuer:
        parts = urlsplit(str(issuer))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"TELEMED_OIDC_ISSUER must be an http:// or https:// address, not {issuer!r}")
        cfg["OIDC_ISSUER"] = str(issuer).rstrip("/")
    if bool(issuer) != bool(client_id):
        raise ConfigError("TELEMED_OIDC_ISSUER and TELEMED_OIDC_CLIENT_ID go together: set both or neither")
    if cfg["OIDC_CLIENT_SECRET"] and not issuer:
        raise ConfigError("TELEMED_OIDC_CLIENT_SECRET is set without TELEMED_OIDC_ISSUER")
    scopes = str(cfg["OIDC_SCOPES"] or "").split()
    cfg["OIDC_SCOPES"] = " ".join(dict.fromkeys(["openid", *scopes]))
    claim = str(cfg["OIDC_POLICY_CLAIM"] or "").strip()
    if not claim or not claim.replace("_", "").replace("-", "").replace(":", "").replace(".", "").isalnum():
        raise ConfigError(f"TELEMED_OIDC_POLICY_CLAIM must be a claim name, not {claim!r}")
    cfg["OIDC_POLICY_CLAIM"] = claim
    provider = str(cfg["OIDC_PROVIDER"] or "").strip().lower()
    if provider not in OIDC_PROVIDERS:
        raise ConfigError(
            f"TELEMED_OIDC_PROVIDER must be one of {', '.join(OIDC_PROVIDERS)}, not {provider!r}"
        )
    cfg["OIDC_PROVIDER"] = provider


def _check_positive(cfg: dict[str, object]) -> None:
    for key in _POSITIVE_KEYS:
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"TELEMED_{key} must be a positive whole number, not {value!r}")
    hops = cfg["PROXY_HOPS"]
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= 5:
        raise ConfigError(f"TELEMED_PROXY_HOPS must be a whole number from 0 to 5, not {hops!r}")
    active = cfg["ACTIVE_REQUESTS"]
    if isinstance(active, bool) or not isinstance(active, int) or not 0 <= active <= 1000:
        raise ConfigError(f"TELEMED_ACTIVE_REQUESTS must be a whole number from 0 to 1000, not {active!r}")


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
            if raw.strip().lower() not in _TRUE + _FALSE:
                raise ConfigError(f"TELEMED_{key} must be one of {', '.join(_TRUE + _FALSE)}, not {raw!r}")
            values[key] = raw.strip().lower() in _TRUE
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
    explicit = {**_from_env(), **(overrides or {})}
    cfg = {**DEFAULTS, **explicit}
    _check_ice_transport_policy(cfg)
    _check_redis(cfg, explicit)
    _check_positive(cfg)
    _check_mail(cfg)
    _check_oidc(cfg)
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
    secure = bool(explicit.get("SECURE_COOKIES", explicit.get("COOKIE_SECURE", False)))
    cfg["SECURE_COOKIES"] = cfg["COOKIE_SECURE"] = secure
    cfg["SESSION_COOKIE_SECURE"] = cfg["REMEMBER_COOKIE_SECURE"] = secure
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg.setdefault("REMEMBER_COOKIE_DURATION", 0)
    cfg["RATELIMIT_STORAGE_URI"] = cfg["RATELIMIT_STORAGE_URL"]
    if str(cfg["RATELIMIT_STORAGE_URI"]).startswith("redis"):
        # While Redis does not answer (each try gives up within 2 s), each process counts in its own
        # memory, and goes back to Redis once it answers again: logins stay limited, never fail.
        cfg.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
        cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    cfg["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in a before_request hook, skipped for bearer tokens
    cfg["WTF_CSRF_TIME_LIMIT"] = None
    return cfg

"""The checks of ``telemed check-config``: is this environment fit to deploy?

Each check takes the app (built from the environment, nothing started) and returns its results:
``ok``, ``warning`` (works, but must change for production) or ``error`` (will not work). ``CHECKS``
lists them in the order they are printed; a new dependency's check is one more entry there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from telemed.migrate import revisions

OK, WARNING, ERROR = "ok", "warning", "error"
CONNECT_TIMEOUT_SECONDS = 5
MIN_SECRET_KEY = 32
MIN_METRICS_TOKEN = 16


@dataclass(frozen=True)
class Result:
    """One printed line: ``level`` (``ok``, ``warning``, ``error``), what was checked, what was found."""

    level: str
    name: str
    message: str

    def line(self) -> str:
        return f"{self.level:<8}{self.name}: {self.message}"


Check = Callable[[Flask], Sequence[Result]]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    """The first line of an error, without the driver's wrapping (no SQL, no credentials)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def database(app: Flask) -> list[Result]:
    """Connect (a short timeout) and compare the schema's revision with the code's migrations."""
    url = str(app.config["DATABASE_URL"])
    backend = make_url(url).get_backend_name()
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if backend == "postgresql" else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current, heads = revisions(conn)
    except Exception as exc:
        return [Result(ERROR, "database", f"cannot connect to {_shown(url)}: {_reason(exc)}")]
    finally:
        engine.dispose()
    results = [Result(OK, "database", f"connected to {_shown(url)}")]
    if current == heads:
        results.append(Result(OK, "schema", f"current (revision {', '.join(sorted(heads))})"))
    elif not current:
        results.append(Result(WARNING, "schema", "empty database: run `telemed init-db` to create it"))
    elif unknown := _unknown(app, current):
        results.append(
            Result(ERROR, "schema", f"revision {', '.join(sorted(unknown))} is unknown to this code (newer?)")
        )
    else:
        results.append(
            Result(
                WARNING,
                "schema",
                f"at {', '.join(sorted(current))}, not {', '.join(sorted(heads))}: run `telemed init-db`",
            )
        )
    return results


def _unknown(app: Flask, revs: set[str]) -> set[str]:
    """Those of ``revs`` that no migration of this code defines (a schema newer than the code)."""
    from alembic.script import ScriptDirectory

    from telemed.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(str(app.config["DATABASE_URL"])))
    unknown = set()
    for rev in revs:
        try:
            if script.get_revision(rev) is None:
                unknown.add(rev)
        except Exception:  # alembic: "Can't locate revision"
            unknown.add(rev)
    return unknown


def storage(app: Flask) -> list[Result]:
    """The document storage answers (S3: the bucket is reachable; local: the folder is writable)."""
    url = str(app.config["STORAGE_URL"])
    if app.extensions["telemed.storage"].ping():
        return [Result(OK, "storage", f"{url} is usable")]
    hint = (
        "reachable (does the bucket exist? `telemed init-db` creates it)"
        if url.startswith("s3:")
        else "writable"
    )
    return [Result(ERROR, "storage", f"{url} is not {hint}")]


def secret_key(app: Flask) -> list[Result]:
    """``TELEMED_SECRET_KEY`` is set (the same in every process), and long."""
    key = str(app.config["SECRET_KEY"])
    generated = Path(str(app.config["INSTANCE_DIR"])) / "secret_key"
    if generated.exists() and generated.read_text().strip() == key:
        return [
            Result(
                WARNING,
                "secret key",
                f"generated in {generated}: set TELEMED_SECRET_KEY, the same for every process",
            )
        ]
    if len(key) < MIN_SECRET_KEY:
        return [
            Result(WARNING, "secret key", f"TELEMED_SECRET_KEY is shorter than {MIN_SECRET_KEY} characters")
        ]
    return [Result(OK, "secret key", "set")]


def database_engine(app: Flask) -> list[Result]:
    """PostgreSQL in production: SQLite serves one machine only."""
    if make_url(str(app.config["DATABASE_URL"])).get_backend_name() == "sqlite":
        return [
            Result(WARNING, "database engine", "SQLite: use PostgreSQL (TELEMED_DATABASE_URL) in production")
        ]
    return [Result(OK, "database engine", make_url(str(app.config["DATABASE_URL"])).get_backend_name())]


def cookies(app: Flask) -> list[Result]:
    """Session cookies marked ``Secure`` (sent over HTTPS only)."""
    if not app.config.get("SESSION_COOKIE_SECURE"):
        return [
            Result(
                WARNING,
                "cookies",
                "TELEMED_SECURE_COOKIES is off: login cookies would also travel over plain HTTP (and no HSTS)",
            )
        ]
    return [Result(OK, "cookies", "Secure")]


def password_hash(app: Flask) -> list[Result]:
    """Full-strength Argon2id; ``argon2-fast`` is for tests."""
    if app.config["PASSWORD_HASH"] == "argon2-fast":
        return [Result(WARNING, "password hash", "TELEMED_PASSWORD_HASH=argon2-fast is for tests only")]
    return [Result(OK, "password hash", str(app.config["PASSWORD_HASH"]))]


def turn(app: Flask) -> list[Result]:
    """A TURN server: without one, calls between restrictive networks do not connect."""
    if not str(app.config["TURN_URLS"] or "").strip() or not app.config["TURN_SECRET"]:
        return [
            Result(
                WARNING,
                "turn",
                "no TURN server (TELEMED_TURN_URLS, TELEMED_TURN_SECRET): calls behind strict NATs will fail",
            )
        ]
    return [Result(OK, "turn", "configured")]


def redis(app: Flask) -> list[Result]:
    """Every Redis the settings name answers (``create_app`` already refused an unreachable one)."""
    from telemed import redisconn
    from telemed.config import redis_urls

    urls = redis_urls(app.config)
    if not urls:
        return [Result(OK, "redis", "not configured (one serving process only)")]
    results = []
    for url in urls:
        conn = redisconn.client(url)
        try:
            answers = redisconn.ping(conn)
        finally:
            conn.close()
        shown = redisconn.shown(url)
        results.append(
            Result(OK, "redis", f"{shown} answers")
            if answers
            else Result(ERROR, "redis", f"{shown} does not answer")
        )
    return results


def metrics_token(app: Flask) -> list[Result]:
    """``/metrics`` is either off or protected by a token that is hard to guess."""
    token = app.config["METRICS_TOKEN"]
    if not token:
        return [Result(OK, "metrics", "/metrics is off (TELEMED_METRICS_TOKEN not set)")]
    if len(str(token)) < MIN_METRICS_TOKEN:
        return [
            Result(
                WARNING, "metrics", f"TELEMED_METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN} characters"
            )
        ]
    return [Result(OK, "metrics", "/metrics needs the bearer token")]


def audit_key(app: Flask) -> list[Result]:
    """``TELEMED_AUDIT_KEY`` is set (not derived from the secret key) and every key in it is long."""
    from telemed.records.audit_keys import MIN_KEY_LENGTH

    setting = str(app.config["AUDIT_KEY"] or "")
    keys = [k.strip() for k in setting.split(",") if k.strip()]
    if not keys:
        return [
            Result(
                WARNING,
                "audit key",
                "TELEMED_AUDIT_KEY not set: the audit chain's key is derived from the secret key; "
                "set a key of its own, kept outside the database",
            )
        ]
    if any(len(k) < MIN_KEY_LENGTH for k in keys):
        return [
            Result(
                WARNING, "audit key", f"a TELEMED_AUDIT_KEY key is shorter than {MIN_KEY_LENGTH} characters"
            )
        ]
    return [Result(OK, "audit key", f"set ({len(keys)} key{'s' if len(keys) > 1 else ''}, the first signs)")]


#: Every check, in the order printed. A new dependency's check is one more entry here.
CHECKS: list[Check] = [
    database,
    redis,
    storage,
    secret_key,
    audit_key,
    database_engine,
    cookies,
    password_hash,
    turn,
    metrics_token,
]


def run(app: Flask, checks: Sequence[Check] = CHECKS) -> list[Result]:
    """Run ``checks``; a check that fails unexpectedly is one ``error`` result, the others still run."""
    results: list[Result] = []
    for check in checks:
        try:
            results.extend(check(app))
        except Exception as exc:
            results.append(Result(ERROR, check.__name__.replace("_", " "), _reason(exc)))
    return results

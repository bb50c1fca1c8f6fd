"""Database plumbing: declarative base, engine per app, sessions.

* ``Base`` carries a naming convention so Alembic migrations get stable names.
* ``UTCDateTime`` stores timezone-aware UTC datetimes on SQLite and PostgreSQL
  alike and refuses naive ones.
* ``Database`` owns the engine and session factory of one app. Pages and API
  handlers read through ``request_session()`` (closed at teardown) and write
  through ``transaction()``, which on SQLite starts with ``BEGIN IMMEDIATE`` so
  concurrent writers queue on the lock instead of failing half-way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetime in, aware UTC datetime out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Every id column is a 32-bit INTEGER on PostgreSQL: no row has a larger id, and comparing a larger
# number with one fails there. Callers answer an id above this as "not found" before querying.
ID_MAX = 2**31 - 1

_WRITE = "telemed_write"


# LIFO: the most recently used connection is reused first, so a busy thread (the chat writer)
# keeps a warm connection (statement and page caches) and idle extras can time out.
_POOL = {"pool_size": 10, "max_overflow": 20, "pool_use_lifo": True}
# Errors and SQL logging never show statement parameters (search terms, message texts, diagnoses).
_PRIVATE = {"hide_parameters": True}


def _create_private(url: str) -> None:
    """Create a SQLite database file that does not exist yet with mode 0600 (owner only), before
    SQLite would create it with the process's umask; SQLite gives its WAL and shared-memory files
    the database file's mode. An existing file keeps its mode."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # kept as it is; a missing folder fails on connecting
        pass


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and explicit BEGINs."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, **_POOL, **_PRIVATE)

        @event.listens_for(engine, "connect")
        def _utc_session(dbapi_conn, _record):
            # Sessions speak UTC whatever the server's own zone: the driver then returns
            # timestamps in ``UTC`` itself, and reading a thousand costs no zone conversion.
            with dbapi_conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
            dbapi_conn.commit()

        return engine
    _create_private(url)
    engine = (
        create_engine(url, **_POOL, **_PRIVATE)
        if ":memory:" not in url
        else create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, **_PRIVATE)
    )

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's lower() folds ASCII only; searches that must match Cyrillic in any case use this
        dbapi_conn.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


class Database:
    """Engine and sessions of one app."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        """A new session for reads (caller closes it)."""
        return self._read()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commit on success, roll back on any error."""
        session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

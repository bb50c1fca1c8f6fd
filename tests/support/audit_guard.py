"""Lift the database's append-only guard of ``audit_events`` for one transaction: what a test
must do to empty the table between tests, and what an attacker with full database rights can do
(the tamper tests play that attacker). The guard's SQL is the migration's own."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

_MIGRATION = (
    Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0011_audit_keyed_append_only.py"
)


def _migration():
    spec = importlib.util.spec_from_file_location("audit_guard_migration", _MIGRATION)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_GUARD = _migration()


def _is_sqlite(conn: Any) -> bool:
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    return bind.dialect.name == "sqlite"


def lift(session: Any) -> None:
    """Switch the guard off in the transaction of ``session`` (a Session or Connection):
    PostgreSQL: triggers do not fire in it; SQLite: the triggers are dropped (``restore`` them
    before committing)."""
    if _is_sqlite(session):
        for statement in _GUARD.SQLITE_UNGUARD:
            session.execute(text(statement))
    else:
        session.execute(text("SET LOCAL session_replication_role = replica"))


def restore(session: Any) -> None:
    """Put the guard back (a no-op on PostgreSQL, where ``lift`` lasts only for the transaction)."""
    if _is_sqlite(session):
        for statement in _GUARD.SQLITE_GUARD:
            session.execute(text(statement))


@contextmanager
def tampering(engine: Any) -> Iterator[Any]:
    """A connection in a transaction with the guard lifted: what an attacker with full rights on
    the database has (the guard is back when it commits)."""
    with engine.begin() as conn:
        lift(conn)
        yield conn
        restore(conn)

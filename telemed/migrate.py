"""Alembic, driven from code: ``telemed init-db`` upgrades to head."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from telemed import asset_dir


class MigrationError(RuntimeError):
    """A migration left rows that break a foreign key (SQLite, checked before committing)."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", asset_dir("migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (idempotent)."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema back to ``revision``."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def _run(engine: Engine, step) -> None:
    """Run an Alembic command in one transaction.

    On SQLite, migrations that change a column rebuild the table (copy, drop, rename). With foreign
    keys enforced, dropping the old table would delete, through ``ON DELETE CASCADE``, every row that
    refers to it (chat messages, conclusions...). So, as SQLite's documentation prescribes for
    schema changes, foreign keys are switched off around the transaction (the pragma is a no-op
    inside one) and ``PRAGMA foreign_key_check`` must find nothing before the commit.
    """
    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            _pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                _pragma(conn, "PRAGMA foreign_keys=ON")


def _pragma(conn: Connection, statement: str) -> None:
    """Run a pragma outside any transaction (the DB-API connection is in autocommit mode)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def revisions(connection: Connection) -> tuple[set[str], set[str]]:
    """The schema's revisions ``(current, heads)``: what the database is at (empty when Alembic
    never ran on it) and what the code's migrations lead to. Equal when the schema is current."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(str(connection.engine.url.render_as_string(hide_password=False)))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    return set(MigrationContext.configure(connection).get_current_heads()), heads

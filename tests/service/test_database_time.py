"""Timestamps go in and come out as aware UTC on both databases, whatever the server's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from telemed.dates import iso
from telemed.db import Database
from telemed.notify.models import OutboxEvent


def test_a_postgresql_session_speaks_utc_whatever_the_database_zone(pg_server):
    """A database whose own zone is Moscow still hands out UTC timestamps (no conversion per row)."""
    db = Database(pg_server.create_database("moscow_zone"))
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ALTER DATABASE moscow_zone SET timezone TO 'Europe/Moscow'"))
        db.engine.dispose()  # the setting applies to new sessions
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW TIME ZONE")).scalar_one() == "UTC"
            moment = conn.execute(text("SELECT TIMESTAMPTZ '2026-03-01 12:00:00+03'")).scalar_one()
        assert moment.tzinfo is UTC and moment.hour == 9
    finally:
        db.dispose()


def test_a_moment_written_in_any_zone_is_read_back_as_the_same_utc_moment(db):
    moscow = timezone(timedelta(hours=3))
    written = datetime(2026, 3, 1, 12, 0, 5, tzinfo=moscow)
    with db.transaction() as s:
        event = OutboxEvent(event="probe", room="probe", payload={}, created_at=written)
        s.add(event)
        s.flush()
        event_id = event.id
    with db.session() as s:
        read = s.scalar(select(OutboxEvent.created_at).where(OutboxEvent.id == event_id))
    assert read == written and read.tzinfo is UTC
    assert iso(read) == "2026-03-01T09:00:05+00:00"
    assert iso(written) == "2026-03-01T12:00:05+03:00"

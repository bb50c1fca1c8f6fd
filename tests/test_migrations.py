"""The Alembic migrations produce exactly the schema the models describe, and keep the data."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import telemed.models  # noqa: F401
from telemed.db import Base, make_engine
from telemed.migrate import downgrade, upgrade
from tests.conftest import BACKENDS


def test_models_and_migrations_agree(app):
    with app.extensions["telemed.db"].engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _declared})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _declared(obj, name, type_, reflected, compare_to) -> bool:
    """The PostgreSQL-only trigram index (migration 0005) is not declared on the model."""
    return name != "ix_patients_name_search_trgm"


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> str:
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    return request.getfixturevalue("pg_server").create_database(f"migrations_{uuid.uuid4().hex[:12]}")


def _insert(conn, name: str, **values) -> int:
    """Insert a row into ``name`` as the schema of the moment has it: required columns not given
    get a placeholder of their type."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    for column in table.columns:
        if column.name in values or column.nullable or column.name == "id":
            continue
        kind = column.type
        if isinstance(kind, sa.Boolean):
            values[column.name] = False
        elif isinstance(kind, sa.DateTime):
            values[column.name] = datetime.now(UTC)
        elif isinstance(kind, sa.Date):
            values[column.name] = date(2000, 1, 1)
        elif isinstance(kind, sa.Integer):
            values[column.name] = 1
        elif isinstance(kind, sa.JSON):
            values[column.name] = []
        else:
            values[column.name] = f"{name}-{column.name}-{uuid.uuid4().hex[:8]}"
    result = conn.execute(table.insert().values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else 0


def _count(conn, table: str) -> int:
    return conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def test_making_the_doctor_optional_keeps_every_row_that_refers_to_consultations(empty_url):
    """Migration 0008 rebuilds ``consultations`` on SQLite: the chat, attachments and conclusions
    that refer to it (ON DELETE CASCADE) survive, and so does the partial index on the slot."""
    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO specialties (code, name_ru, name_en, urgent, position) VALUES ('therapist', 'Т', 'T', true, 0)"
                )
            )
            user = _insert(conn, "users", username="u1", role="member")
            doctor = _insert(conn, "doctors", specialty_code="therapist", user_id=None)
            patient = _insert(conn, "patients", user_id=user)
            contract = _insert(conn, "contracts", number="C-1")
            start = datetime.now(UTC) + timedelta(days=1)
            slot = _insert(
                conn, "slots", doctor_id=doctor, starts_at=start, ends_at=start + timedelta(minutes=30)
            )
            common = {
                "patient_id": patient,
                "booked_by_id": user,
                "doctor_id": doctor,
                "contract_id": contract,
                "specialty_code": "therapist",
                "mode": "planned",
                "reason": "",
                "starts_at": start,
                "ends_at": start,
            }
            consultation = _insert(conn, "consultations", slot_id=slot, status="scheduled", **common)
            message = _insert(conn, "messages", consultation_id=consultation, author_id=user, text="hello")
            _insert(conn, "read_marks", consultation_id=consultation, user_id=user, message_id=message)
            _insert(
                conn,
                "attachments",
                consultation_id=consultation,
                patient_id=patient,
                uploaded_by_id=user,
                message_id=message,
                visit_id=None,
            )
            _insert(conn, "conclusions", consultation_id=consultation, patient_id=patient)
        upgrade(engine, "head")
        with engine.begin() as conn:
            counts = {
                t: _count(conn, t)
                for t in ("consultations", "messages", "read_marks", "attachments", "conclusions")
            }
            assert counts == dict.fromkeys(counts, 1)
            _insert(
                conn, "consultations", slot_id=slot, status="cancelled", **common
            )  # a cancelled one may share the slot
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # an active one may not
            _insert(conn, "consultations", slot_id=slot, status="scheduled", **common)
        with engine.begin() as conn:  # an urgent request nobody took, with a chat message
            waiting = _insert(
                conn,
                "consultations",
                slot_id=None,
                status="waiting",
                **{**common, "doctor_id": None, "mode": "urgent"},
            )
            _insert(conn, "messages", consultation_id=waiting, author_id=user, text="still waiting")
        downgrade(engine, "0007")  # it cannot be kept; the rest is
        with engine.begin() as conn:
            assert (_count(conn, "consultations"), _count(conn, "messages"), _count(conn, "conclusions")) == (
                2,
                1,
                1,
            )
        upgrade(engine, "head")
    finally:
        engine.dispose()

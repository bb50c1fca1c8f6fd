"""The e-card audit log: full rows, a verifiable hash chain, tamper detection, no forks under concurrency."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from telemed.cli import main
from telemed.records import audit
from telemed.records.audit_keys import AuditKeys
from telemed.records.audit_models import GENESIS_HASH, AppendOnlyViolation, AuditEvent
from tests.service.test_concurrency import race
from tests.support.audit_guard import tampering
from tests.support.factories import actor

KEY = "test-audit-key-0123456789abcdefghijklmnop"
KEYS = AuditKeys.from_setting(KEY, "unused")

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def log(
    db,
    who=None,
    *,
    patient_id=1,
    object_type="record",
    object_id=None,
    action="read",
    outcome="allowed",
    addr="203.0.113.7",
    now=T0,
):
    return audit.record(
        db,
        KEYS,
        actor=who,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        action=action,
        outcome=outcome,
        client_addr=addr,
        now=now,
    )


def events(db) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def verify(db) -> audit.VerifyResult:
    with db.session() as s:
        return audit.verify_chain(s, KEYS)


def test_allowed_and_denied_events_are_stored_with_every_field(db, factory):
    doctor = factory.user(role="doctor", name="Dr Who")
    _, patient = factory.member()
    moscow = datetime(2026, 3, 1, 15, 30, tzinfo=timezone(timedelta(hours=3)))
    log(
        db,
        actor(doctor),
        patient_id=patient.id,
        object_type="conclusion",
        object_id=42,
        action="read",
        now=moscow,
    )
    log(
        db,
        None,
        patient_id=999_999,
        object_type="pdf",
        object_id="c-7",
        action="export",
        outcome="denied",
        addr=None,
        now=T0,
    )
    first, second = events(db)
    assert (
        first.id,
        first.at,
        first.actor_id,
        first.actor_role,
        first.patient_id,
        first.object_type,
        first.object_id,
        first.action,
        first.outcome,
        first.client_addr,
    ) == (
        1,
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        doctor.id,
        "doctor",
        patient.id,
        "conclusion",
        "42",
        "read",
        "allowed",
        "203.0.113.7",
    )
    assert (
        second.actor_id,
        second.actor_role,
        second.patient_id,
        second.object_id,
        second.action,
        second.outcome,
        second.client_addr,
        second.at,
    ) == (None, "anonymous", 999_999, "c-7", "export", "denied", None, T0)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert len({first.hash, second.hash}) == 2 and all(len(e.hash) == 64 for e in (first, second))
    assert verify(db) == audit.VerifyResult(True, 2, None, "ok", last_id=2)


def test_the_hash_is_an_hmac_of_prev_hash_and_canonical_json_under_the_audit_key(db):
    import hashlib
    import hmac

    event = log(db, None, patient_id=5, object_id=None, addr="2001:db8::1")
    assert event.key_id == KEYS.current_id and len(event.key_id) == 16 and event.key_id not in KEY
    body = (
        '{"action":"read","actor_id":null,"actor_role":"anonymous","at":"2026-03-01T09:30:15.123456Z",'
        f'"client_addr":"2001:db8::1","id":1,"key_id":"{KEYS.current_id}","object_id":null,'
        '"object_type":"record","outcome":"allowed","patient_id":5}'
    )
    expected = hmac.new(KEY.encode(), (GENESIS_HASH + body).encode(), hashlib.sha256).hexdigest()
    assert event.hash == expected


def test_hostile_values_are_cut_to_fit_rather_than_losing_the_event(db):
    event = log(db, patient_id=2**40, object_id="x" * 300, addr="y" * 300, outcome="denied")
    assert (event.patient_id, event.object_id, event.client_addr) == (None, "x" * 64, "y" * 64)
    assert events(db)[0].object_id == "x" * 64 and verify(db).ok


def test_bad_vocabulary_and_naive_time_are_refused(db):
    with pytest.raises(ValueError):
        log(db, action="delete")
    with pytest.raises(ValueError):
        log(db, now=datetime(2026, 1, 1))
    assert events(db) == [] and verify(db) == audit.VerifyResult(True, 0, None, "ok")


def test_access_log_lists_a_patients_events_newest_first(db, factory):
    user = factory.user(role="records")
    for i in range(5):
        log(db, actor(user), patient_id=7, object_id=i, outcome="denied" if i == 3 else "allowed")
    log(db, actor(user), patient_id=8)
    with db.session() as s:
        page = audit.access_log(s, 7, limit=2, offset=1)
        everything = audit.access_log(s, 7, limit=50)
    assert [e.object_id for e in page] == ["3", "2"]
    assert [e.object_id for e in everything] == ["4", "3", "2", "1", "0"]
    assert everything[1].outcome == "denied"


def test_a_modified_row_breaks_the_chain_at_that_row(db):
    for _ in range(5):
        log(db)
    with tampering(db.engine) as conn:
        conn.execute(text("UPDATE audit_events SET action = 'write' WHERE id = 3"))
    result = verify(db)
    assert (result.ok, result.first_bad_id, result.checked) == (False, 3, 2) and "modified" in result.reason


def test_a_deleted_middle_row_breaks_the_chain(db):
    for _ in range(5):
        log(db)
    with tampering(db.engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = 3"))
    result = verify(db)
    assert (result.ok, result.first_bad_id) == (False, 4) and "removed" in result.reason


def test_reordered_or_forged_rows_break_the_chain(db):
    for i in range(4):
        log(db, object_id=i)
    with tampering(db.engine) as conn:  # swap the contents of rows 2 and 3 (ids stay in place)
        conn.execute(text("UPDATE audit_events SET id = -2 WHERE id = 2"))
        conn.execute(text("UPDATE audit_events SET id = 2 WHERE id = 3"))
        conn.execute(text("UPDATE audit_events SET id = 3 WHERE id = -2"))
    assert verify(db).first_bad_id == 2
    with tampering(db.engine) as conn:  # put them back, then forge a self-consistent row at the end
        conn.execute(text("UPDATE audit_events SET id = -2 WHERE id = 2"))
        conn.execute(text("UPDATE audit_events SET id = 2 WHERE id = 3"))
        conn.execute(text("UPDATE audit_events SET id = 3 WHERE id = -2"))
    assert verify(db).ok
    forged = {
        "id": 5,
        "at": T0,
        "actor_id": None,
        "actor_role": "anonymous",
        "patient_id": 1,
        "object_type": "record",
        "object_id": None,
        "action": "read",
        "outcome": "allowed",
        "client_addr": None,
        "key_id": KEYS.current_id,
    }
    prev = "f" * 64  # not the hash of row 4
    with db.engine.begin() as conn:
        conn.execute(
            AuditEvent.__table__.insert().values(
                **forged, prev_hash=prev, hash=audit.chain_hash(prev, forged, KEYS)
            )
        )
    result = verify(db)
    assert (result.ok, result.first_bad_id, result.checked) == (False, 5, 4)


def test_the_orm_refuses_to_update_or_delete_events(db):
    log(db)
    with pytest.raises(AppendOnlyViolation), db.transaction() as s:
        s.get(AuditEvent, 1).action = "write"
    with pytest.raises(AppendOnlyViolation), db.transaction() as s:
        s.delete(s.get(AuditEvent, 1))
    with pytest.raises(AppendOnlyViolation), db.transaction() as s:
        s.execute(update(AuditEvent).values(action="write"))
    with pytest.raises(AppendOnlyViolation), db.transaction() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == 1))
    assert [e.action for e in events(db)] == ["read"] and verify(db).ok


def test_concurrent_appends_keep_one_unforked_chain(db, factory):
    user = factory.user(role="doctor")

    def append(i):
        for j in range(25):
            log(db, actor(user), patient_id=i, object_id=f"{i}-{j}", now=T0 + timedelta(seconds=j))

    assert race(8, append) == ["ok"] * 8
    rows = events(db)
    assert len(rows) == 200 and len({e.prev_hash for e in rows}) == 200
    assert [e.prev_hash for e in rows[1:]] == [e.hash for e in rows[:-1]]
    assert verify(db) == audit.VerifyResult(True, 200, None, "ok", last_id=200)


def test_verification_streams_across_batches(db):
    """Rows written in bulk (more than one ``yield_per`` batch) verify; one bad row deep inside is found."""
    prev, rows = GENESIS_HASH, []
    for i in range(1, 2501):
        fields = {
            "id": i,
            "at": T0 + timedelta(microseconds=i),
            "actor_id": None,
            "actor_role": "anonymous",
            "patient_id": i % 7,
            "object_type": "record",
            "object_id": str(i),
            "action": "read",
            "outcome": "allowed",
            "client_addr": None,
            "key_id": KEYS.current_id,
        }
        rows.append({**fields, "prev_hash": prev, "hash": (prev := audit.chain_hash(prev, fields, KEYS))})
    with db.engine.begin() as conn:
        conn.execute(AuditEvent.__table__.insert(), rows)
    assert verify(db) == audit.VerifyResult(True, 2500, None, "ok", last_id=2500)
    assert log(db).id == 2501 and verify(db).checked == 2501
    with tampering(db.engine) as conn:
        conn.execute(text("UPDATE audit_events SET patient_id = 0 WHERE id = 2222"))
    assert verify(db).first_bad_id == 2222


def test_cli_audit_verify(db, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TELEMED_DATABASE_URL", db_url)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "cli-instance"))
    monkeypatch.setenv("TELEMED_AUDIT_KEY", KEY)
    for _ in range(3):
        log(db, now=datetime.now(UTC))
    runner = CliRunner()
    ok = runner.invoke(main, ["audit-verify"])
    assert (ok.exit_code, ok.output.strip()) == (0, "audit chain OK: 3 events, 0 checkpoints")
    with tampering(db.engine) as conn:
        conn.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE id = 2"))
    broken = runner.invoke(main, ["audit-verify"])
    assert broken.exit_code == 1
    assert "audit log BROKEN: audit chain broken at event 2: hash does not match" in broken.output

"""The audit log cannot be rewritten or cut short unnoticed: the database refuses changes, the
chain is keyed, and signed checkpoints in object storage anchor it (``records.audit_anchor``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from telemed.cli import main
from telemed.records import audit, audit_anchor
from telemed.records.audit_keys import AuditKeys
from telemed.records.audit_models import GENESIS_HASH, AuditEvent
from telemed.storage import LocalStorage
from telemed.worker import run_due
from tests.service.test_audit import KEY, KEYS, log
from tests.service.test_concurrency import race
from tests.support.audit_guard import tampering

INTERVAL = timedelta(seconds=60)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "anchors")


def checkpoint(db, storage, at, keys=KEYS):
    return audit_anchor.write_checkpoint(db, storage, keys, now=at, interval=INTERVAL)


def verify(db, storage, at, keys=KEYS):
    with db.session() as s:
        return audit_anchor.verify(s, storage, keys, now=at, interval=INTERVAL)


def test_the_database_itself_refuses_to_change_or_remove_events(db):
    log(db)
    for statement in ("UPDATE audit_events SET action = 'write'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    if not db.is_sqlite:
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))
    with db.session() as s:
        assert audit.verify_chain(s, KEYS).checked == 1


@pytest.mark.parametrize("posing", ["unkeyed", "guessed key"])
def test_a_row_rewritten_without_the_key_is_found_even_with_a_recomputed_chain(db, posing):
    """Row 2 rewritten and every later row re-chained, either as rows from before keys (plain
    SHA-256) or under a key of the attacker's own: both are found at row 2."""
    for i in range(4):
        log(db, object_id=i)
    guess = AuditKeys.from_setting("an-attackers-own-key-0123456789abcdef", "x")
    kid = None if posing == "unkeyed" else guess.current_id
    with db.session() as s:
        rows = [dict(r._mapping) for r in s.execute(text("SELECT * FROM audit_events ORDER BY id"))]
    with tampering(db.engine) as conn:
        prev = rows[0]["hash"]
        for row in rows[1:]:
            fields = {**row, "outcome": "denied" if row["id"] == 2 else row["outcome"], "key_id": kid}
            fields["at"] = datetime.fromisoformat(str(fields["at"])).replace(tzinfo=UTC)
            new = audit.chain_hash(prev, fields, guess)
            conn.execute(
                text(
                    "UPDATE audit_events SET outcome = :o, key_id = :k, prev_hash = :p, hash = :h WHERE id = :i"
                ),
                {"o": fields["outcome"], "k": kid, "p": prev, "h": new, "i": row["id"]},
            )
            prev = new
    with db.session() as s:
        result = audit.verify_chain(s, KEYS)
    assert (result.ok, result.first_bad_id) == (False, 2)
    assert ("unkeyed" if posing == "unkeyed" else "lacks") in result.reason


def test_rows_chained_before_keys_verify_and_a_retired_key_still_verifies_its_rows(db):
    legacy = AuditKeys.from_setting("legacy", "x")
    fields = {
        "id": 1,
        "at": T0,
        "actor_id": None,
        "actor_role": "anonymous",
        "patient_id": 1,
        "object_type": "record",
        "object_id": None,
        "action": "read",
        "outcome": "allowed",
        "client_addr": None,
        "key_id": None,
    }
    with db.engine.begin() as conn:
        conn.execute(
            AuditEvent.__table__.insert().values(
                **fields, prev_hash=GENESIS_HASH, hash=audit.chain_hash(GENESIS_HASH, fields, legacy)
            )
        )
    log(db)  # chained with KEY
    new_key = "the-new-audit-key-after-rotation-0123456789"
    rotated = AuditKeys.from_setting(f"{new_key},{KEY}", "x")
    audit.record(
        db,
        rotated,
        actor=None,
        patient_id=1,
        object_type="record",
        object_id=None,
        action="read",
        outcome="allowed",
        client_addr=None,
        now=T0,
    )
    with db.session() as s:
        assert audit.verify_chain(s, rotated).checked == 3
        dropped = audit.verify_chain(s, AuditKeys.from_setting(new_key, "x"))
    assert (dropped.ok, dropped.first_bad_id) == (False, 2) and "lacks" in dropped.reason


def test_checkpoints_are_written_when_due_and_the_chain_grew_and_verify(db, storage):
    assert checkpoint(db, storage, T0) is None  # nothing to anchor yet
    for _ in range(3):
        log(db, now=T0)
    first = checkpoint(db, storage, T0)
    assert (first.seq, first.head_id, first.count, first.prev) == (1, 3, 3, None)
    assert checkpoint(db, storage, T0 + INTERVAL / 2) is None  # not due
    assert checkpoint(db, storage, T0 + INTERVAL) is None  # due, but the chain did not move
    log(db, now=T0 + INTERVAL)
    second = checkpoint(db, storage, T0 + INTERVAL)
    assert (second.seq, second.head_id, second.prev) == (2, 4, first.digest)
    stored = json.loads(storage.read_named("audit-checkpoints/000000000002.json"))
    assert stored["public_key"] == KEYS.public_key(KEYS.current_id) and stored["signature"]
    result = verify(db, storage, T0 + 2 * INTERVAL)
    assert (result.ok, result.checkpoints, result.chain.checked) == (True, 2, 4)
    assert result.public_keys == (KEYS.public_key(KEYS.current_id),)


def test_removing_the_newest_events_that_a_checkpoint_covers_is_found(db, storage):
    for _ in range(5):
        log(db, now=T0)
    checkpoint(db, storage, T0)
    with tampering(db.engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id >= 4"))
    with db.session() as s:
        assert audit.verify_chain(s, KEYS).ok  # the chain alone cannot tell
    result = verify(db, storage, T0)
    assert not result.ok and "events removed" in result.reason


def test_a_missing_altered_or_forged_checkpoint_is_found(db, storage):
    for minute in range(3):
        log(db, now=T0 + minute * INTERVAL)
        checkpoint(db, storage, T0 + minute * INTERVAL)
    assert verify(db, storage, T0 + 3 * INTERVAL).ok
    middle = "audit-checkpoints/000000000002.json"
    raw = storage.read_named(middle)

    altered = json.loads(raw)
    altered["head_hash"] = "0" * 64
    storage.put_named(middle, json.dumps(altered).encode(), content_type="application/json")
    assert "checkpoint 2 has no valid signature" in verify(db, storage, T0 + 3 * INTERVAL).reason

    storage.put_named(middle, raw, content_type="application/json")
    forger = AuditKeys.from_setting("a-forgers-key-0123456789abcdefghijkl", "x")
    newest = json.loads(storage.read_named("audit-checkpoints/000000000003.json"))
    newest["public_key"] = forger.public_key(forger.current_id)
    signed = audit_anchor.parse(json.dumps(newest).encode())
    newest["signature"] = forger.sign(signed.signed_part())[1]
    storage.put_named("audit-checkpoints/000000000003.json", json.dumps(newest).encode(), content_type="x/y")
    assert "no valid signature" in verify(db, storage, T0 + 3 * INTERVAL).reason

    (storage.root / "audit-checkpoints" / "000000000002.json").unlink()
    assert "checkpoint 2 is missing" in verify(db, storage, T0 + 3 * INTERVAL).reason


def test_events_that_no_checkpoint_covers_for_too_long_are_found(db, storage):
    for minute in range(2):
        log(db, now=T0 + minute * INTERVAL)
        checkpoint(db, storage, T0 + minute * INTERVAL)
    log(db, now=T0 + 2 * INTERVAL)  # the worker stopped here (or its newest checkpoints were deleted)
    assert verify(db, storage, T0 + 4 * INTERVAL).ok  # not too old yet
    late = verify(db, storage, T0 + 6 * INTERVAL)
    assert not late.ok and "no checkpoint covers the events after event 2" in late.reason
    (storage.root / "audit-checkpoints" / "000000000002.json").unlink()  # the newest deleted
    assert "no checkpoint covers the events after event 1" in verify(db, storage, T0 + 6 * INTERVAL).reason


def test_a_rewrite_by_someone_holding_the_key_is_still_found_by_the_checkpoints(db, storage):
    for _ in range(3):
        log(db, now=T0)
    checkpoint(db, storage, T0)
    with db.session() as s:
        rows = [dict(r._mapping) for r in s.execute(text("SELECT * FROM audit_events ORDER BY id"))]
    with tampering(db.engine) as conn:
        prev = GENESIS_HASH
        for row in rows:
            fields = {**row, "at": datetime.fromisoformat(str(row["at"])).replace(tzinfo=UTC)}
            if row["id"] == 1:
                fields["outcome"] = "denied"
            new = audit.chain_hash(prev, fields, KEYS)
            conn.execute(
                text("UPDATE audit_events SET outcome = :o, prev_hash = :p, hash = :h WHERE id = :i"),
                {"o": fields["outcome"], "p": prev, "h": new, "i": row["id"]},
            )
            prev = new
    with db.session() as s:
        assert audit.verify_chain(s, KEYS).ok
    result = verify(db, storage, T0)
    assert not result.ok and "does not match event 3" in result.reason


def test_several_workers_write_each_checkpoint_once(db, storage):
    for _ in range(3):
        log(db, now=T0)
    written = []
    assert race(6, lambda i: written.append(checkpoint(db, storage, T0))) == ["ok"] * 6
    assert sum(c is not None for c in written) == 1
    assert storage.list_named("audit-checkpoints") == ["audit-checkpoints/000000000001.json"]


def test_the_worker_writes_checkpoints_and_audit_verify_checks_them(app, db, db_url, tmp_path, monkeypatch):
    keys = app.extensions["telemed.audit_keys"]
    now = datetime.now(UTC)
    audit.record(
        db,
        keys,
        actor=None,
        patient_id=1,
        object_type="record",
        object_id=None,
        action="read",
        outcome="denied",
        client_addr=None,
        now=now,
    )
    assert run_due(app, now=now)["audit_checkpoints"] == 1
    assert run_due(app, now=now + timedelta(seconds=1))["audit_checkpoints"] == 0  # not due
    monkeypatch.setenv("TELEMED_DATABASE_URL", db_url)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", app.config["INSTANCE_DIR"])
    monkeypatch.setenv("TELEMED_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("TELEMED_STORAGE_URL", app.config["STORAGE_URL"])
    out = CliRunner().invoke(main, ["audit-verify"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        "audit chain OK: 1 events, 1 checkpoints",
        f"checkpoints signed by Ed25519 public key {keys.public_key(keys.current_id)}",
    ]
    storage = app.extensions["telemed.storage"]
    storage.put_named("audit-checkpoints/000000000001.json", b"{}", content_type="application/json")
    broken = CliRunner().invoke(main, ["audit-verify"])
    assert broken.exit_code == 1 and "checkpoint is unreadable" in broken.output

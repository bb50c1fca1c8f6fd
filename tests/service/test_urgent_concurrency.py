"""The urgent queue's rules hold under concurrency, on SQLite and on PostgreSQL: real threads,
released together, each with its own connection."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from telemed.notify.models import OutboxEvent
from telemed.records.audit import verify_chain
from telemed.records.audit_models import AuditEvent
from telemed.scheduling.models import Consultation
from telemed.urgent.models import UrgentRequest
from telemed.worker import Worker, run_due
from tests.conftest import empty_tables, make_app
from tests.support import urgent as u
from tests.support.clients import ApiClient


def race(n: int, attempt) -> list:
    """Run ``attempt(i)`` in ``n`` threads released together; their results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return attempt(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def w(factory):
    return u.world(factory)


def _tokens(app, *names):
    return {name: ApiClient(app, name).token for name in names}


def _post(app, token, path, body=None) -> tuple[int, str | None]:
    """An API call from a thread of its own (a test client per call): the status and error code."""
    r = ApiClient(app).client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, (r.get_json() or {}).get("error", {}).get("code")


def test_twenty_simultaneous_claims_by_two_doctors_one_wins(app, db, w):
    tokens = _tokens(app, "anna", "drt1", "drt2")
    cid = u.ask(app, w["anna"])
    doctors = ["drt1", "drt2"] * 10
    outcomes = race(20, lambda i: _post(app, tokens[doctors[i]], f"/api/v1/urgent/{cid}/claim"))
    assert sorted(outcomes) == [(200, None)] + [(409, "already_claimed")] * 19
    with db.session() as s:
        c = s.get(Consultation, cid)
        winner = doctors[outcomes.index((200, None))]
        assert c.status == "in_progress" and c.doctor_id == w["t1" if winner == "drt1" else "t2"].id
        claimed = s.scalars(select(OutboxEvent).where(OutboxEvent.room == f"consultation:{cid}")).all()
        assert len(claimed) == 1  # the member is told once


def test_two_simultaneous_requests_for_one_patient_one_is_accepted(app, db, w):
    token = _tokens(app, "anna")["anna"]
    outcomes = race(2, lambda i: _post(app, token, "/api/v1/urgent", {"reason": f"try {i}"}))
    assert sorted(outcomes) == [(201, None), (409, "already_waiting")]
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Consultation)
                .where(Consultation.patient_id == w["patient"].id)
            )
            == 1
        )


def test_many_simultaneous_requests_by_a_guardian_and_the_patient_one_is_accepted(app, db, factory, w):
    """The child's own account (none here) aside, both guardians may ask for the child at once."""
    other = factory.user("father")
    with db.transaction() as s:
        from telemed.members.models import Guardianship

        s.add(Guardianship(guardian_user_id=other.id, patient_id=w["child"].id))
    tokens = _tokens(app, "anna", "father")
    askers = ["anna", "father"] * 4
    body = {"patient_id": w["child"].id}
    outcomes = race(8, lambda i: _post(app, tokens[askers[i]], "/api/v1/urgent", body))
    assert sorted(outcomes) == [(201, None)] + [(409, "already_waiting")] * 7


def test_one_doctor_taking_two_requests_at_once_gets_one(app, db, w):
    token = _tokens(app, "drt1")["drt1"]
    ids = [u.ask(app, w["anna"]), u.ask(app, w["boris"])]
    outcomes = race(2, lambda i: _post(app, token, f"/api/v1/urgent/{ids[i]}/claim"))
    assert sorted(outcomes) == [(200, None), (409, "busy")]
    with db.session() as s:
        statuses = sorted(s.get(Consultation, cid).status for cid in ids)
        assert statuses == ["in_progress", "waiting"]


def _escalation_record(app, db, cid):
    with db.session() as s:
        audit = s.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "urgent_request", AuditEvent.object_id == str(cid)
            )
        ).all()
        alerts = s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.event == "urgent_queue", OutboxEvent.payload["action"].as_string() == "escalated"
            )
        )
        return (
            sorted(audit),
            alerts,
            s.get(UrgentRequest, cid).escalation_level,
            verify_chain(s, app.extensions["telemed.audit_keys"]).ok,
        )


def test_workers_running_the_same_due_step_at_once_do_it_once(app, db, w):
    start = datetime.now(UTC)
    cid = u.ask(app, w["anna"], now=start)
    escalate = u.settings(app).escalate_after
    for level, at in ((1, start + escalate), (2, start + 2 * escalate)):
        done = race(4, lambda i, at=at: run_due(app, now=at)["escalation_steps"])
        assert sorted(done) == [0, 0, 0, 1], level
    audit, alerts, level, chain_ok = _escalation_record(app, db, cid)
    assert audit == ["escalate_1", "escalate_2"] and level == 2 and chain_ok
    assert alerts == 2 * 2  # each level alerts both therapists once


def test_two_running_workers_escalate_each_step_once(db_url, tmp_path):
    """Two ``telemed worker`` loops against one database, escalating after one second."""
    app = make_app(db_url, tmp_path, URGENT_ESCALATE_SECONDS=1)
    try:
        empty_tables(app)
        from tests.support.factories import Factory

        world = u.world(Factory(app))
        db = app.extensions["telemed.db"]
        cid = u.ask(app, world["anna"])
        workers = [Worker(app, interval=0.05) for _ in range(2)]
        threads = [threading.Thread(target=worker.run) for worker in workers]
        for thread in threads:
            thread.start()
        try:
            deadline = datetime.now(UTC).timestamp() + 30
            while _escalation_record(app, db, cid)[2] < 2:
                assert datetime.now(UTC).timestamp() < deadline, "the request never reached level 2"
                threading.Event().wait(0.05)
            threading.Event().wait(0.5)  # both loops run several more times over the finished steps
        finally:
            for worker in workers:
                worker.stop()
            for thread in threads:
                thread.join(10)
        audit, alerts, level, chain_ok = _escalation_record(app, db, cid)
        assert audit == ["escalate_1", "escalate_2"] and level == 2 and chain_ok and alerts == 4
    finally:
        app.extensions["telemed.db"].dispose()

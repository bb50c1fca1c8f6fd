"""The duty roster in escalation: a request nobody can take (no doctor on duty, and a roster kept
that plans nobody now) rises to level 1 at the worker's next run instead of after
``TELEMED_URGENT_ESCALATE_SECONDS``; with no roster kept, a doctor on duty, or a doctor planned
now, the time rule alone applies. Real databases (SQLite and PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from telemed.notify.models import OutboxEvent
from telemed.records.audit_models import AuditEvent
from telemed.urgent.models import PlannedShift, UrgentRequest
from telemed.worker import run_due
from tests.support import urgent as u


@pytest.fixture
def w(factory):
    return u.world(factory)


def _plan(db, doctor, start: datetime, end: datetime) -> None:
    with db.transaction() as s:
        s.add(
            PlannedShift(
                doctor_id=doctor.id,
                specialty_code=doctor.specialty_code,
                starts_at=start,
                ends_at=end,
                created_at=start - timedelta(days=1),
            )
        )


def _level(db, cid: int) -> int:
    with db.session() as s:
        return s.get(UrgentRequest, cid).escalation_level


def test_a_request_in_a_roster_gap_with_nobody_on_duty_alerts_every_doctor_at_once(app, db, w):
    start = datetime.now(UTC).replace(microsecond=0)
    _plan(db, w["t1"], start - timedelta(days=1), start - timedelta(hours=1))  # the roster is kept
    _plan(db, w["t2"], start + timedelta(hours=3), start + timedelta(hours=9))  # ... nobody now
    cid = u.ask(app, w["anna"], now=start)
    child = u.ask(app, w["anna"], w["child"], now=start)  # the pediatric roster is not kept

    assert run_due(app, now=start + timedelta(seconds=2))["escalation_steps"] == 1
    assert (_level(db, cid), _level(db, child)) == (1, 0)
    assert run_due(app, now=start + timedelta(seconds=4))["escalation_steps"] == 0  # once
    with db.session() as s:
        escalated = [
            e.room
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.event == "urgent_queue"))
            if e.payload["action"] == "escalated"
        ]
        audited = s.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "urgent_request", AuditEvent.object_id == str(cid)
            )
        ).all()
    therapists = [u.user_of(app, "drt1").id, u.user_of(app, "drt2").id]
    assert sorted(escalated) == sorted(f"user:{i}" for i in therapists)
    assert audited == ["escalate_1"]
    # the second step keeps its time: twice the escalation time after the request
    escalate = u.settings(app).escalate_after
    run_due(app, now=start + 2 * escalate - timedelta(seconds=1))
    assert (_level(db, cid), _level(db, child)) == (1, 1)  # the child's first step: by time
    run_due(app, now=start + 2 * escalate)
    assert (_level(db, cid), _level(db, child)) == (2, 2)


@pytest.mark.parametrize("situation", ["no roster", "a doctor on duty", "a doctor planned now"])
def test_otherwise_the_time_rule_alone_applies(app, db, w, situation):
    start = datetime.now(UTC).replace(microsecond=0)
    if situation == "a doctor on duty":
        _plan(db, w["t2"], start + timedelta(hours=3), start + timedelta(hours=9))
        u.set_duty(app, u.user_of(app, "drt1"), now=start)
    elif situation == "a doctor planned now":
        _plan(db, w["t2"], start - timedelta(hours=1), start + timedelta(hours=5))
    cid = u.ask(app, w["anna"], now=start)
    assert run_due(app, now=start + timedelta(seconds=2))["escalation_steps"] == 0
    assert _level(db, cid) == 0
    escalate = u.settings(app).escalate_after
    assert run_due(app, now=start + escalate)["escalation_steps"] == 1
    assert _level(db, cid) == 1

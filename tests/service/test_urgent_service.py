"""The urgent queue's services against a real database (SQLite and PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from telemed import errors
from telemed.notify import outbox
from telemed.notify.models import OutboxEvent
from telemed.records.audit import verify_chain
from telemed.records.audit_models import AuditEvent
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation
from telemed.urgent import duty, queue
from telemed.urgent import service as urgent
from telemed.urgent.models import Duty, DutyConnection, UrgentRequest
from telemed.worker import run_due
from tests.support import urgent as u
from tests.support.factories import actor, make_consultation


@pytest.fixture
def w(factory):
    return u.world(factory)


def _events(db, event=None) -> list[OutboxEvent]:
    with db.session() as s:
        query = select(OutboxEvent).order_by(OutboxEvent.id)
        if event:
            query = query.where(OutboxEvent.event == event)
        return list(s.scalars(query))


def _sent(app, now=None) -> list[tuple[str, str, dict]]:
    """``(event, room, payload)`` as the app's relay sends what the outbox holds now (its fan-out
    rows expanded as of ``now``)."""
    sent: list[tuple[str, str, dict]] = []
    outbox.deliver_pending(
        app.extensions["telemed.db"],
        lambda event, payload, room: sent.append((event, room, payload)),
        now=now or datetime.now(UTC),
        max_age=timedelta(days=1),
        fan_outs=app.extensions["telemed.relay"].fan_outs,
    )
    return sent


def _state(app, cid, now=None):
    with app.extensions["telemed.db"].session() as s:
        c = s.get(Consultation, cid)
        return queue.state_of(s, c, now=now or datetime.now(UTC), settings=u.settings(app))


# --- requests ---------------------------------------------------------------------------------


def test_an_adult_waits_for_a_therapist_with_no_slot_and_no_doctor(app, db, w):
    cid = u.ask(app, w["anna"], reason="Fever")
    with db.session() as s:
        c = s.get(Consultation, cid)
        assert (c.mode, c.status, c.specialty_code, c.doctor_id, c.slot_id, c.reason) == (
            "urgent",
            "waiting",
            "therapist",
            None,
            None,
            "Fever",
        )
        assert c.contract_id == w["contract"].id and c.patient_id == w["patient"].id
        assert s.get(UrgentRequest, cid).escalation_level == 0


def test_a_child_waits_for_a_pediatrician(app, db, w):
    cid = u.ask(app, w["anna"], w["child"])
    with db.session() as s:
        assert s.get(Consultation, cid).specialty_code == "pediatrician"


def test_the_specialty_follows_the_age_on_the_clinics_date(app, factory, db, w):
    """Turning 18 today (in Moscow) makes a therapist's patient, even while it is still yesterday in UTC."""
    now = datetime(2026, 3, 9, 22, 30, tzinfo=UTC)  # 10 March 01:30 in Moscow
    teen = factory.patient(
        name="Teen", birth_date=date(2008, 3, 10), guardian=w["anna"], contract=w["contract"]
    )
    younger = factory.patient(
        name="Younger", birth_date=date(2008, 3, 11), guardian=w["anna"], contract=w["contract"]
    )
    with db.session() as s:
        first, second = u.ask(app, w["anna"], teen, now=now), u.ask(app, w["anna"], younger, now=now)
        assert s.get(Consultation, first).specialty_code == "therapist"
        assert s.get(Consultation, second).specialty_code == "pediatrician"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("stranger", "not_guardian"),
        ("no_consent", "consent_required"),
        ("no_policy", "policy_inactive"),
        ("no_telemedicine", "not_covered"),
        ("no_therapist", "not_covered"),
    ],
)
def test_the_booking_rules_apply(app, factory, w, setup, code):
    contract = w["contract"]
    user, patient = w["anna"], None
    if setup == "stranger":
        patient = w["boris_patient"]
    elif setup == "no_consent":
        user, _ = factory.member(contract=contract, consent=False)
    elif setup == "no_policy":
        user, _ = factory.member()
    elif setup == "no_telemedicine":
        user, _ = factory.member(contract=factory.contract(telemedicine=False))
    elif setup == "no_therapist":
        user, _ = factory.member(contract=factory.contract(specialties=["cardiologist", "pediatrician"]))
    with pytest.raises(errors.DomainError) as refused:
        u.ask(app, user, patient)
    assert refused.value.code == code


def test_a_patient_has_one_open_request_at_most(app, w):
    first = u.ask(app, w["anna"])
    with pytest.raises(errors.AlreadyWaiting):
        u.ask(app, w["anna"])
    u.ask(app, w["anna"], w["child"])  # the child is another patient
    u.set_duty(app, u.user_of(app, "drt1"))
    u.claim(app, u.user_of(app, "drt1"), first)
    with pytest.raises(errors.AlreadyWaiting):  # in progress is still open
        u.ask(app, w["anna"])


def test_a_new_request_after_the_last_one_ended(app, w):
    first = u.ask(app, w["anna"])
    with app.app_context(), app.extensions["telemed.db"].transaction() as s:
        scheduling.cancel(s, actor(w["anna"]), first, now=datetime.now(UTC))
    assert u.ask(app, w["anna"]) != first


def test_the_database_refuses_a_second_open_request_of_a_patient(app, db, w):
    """The partial unique index holds even for a writer that skips the service's check."""
    first = u.ask(app, w["anna"])
    with db.session() as s:
        row = s.get(Consultation, first)
        copy = {k: getattr(row, k) for k in ("patient_id", "booked_by_id", "contract_id", "specialty_code")}
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.transaction() as s:
        now = datetime.now(UTC)
        s.add(Consultation(**copy, mode="urgent", status="waiting", starts_at=now, ends_at=now))
        s.flush()


def test_on_duty_doctors_of_the_specialty_hear_of_a_new_request(app, db, w):
    t1, t2, ped = (u.user_of(app, n) for n in ("drt1", "drt2", "drp"))
    u.set_duty(app, t1)
    u.set_duty(app, ped)
    cid = u.ask(app, w["anna"], reason="Cough")
    added = [e for e in _events(db, "urgent_queue") if e.payload["action"] == "added"]
    assert [e.room for e in added] == [f"user:{t1.id}"]  # not the off-duty therapist, nor the pediatrician
    request = added[0].payload["request"]
    assert request["id"] == cid and request["reason"] == "Cough" and request["escalation_level"] == 0
    assert request["patient"]["name"] == w["patient"].full_name and request["patient"]["age"] >= 18
    assert t2.id not in {int(e.room.split(":")[1]) for e in added}


# --- the queue --------------------------------------------------------------------------------


def test_requests_are_served_oldest_first_within_a_specialty(app, factory, w):
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    members = [factory.member(contract=w["contract"])[0] for _ in range(3)]
    ids = [u.ask(app, m, now=t0 + timedelta(seconds=i)) for i, m in enumerate(members)]
    kid = u.ask(app, w["anna"], w["child"], now=t0)
    assert [_state(app, cid).position for cid in ids] == [1, 2, 3]
    assert _state(app, kid).position == 1  # the pediatrician's queue is another
    with app.extensions["telemed.db"].session() as s:
        listing = urgent.queue_for(
            s, actor(u.user_of(app, "drt1")), now=datetime.now(UTC), settings=u.settings(app)
        )
    assert [r["id"] for r in listing] == ids


def test_no_doctor_on_duty_no_estimate_but_the_request_is_accepted(app, w):
    state = _state(app, u.ask(app, w["anna"]))
    assert (state.position, state.estimate, state.doctors_on_duty, state.escalation_level) == (1, None, 0, 0)


def test_the_estimate_counts_the_requests_ahead_and_the_doctors_on_duty(app, factory, w):
    u.set_duty(app, u.user_of(app, "drt1"))
    members = [factory.member(contract=w["contract"])[0] for _ in range(3)]
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    ids = [u.ask(app, m, now=t0 + timedelta(seconds=i)) for i, m in enumerate(members)]
    first, third = _state(app, ids[0]), _state(app, ids[2])
    assert first.doctors_on_duty == 1 and first.estimate.low == 0
    assert third.estimate.low >= 30 and third.estimate.high > third.estimate.low  # two 30-minute visits ahead
    u.set_duty(app, u.user_of(app, "drt2"))
    assert _state(app, ids[2]).estimate.high < third.estimate.high


def test_the_estimate_uses_the_recent_median_length(app, db, factory, w):
    u.set_duty(app, u.user_of(app, "drt1"))
    t1 = u.user_of(app, "drt1")
    now = datetime.now(UTC)
    for minutes in (10, 10, 12):  # three recent urgent visits of about ten minutes
        m = factory.member(contract=w["contract"])[0]
        cid = u.ask(app, m, now=now - timedelta(hours=1))
        u.claim(app, t1, cid, now=now - timedelta(minutes=50))
        with app.app_context(), db.transaction() as s:
            scheduling.finish(s, actor(t1), cid, now=now - timedelta(minutes=50 - minutes))
    with db.session() as s:
        assert queue.median_minutes(s, "therapist", now=now, default=timedelta(minutes=30)) == 10
        assert queue.median_minutes(s, "pediatrician", now=now, default=timedelta(minutes=30)) == 30
    ids = [
        u.ask(app, factory.member(contract=w["contract"])[0], now=now + timedelta(seconds=i))
        for i in range(3)
    ]
    assert _state(app, ids[2]).estimate.high <= 20


# --- duty -------------------------------------------------------------------------------------


def test_only_therapists_and_pediatricians_go_on_duty(app, w):
    for name in ("drc", "anna"):
        with pytest.raises(errors.NotPermitted):
            u.set_duty(app, u.user_of(app, name))


def test_duty_counts_while_a_session_is_connected_and_ends_after_the_grace_time(app, db, w):
    t1 = u.user_of(app, "drt1")
    grace = u.settings(app).grace
    start = datetime.now(UTC)
    state = u.set_duty(app, t1, now=start)
    assert (state.on_duty, state.since) == (True, start)

    def counts(at):
        with db.session() as s:
            return duty.counts(s, "therapist", now=at, grace=grace)

    assert counts(start + grace)[0] == 1
    assert (
        counts(start + grace + timedelta(seconds=1))[0] == 0
    )  # never connected: switching on was the last sign
    with db.transaction() as s:
        assert duty.connect(s, t1.id, "sid-1", process_id="p1", now=start + grace)
    later = start + 3 * grace
    with db.transaction() as s:
        duty.heartbeat(s, process_id="p1", now=later)
    assert counts(later + grace)[0] == 1  # connected: refreshed by its process
    with db.transaction() as s:
        duty.disconnect(s, "sid-1", now=later + grace)
    assert counts(later + 2 * grace)[0] == 1  # the grace time after the disconnect
    assert counts(later + 2 * grace + timedelta(seconds=1))[0] == 0


def test_a_dead_processs_connections_stop_counting(app, db, w):
    t1 = u.user_of(app, "drt1")
    grace = u.settings(app).grace
    start = datetime.now(UTC)
    u.set_duty(app, t1, now=start)
    with db.transaction() as s:
        duty.connect(s, t1.id, "sid-1", process_id="dead", now=start)
    with db.session() as s:
        assert duty.counts(s, "therapist", now=start + 2 * grace, grace=grace) == (0, 0)


def test_members_and_other_doctors_connect_without_a_trace(app, db, w):
    with db.transaction() as s:
        assert not duty.connect(s, w["anna"].id, "sid-a", process_id="p", now=datetime.now(UTC))
        assert not duty.connect(s, u.user_of(app, "drc").id, "sid-c", process_id="p", now=datetime.now(UTC))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DutyConnection)) == 0


def test_the_worker_switches_stale_duty_off_once_and_tells_the_waiting(app, db, w):
    t1 = u.user_of(app, "drt1")
    start = datetime.now(UTC)
    u.set_duty(app, t1, now=start)
    cid = u.ask(app, w["anna"], now=start)
    later = start + u.settings(app).grace + timedelta(seconds=5)
    _sent(app, later)
    assert run_due(app, now=later)["duty_expired"] == 1
    assert run_due(app, now=later)["duty_expired"] == 0
    with db.session() as s:
        row = s.get(Duty, w["t1"].id)
        assert (row.on_duty, row.since) == (False, None)
    told = [(room, payload) for event, room, payload in _sent(app, later) if event == "urgent_status"]
    assert [(room, payload["queue"]["doctors_on_duty"]) for room, payload in told] == [
        (f"consultation:{cid}", 0)
    ]


def test_switching_on_again_keeps_since_and_off_clears_it(app, w):
    t1 = u.user_of(app, "drt1")
    start = datetime.now(UTC)
    u.set_duty(app, t1, now=start)
    assert u.set_duty(app, t1, now=start + timedelta(seconds=30)).since == start
    assert u.set_duty(app, t1, False).on_duty is False
    assert u.set_duty(app, t1, False).since is None


# --- pick-up ----------------------------------------------------------------------------------


def test_a_doctor_takes_a_request_it_starts_now(app, db, w):
    cid = u.ask(app, w["anna"])
    t1 = u.user_of(app, "drt1")
    picked = datetime.now(UTC).replace(microsecond=0)
    status, doctor_id, start, end = u.claim(app, t1, cid, now=picked)
    assert (status, doctor_id, start, end) == (
        "in_progress",
        w["t1"].id,
        picked,
        picked + timedelta(minutes=30),
    )
    member_told = [e for e in _events(db, "urgent_status") if e.room == f"consultation:{cid}"]
    assert member_told[-1].payload == {
        "consultation_id": cid,
        "status": "in_progress",
        "queue": None,
        "doctor": {"id": w["t1"].id, "name": "Therapist One", "specialty": "therapist"},
    }
    with db.session() as s:  # the doctor is party now: the consultation, its chat, its room
        c = scheduling.get_for(s, actor(t1), cid)
        assert c.doctor_id == w["t1"].id


def test_the_next_in_line_moves_up_when_one_is_taken(app, factory, db, w):
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    first = u.ask(app, w["anna"], now=t0)
    second = u.ask(app, w["boris"], now=t0 + timedelta(seconds=1))
    assert _state(app, second).position == 2
    u.claim(app, u.user_of(app, "drt1"), first)
    assert _state(app, second).position == 1
    told = [payload for event, room, payload in _sent(app) if room == f"consultation:{second}"]
    assert told[-1]["queue"]["position"] == 1


def test_a_claim_tells_its_member_first_then_every_waiting_member_their_new_place(app, factory, db, w):
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    first = u.ask(app, w["anna"], now=t0)
    behind = [u.ask(app, w["boris"], now=t0 + timedelta(seconds=1))]
    for i in range(3):
        user, _patient = factory.member(f"behind{i}", contract=w["contract"])
        behind.append(u.ask(app, user, now=t0 + timedelta(seconds=2 + i)))
    _sent(app)
    u.claim(app, u.user_of(app, "drt1"), first)
    told = [(room, payload) for event, room, payload in _sent(app) if event == "urgent_status"]
    assert told[0][0] == f"consultation:{first}" and told[0][1]["status"] == "in_progress"
    assert [room for room, _ in told[1:]] == [f"consultation:{cid}" for cid in behind]
    for place, (cid, (_room, payload)) in enumerate(zip(behind, told[1:], strict=True), start=1):
        assert payload == {
            "consultation_id": cid,
            "status": "waiting",
            "queue": _state(app, cid).as_dict(),
            "doctor": None,
        }
        assert payload["queue"]["position"] == place


def test_a_claim_writes_the_queue_s_new_places_as_one_row_however_long_it_is(app, factory, db, w):
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    first = u.ask(app, w["anna"], now=t0)
    for i in range(12):
        user, _patient = factory.member(f"behind{i}", contract=w["contract"])
        u.ask(app, user, now=t0 + timedelta(seconds=1 + i))
    _sent(app)
    u.claim(app, u.user_of(app, "drt1"), first)
    with db.session() as s:
        pending = s.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))).all()
    assert [(e.event, e.room) for e in pending] == [
        ("urgent_status", f"consultation:{first}"),
        ("urgent_queue_moved", "specialty:therapist"),
        ("notification", f"user:{w['anna'].id}"),  # «a doctor took your request», to her bell
    ]
    moved = [payload for event, _r, payload in _sent(app) if event == "urgent_status"][1:]
    assert [payload["queue"]["position"] for payload in moved] == list(range(1, 13))


@pytest.mark.parametrize("who", ["drp", "drc", "anna", "boris"])
def test_only_a_doctor_of_the_specialty_may_take_it(app, w, who):
    cid = u.ask(app, w["anna"])
    with pytest.raises(errors.NotFound):
        u.claim(app, u.user_of(app, who), cid)


def test_a_planned_consultation_cannot_be_claimed(app, factory, w):
    c = make_consultation(factory, w["anna"], w["patient"], w["t1"], w["contract"])
    with pytest.raises(errors.NotFound):
        u.claim(app, u.user_of(app, "drt2"), c.id)


def test_the_second_doctor_is_told_it_was_taken(app, w):
    cid = u.ask(app, w["anna"])
    u.claim(app, u.user_of(app, "drt1"), cid)
    with pytest.raises(errors.AlreadyClaimed):
        u.claim(app, u.user_of(app, "drt2"), cid)
    with pytest.raises(errors.AlreadyClaimed):  # the winner pressing again too
        u.claim(app, u.user_of(app, "drt1"), cid)


def test_a_cancelled_request_cannot_be_taken(app, w):
    cid = u.ask(app, w["anna"])
    with app.app_context(), app.extensions["telemed.db"].transaction() as s:
        scheduling.cancel(s, actor(w["anna"]), cid, now=datetime.now(UTC))
    with pytest.raises(errors.ConsultationCancelled):
        u.claim(app, u.user_of(app, "drt1"), cid)


def test_a_doctor_in_an_urgent_consultation_cannot_take_another(app, w):
    first, second = u.ask(app, w["anna"]), u.ask(app, w["boris"])
    t1 = u.user_of(app, "drt1")
    u.claim(app, t1, first)
    with pytest.raises(errors.Busy):
        u.claim(app, t1, second)
    with app.app_context(), app.extensions["telemed.db"].transaction() as s:
        scheduling.finish(s, actor(t1), first, now=datetime.now(UTC))
    assert u.claim(app, t1, second)[0] == "in_progress"


# --- while waiting, cancel, finish -------------------------------------------------------------


def test_the_member_cancels_while_waiting_and_the_doctors_hear_it(app, db, w):
    t1 = u.user_of(app, "drt1")
    u.set_duty(app, t1)
    cid = u.ask(app, w["anna"])
    with app.app_context(), db.transaction() as s:
        assert scheduling.cancel(s, actor(w["anna"]), cid, now=datetime.now(UTC)).status == "cancelled"
    cancelled = [e for e in _events(db, "urgent_queue") if e.payload["action"] == "cancelled"]
    assert [(e.room, e.payload["request"]["id"]) for e in cancelled] == [(f"user:{t1.id}", cid)]
    member = [e.payload for e in _events(db, "urgent_status") if e.room == f"consultation:{cid}"]
    assert member[-1]["status"] == "cancelled" and member[-1]["queue"] is None


def test_an_urgent_consultation_in_progress_is_not_cancelled(app, w):
    cid = u.ask(app, w["anna"])
    u.claim(app, u.user_of(app, "drt1"), cid)
    with pytest.raises(errors.NotCancellable), app.extensions["telemed.db"].transaction() as s:
        scheduling.cancel(s, actor(w["anna"]), cid, now=datetime.now(UTC))


def test_only_its_doctor_finishes_the_visit_explicitly(app, db, factory, w):
    cid = u.ask(app, w["anna"])
    t1 = u.user_of(app, "drt1")

    def finish(user, consultation_id=cid, at=None):
        with app.app_context(), db.transaction() as s:
            c = scheduling.finish(s, actor(user), consultation_id, now=at or datetime.now(UTC))
            return c.status, c.completed_at

    with pytest.raises(errors.NotFound):  # nobody's doctor yet: the therapist is no party
        finish(t1)
    u.claim(app, t1, cid)
    with pytest.raises(errors.NotPermitted):
        finish(w["anna"])
    with pytest.raises(errors.NotFound):
        finish(w["boris"])
    planned = make_consultation(factory, w["boris"], w["boris_patient"], w["t1"], w["contract"])
    with pytest.raises(errors.NotInProgress):  # a planned one that has not started
        finish(t1, planned.id)
    done = datetime.now(UTC)
    assert finish(t1, at=done) == ("completed", done)
    assert finish(t1, at=done + timedelta(minutes=5)) == ("completed", done)  # again: nothing changes


def test_waiting_requests_are_upcoming_however_long_they_wait(app, db, w):
    cid = u.ask(app, w["anna"], now=datetime.now(UTC) - timedelta(hours=3))
    with db.session() as s:
        upcoming = scheduling.list_for(s, actor(w["anna"]), when="upcoming", now=datetime.now(UTC))
        past = scheduling.list_for(s, actor(w["anna"]), when="past", now=datetime.now(UTC))
    assert [c.id for c in upcoming] == [cid] and past == []


# --- escalation -------------------------------------------------------------------------------


def test_escalation_steps_alert_all_doctors_then_offer_a_slot(app, db, factory, w):
    t1, t2 = u.user_of(app, "drt1"), u.user_of(app, "drt2")
    start = datetime.now(UTC).replace(microsecond=0)
    u.set_duty(app, t1, now=start)
    cid = u.ask(app, w["anna"], now=start)
    slot = factory.slot(w["t2"], start + timedelta(days=1))
    factory.slot(w["t2"], start + timedelta(days=2))
    factory.slot(w["card"], start + timedelta(hours=2))  # another specialty
    escalate = u.settings(app).escalate_after

    assert run_due(app, now=start + escalate - timedelta(seconds=1))["escalation_steps"] == 0
    assert run_due(app, now=start + escalate)["escalation_steps"] == 1
    assert run_due(app, now=start + escalate + timedelta(seconds=1))["escalation_steps"] == 0
    escalated = [e for e in _events(db, "urgent_queue") if e.payload["action"] == "escalated"]
    assert sorted(e.room for e in escalated) == sorted([f"user:{t1.id}", f"user:{t2.id}"])  # on duty or not
    assert {e.payload["request"]["escalation_level"] for e in escalated} == {1}
    state = _state(app, cid, start + escalate)
    assert (state.escalation_level, state.alternative) == (1, None)

    assert run_due(app, now=start + 2 * escalate)["escalation_steps"] == 1
    state = _state(app, cid, start + 2 * escalate)
    assert state.escalation_level == 2 and state.alternative.id == slot.id and state.position == 1
    member = [e.payload for e in _events(db, "urgent_status") if e.room == f"consultation:{cid}"]
    assert member[-1]["queue"]["alternative"]["slot_id"] == slot.id
    assert run_due(app, now=start + 3 * escalate)["escalation_steps"] == 0

    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "urgent_request")).all()
        assert [(r.action, r.object_id, r.actor_role, r.outcome) for r in rows] == [
            ("escalate_1", str(cid), "system", "done"),
            ("escalate_2", str(cid), "system", "done"),
        ]
        assert verify_chain(s, app.extensions["telemed.audit_keys"]).ok


def test_a_long_overdue_request_takes_both_steps_in_order(app, db, w):
    start = datetime.now(UTC)
    cid = u.ask(app, w["anna"], now=start)
    assert run_due(app, now=start + 5 * u.settings(app).escalate_after)["escalation_steps"] == 2
    with db.session() as s:
        ur = s.get(UrgentRequest, cid)
        assert ur.escalation_level == 2 and ur.level1_at == ur.level2_at


def test_a_request_taken_or_cancelled_does_not_escalate(app, db, w):
    start = datetime.now(UTC)
    taken = u.ask(app, w["anna"], now=start)
    cancelled = u.ask(app, w["boris"], now=start)
    u.claim(app, u.user_of(app, "drt1"), taken)
    with app.app_context(), db.transaction() as s:
        scheduling.cancel(s, actor(w["boris"]), cancelled, now=start)
    assert run_due(app, now=start + 3 * u.settings(app).escalate_after)["escalation_steps"] == 0


def test_the_outbox_is_pruned_after_delivery(app, db, w):
    u.set_duty(app, u.user_of(app, "drt1"))
    u.ask(app, w["anna"])
    sent = []
    assert outbox.deliver_pending(db, lambda *e: sent.append(e), now=datetime.now(UTC)) == len(sent) > 0
    assert outbox.deliver_pending(db, lambda *e: sent.append(e), now=datetime.now(UTC)) == 0
    assert run_due(app, now=datetime.now(UTC) + timedelta(hours=2))["outbox_pruned"] == len(sent)


def test_stale_outbox_events_are_dropped_unsent(app, db, w):
    u.set_duty(app, u.user_of(app, "drt1"))
    u.ask(app, w["anna"])
    sent = []
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert outbox.deliver_pending(db, lambda *e: sent.append(e), now=later) == 0 and sent == []
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None)))
            == 0
        )

"""Schedules: template validation, generation (idempotent, DST-correct, exceptions), removing hours
that hold bookings (409, keep, cancel with a notice and the quota kept), two workers at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from telemed import errors
from telemed.admin import schedule_rules, schedules
from telemed.notifications.models import Notification
from telemed.scheduling import entitlements
from telemed.scheduling.models import Consultation, Slot
from tests.support.factories import actor, make_consultation

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday
WEEKDAYS_9_TO_13 = {
    "slot_minutes": 30,
    "timezone": "Europe/Moscow",
    "days": [{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(5)],
}


@pytest.fixture
def admin(factory):
    return actor(factory.user("admin1", role="admin"))


def _slots(db, doctor_id):
    with db.session() as s:
        return s.execute(
            select(Slot.starts_at, Slot.ends_at).where(Slot.doctor_id == doctor_id).order_by(Slot.starts_at)
        ).all()


def _set(db, admin, doctor_id, data, **kw):
    with db.transaction() as s:
        return schedules.set_template(s, admin, doctor_id, data, now=NOW, default_zone="Europe/Moscow", **kw)


def _generate(db, admin, doctor_id, days=28, now=NOW):
    with db.transaction() as s:
        return schedules.generate_for(s, admin, doctor_id, now=now, days=days)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 121}, "slot_minutes"),
        ({"slot_minutes": True}, "slot_minutes"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": {}}, "timezone"),
        ({"days": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "days[0].weekday"),
        ({"days": [{"weekday": 1, "start": "10:00", "end": "10:00"}]}, "days[0].end"),
        ({"days": [{"weekday": 1, "start": "9:00", "end": "10:00"}]}, "days[0].start"),
        ({"days": [{"weekday": 1, "start": "09:00", "end": "24:01"}]}, "days[0].end"),
        ({"days": [{"weekday": 1, "start": "24:00", "end": "24:00"}]}, "days[0].start"),
        (
            {
                "days": [
                    {"weekday": 1, "start": "09:00", "end": "12:00"},
                    {"weekday": 1, "start": "11:00", "end": "13:00"},
                ]
            },
            "days",
        ),
    ],
)
def test_a_bad_template_is_refused_naming_the_field(change, field):
    with pytest.raises(errors.ValidationFailed) as caught:
        schedule_rules.parse_template({**WEEKDAYS_9_TO_13, **change}, default_zone="Europe/Moscow")
    assert caught.value.details == {"field": field}


def test_the_zone_defaults_to_the_clinic_s():
    data = {k: v for k, v in WEEKDAYS_9_TO_13.items() if k != "timezone"}
    assert (
        schedule_rules.parse_template(data, default_zone="Asia/Yekaterinburg").timezone
        == "Asia/Yekaterinburg"
    )


def test_slots_follow_the_wall_clock_across_a_dst_change():
    template = schedule_rules.parse_template(
        {
            "slot_minutes": 60,
            "timezone": "Europe/Berlin",
            "days": [{"weekday": 6, "start": "01:00", "end": "05:00"}],
        },
        default_zone="Europe/Berlin",
    )
    # 29 March 2026: 02:00 CET → 03:00 CEST (02:00–03:00 does not exist); 25 October: back.
    spring = schedule_rules.slots_between(
        template, start=datetime(2026, 3, 28, tzinfo=UTC), end=datetime(2026, 3, 30, tzinfo=UTC)
    )
    berlin = ZoneInfo("Europe/Berlin")
    assert [s.astimezone(berlin).hour for s, _ in spring] == [1, 3, 4]
    assert [s.hour for s, _ in spring] == [0, 1, 2]  # UTC
    autumn = schedule_rules.slots_between(
        template, start=datetime(2026, 10, 24, tzinfo=UTC), end=datetime(2026, 10, 26, tzinfo=UTC)
    )
    assert [s.astimezone(berlin).hour for s, _ in autumn] == [1, 2, 3, 4]
    assert [s.hour for s, _ in autumn] == [23, 0, 2, 3]  # 02:00 is its first (summer) occurrence
    assert all(e - s == timedelta(hours=1) for s, e in spring + autumn)


def test_around_the_clock_ends_at_24_00():
    template = schedule_rules.parse_template(
        {"slot_minutes": 30, "days": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]},
        default_zone="Europe/Moscow",
    )
    assert template.as_dict()["days"][0] == {"weekday": 0, "start": "00:00", "end": "24:00"}
    day = schedule_rules.slots_between(
        template, start=datetime(2026, 3, 1, 21, tzinfo=UTC), end=datetime(2026, 3, 2, 21, tzinfo=UTC)
    )
    assert len(day) == 48 and day[-1] == (
        datetime(2026, 3, 2, 20, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 21, tzinfo=UTC),
    )
    assert schedule_rules.within_hours(template, *day[-1])


def test_generation_creates_the_template_s_hours_once(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctor = factory.doctor()
    _set(db, admin, doctor.id, WEEKDAYS_9_TO_13)
    assert _generate(db, admin, doctor.id, days=7) == 5 * 8 - 1  # not the one starting now
    assert _generate(db, admin, doctor.id, days=7) == 0
    slots = _slots(db, doctor.id)
    assert len(slots) == 39
    assert slots[0] == (datetime(2026, 3, 2, 6, 30, tzinfo=UTC), datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    # Moscow 09:00 = 06:00 UTC; the slot starting exactly now is not generated
    assert slots[-1][0] == datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
    assert _generate(db, admin, doctor.id, days=14) == 40


def test_generation_needs_an_admin_and_a_template(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctor = factory.doctor()
    with pytest.raises(errors.Conflict):
        _generate(db, admin, doctor.id)
    other = actor(factory.user("doc", role="doctor"))
    with pytest.raises(errors.NotPermitted), db.transaction() as s:
        schedules.generate_for(s, other, doctor.id, now=NOW)


def test_an_exception_removes_free_slots_and_generation_skips_its_days(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctor = factory.doctor()
    _set(db, admin, doctor.id, WEEKDAYS_9_TO_13)
    _generate(db, admin, doctor.id, days=7)
    with db.transaction() as s:
        out = schedules.add_exception(
            s,
            admin,
            doctor.id,
            first_day=date(2026, 3, 3),
            last_day=date(2026, 3, 4),
            kind="sick",
            reason="Болеет",
            now=NOW,
        )
    assert out["removed_slots"] == 16 and out["cancelled"] == []
    days = {s.astimezone(ZoneInfo("Europe/Moscow")).date() for s, _ in _slots(db, doctor.id)}
    assert days == {date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 6)}
    assert _generate(db, admin, doctor.id, days=7) == 0


def _booked(app, factory, doctor, *, specialty_contract=None, start=None):
    contract = specialty_contract or factory.contract()
    user, patient = factory.member(contract=contract)
    c = make_consultation(
        factory, user, patient, doctor, contract, start=start or datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    )
    return user, patient, contract, c


def test_removing_booked_hours_asks_then_keeps(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctor = factory.doctor()
    _set(db, admin, doctor.id, WEEKDAYS_9_TO_13)
    _, _, _, c = _booked(app, factory, doctor)  # Friday 12:00 Moscow, on the template's grid
    assert _generate(db, admin, doctor.id, days=7) == 38  # the booked one's slot exists
    mornings = {
        **WEEKDAYS_9_TO_13,
        "days": [{"weekday": d, "start": "09:00", "end": "11:00"} for d in range(5)],
    }
    with pytest.raises(errors.Conflict) as caught:
        _set(db, admin, doctor.id, mornings)
    assert [x["id"] for x in caught.value.details["consultations"]] == [c.id]
    assert len(_slots(db, doctor.id)) == 39  # nothing changed
    out = _set(db, admin, doctor.id, mornings, on_booked="keep")
    assert out["kept"] == [c.id] and out["cancelled"] == []
    assert out["removed_slots"] == 20 - 1  # the free afternoon slots (12:00 was the booked one's start)
    with db.session() as s:
        assert s.get(Consultation, c.id).status == "scheduled"


def test_cancelling_booked_hours_notifies_the_member_who_keeps_the_quota(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctor = factory.doctor("psychologist")
    _set(db, admin, doctor.id, WEEKDAYS_9_TO_13)
    contract = factory.contract(psychologist_limit=1)
    user, patient, _, c = _booked(app, factory, doctor, specialty_contract=contract)
    with db.session() as s:
        assert entitlements.psychologist_used(s, patient.id, contract.id) == 1
    with pytest.raises(errors.ValidationFailed), db.transaction() as s:
        schedules.add_exception(
            s,
            admin,
            doctor.id,
            first_day=date(2026, 3, 6),
            last_day=date(2026, 3, 6),
            kind="vacation",
            reason="",
            now=NOW,
            on_booked="cancel",
        )
    with db.transaction() as s:
        out = schedules.add_exception(
            s,
            admin,
            doctor.id,
            first_day=date(2026, 3, 6),
            last_day=date(2026, 3, 6),
            kind="vacation",
            reason="Отпуск врача",
            now=NOW,
            on_booked="cancel",
        )
    assert out["cancelled"] == [c.id] and out["removed_slots"] == 1
    with db.session() as s:
        cancelled = s.get(Consultation, c.id)
        assert (cancelled.status, cancelled.cancel_reason, cancelled.slot_id) == (
            "cancelled",
            "Отпуск врача",
            None,
        )
        assert entitlements.psychologist_used(s, patient.id, contract.id) == 0
        notes = s.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == "cancelled")
        ).all()
        assert [n.consultation_id for n in notes] == [c.id]
        assert notes[0].params["reason"] == "Отпуск врача"


def test_the_worker_job_fills_the_horizon_and_then_has_nothing_to_do(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctors = [factory.doctor() for _ in range(3)]
    for d in doctors:
        _set(db, admin, d.id, WEEKDAYS_9_TO_13)
    factory.doctor()  # no template: nothing to generate
    with db.session() as s:
        assert schedules.anything_due(s, now=NOW)
    with db.transaction() as s:
        assert schedules.generate_due(s, now=NOW) == 3 * (20 * 8 - 1)  # not the ones starting now
    with db.session() as s:
        assert not schedules.anything_due(s, now=NOW)
        assert schedules.anything_due(s, now=NOW + timedelta(days=2))


def test_two_workers_generating_at_once_create_no_duplicates(app, factory, admin):
    db = app.extensions["telemed.db"]
    doctors = [factory.doctor() for _ in range(4)]
    for d in doctors:
        _set(db, admin, d.id, WEEKDAYS_9_TO_13)
    barrier = threading.Barrier(2)
    results: list[int] = []
    failures: list[BaseException] = []

    def work():
        try:
            barrier.wait(5)
            with db.transaction() as s:
                results.append(schedules.generate(s, now=NOW, days=28))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Slot))
        distinct = s.scalar(
            select(func.count()).select_from(select(Slot.doctor_id, Slot.starts_at).distinct().subquery())
        )
    assert total == distinct == 4 * (20 * 8 - 1)
    assert sum(results) == total


def test_telemed_worker_generates_the_slots_daily(app, factory, admin):
    from telemed import worker

    db = app.extensions["telemed.db"]
    doctor = factory.doctor()
    _set(db, admin, doctor.id, WEEKDAYS_9_TO_13)
    assert worker.run_due(app, now=NOW)["slots_created"] == 20 * 8 - 1
    assert worker.run_due(app, now=NOW + timedelta(hours=1))["slots_created"] == 0
    assert (
        worker.run_due(app, now=NOW + timedelta(days=1, hours=1))["slots_created"] == 8 + 2
    )  # Monday 30 March and Tuesday to 10:00

"""Booking service against a real database (SQLite and PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from telemed import errors
from telemed.auth import service as auth_service
from telemed.scheduling import entitlements
from telemed.scheduling import service as scheduling
from telemed.scheduling import slots as slots_service
from telemed.scheduling.models import Consultation
from tests.support.factories import actor, next_slot_start

TZ = ZoneInfo("Europe/Moscow")


def book(db, user, slot, patient=None, now=None):
    with db.transaction() as s:
        c = scheduling.book(
            s,
            actor(user),
            slot_id=slot.id,
            patient_id=patient.id if patient else None,
            reason="",
            now=now or datetime.now(UTC),
            clinic_tz=TZ,
            consent_version="2026-01",
        )
        return c.id


def cancel(db, user, cid, now=None):
    with db.transaction() as s:
        return scheduling.cancel(s, actor(user), cid, now=now or datetime.now(UTC)).status


@pytest.fixture
def contract(factory):
    return factory.contract()


def test_member_books_a_free_slot_and_the_doctor_sees_it(db, factory, contract):
    user, patient = factory.member(contract=contract)
    doctor = factory.doctor(username="drhouse")
    slot = factory.slot(doctor)
    cid = book(db, user, slot)
    with db.session() as s:
        c = s.get(Consultation, cid)
        assert (c.status, c.mode, c.patient_id, c.doctor_id, c.contract_id) == (
            "scheduled",
            "planned",
            patient.id,
            doctor.id,
            contract.id,
        )
        assert c.starts_at == slot.starts_at
        dr = auth_service.authenticate(s, factory.passwords, "drhouse", "secret-pass")
        schedule = scheduling.doctor_schedule(
            s, actor(dr), start=slot.starts_at - timedelta(hours=1), end=slot.starts_at + timedelta(hours=1)
        )
        assert [x.id for x in schedule] == [cid]
        free = slots_service.free_slots(
            s, doctor.id, start=datetime.now(UTC), end=slot.ends_at + timedelta(days=1), now=datetime.now(UTC)
        )
        assert slot.id not in [x.id for x in free]


def test_a_slot_is_booked_once(db, factory, contract):
    u1, _ = factory.member(contract=contract)
    u2, _ = factory.member(contract=contract)
    slot = factory.slot(factory.doctor())
    book(db, u1, slot)
    with pytest.raises(errors.SlotTaken):
        book(db, u2, slot)


def test_cancelling_frees_the_slot(db, factory, contract):
    u1, _ = factory.member(contract=contract)
    u2, _ = factory.member(contract=contract)
    slot = factory.slot(factory.doctor())
    cid = book(db, u1, slot)
    assert cancel(db, u1, cid) == "cancelled"
    book(db, u2, slot)


def test_cancel_after_start_is_refused(db, factory, contract):
    user, _ = factory.member(contract=contract)
    slot = factory.slot(factory.doctor(), next_slot_start(days=1))
    cid = book(db, user, slot)
    with pytest.raises(errors.NotCancellable):
        cancel(db, user, cid, now=slot.starts_at + timedelta(minutes=1))


def test_psychologist_limit_counts_non_cancelled_per_contract(db, factory, contract):
    user, patient = factory.member(contract=contract)
    slots = factory.slots(factory.doctor("psychologist"), 5)
    ids = [book(db, user, s) for s in slots[:3]]
    with pytest.raises(errors.LimitReached):
        book(db, user, slots[3])
    with db.session() as s:
        assert entitlements.psychologist_entitlement(s, patient, date.today()).as_dict() == {
            "limit": 3,
            "used": 3,
            "left": 0,
        }
    cancel(db, user, ids[0])
    book(db, user, slots[3])  # the cancelled one no longer counts
    with pytest.raises(errors.LimitReached):
        book(db, user, slots[4])


def test_psychologist_limit_is_the_programme_setting(db, factory):
    user, _ = factory.member(contract=factory.contract(psychologist_limit=1))
    slots = factory.slots(factory.doctor("psychologist"), 2)
    book(db, user, slots[0])
    with pytest.raises(errors.LimitReached):
        book(db, user, slots[1])


def test_psychologist_limit_is_per_insured_person(db, factory, contract):
    u1, _ = factory.member(contract=contract)
    u2, _ = factory.member(contract=contract)
    slots = factory.slots(factory.doctor("psychologist"), 4)
    for s in slots[:3]:
        book(db, u1, s)
    book(db, u2, slots[3])


def test_psychologist_refuses_a_minor_even_for_the_guardian(db, factory, contract):
    parent, _ = factory.member(contract=contract)
    child = factory.patient(
        name="Kid",
        birth_date=date.today().replace(year=date.today().year - 10),
        guardian=parent,
        contract=contract,
    )
    with pytest.raises(errors.AdultOnly):
        book(db, parent, factory.slot(factory.doctor("psychologist")), patient=child)


def test_guardian_books_a_pediatrician_for_the_child_but_not_for_self(db, factory, contract):
    parent, _ = factory.member(contract=contract)
    child = factory.patient(name="Kid", birth_date=date(2019, 4, 1), guardian=parent, contract=contract)
    pediatrician = factory.doctor("pediatrician")
    book(db, parent, factory.slot(pediatrician), patient=child)
    with pytest.raises(errors.NotCovered):
        book(db, parent, factory.slot(pediatrician, next_slot_start(days=2)))


def test_a_stranger_cannot_book_for_someone_elses_child(db, factory, contract):
    parent, _ = factory.member(contract=contract)
    stranger, _ = factory.member(contract=contract)
    child = factory.patient(name="Kid", birth_date=date(2019, 4, 1), guardian=parent, contract=contract)
    with pytest.raises(errors.NotGuardian):
        book(db, stranger, factory.slot(factory.doctor("pediatrician")), patient=child)


def test_an_uncovered_specialty_is_refused(db, factory):
    user, _ = factory.member(contract=factory.contract(specialties=["therapist"]))
    with pytest.raises(errors.NotCovered):
        book(db, user, factory.slot(factory.doctor("cardiologist")))


def test_a_contract_without_telemedicine_is_refused(db, factory):
    user, _ = factory.member(contract=factory.contract(telemedicine=False))
    with pytest.raises(errors.NotCovered):
        book(db, user, factory.slot(factory.doctor()))


def test_no_policy_or_a_slot_outside_the_policy_term_is_refused(db, factory, contract):
    no_policy, _ = factory.member()
    with pytest.raises(errors.PolicyInactive):
        book(db, no_policy, factory.slot(factory.doctor()))
    short, _ = factory.member(contract=contract, policy_to=date.today() + timedelta(days=2))
    with pytest.raises(errors.PolicyInactive):
        book(db, short, factory.slot(factory.doctor(), next_slot_start(days=5)))


def test_consent_is_required_and_withdrawal_blocks_new_bookings(db, factory, contract):
    user, _ = factory.member(contract=contract, consent=False)
    doctor = factory.doctor()
    with pytest.raises(errors.ConsentRequired):
        book(db, user, factory.slot(doctor))
    with db.transaction() as s:
        auth_service.accept_consent(
            s, user.id, version="2026-01", current_version="2026-01", now=datetime.now(UTC)
        )
    book(db, user, factory.slot(doctor, next_slot_start(days=2)))
    with db.transaction() as s:
        assert auth_service.withdraw_consent(s, user.id, now=datetime.now(UTC)) == 1
    with pytest.raises(errors.ConsentRequired):
        book(db, user, factory.slot(doctor, next_slot_start(days=3)))


def test_a_past_slot_cannot_be_booked(db, factory, contract):
    user, _ = factory.member(contract=contract)
    slot = factory.slot(factory.doctor(), datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(errors.SlotUnavailable):
        book(db, user, slot)


def test_an_inactive_doctor_slot_cannot_be_booked(db, factory, contract):
    user, _ = factory.member(contract=contract)
    with pytest.raises(errors.SlotUnavailable):
        book(db, user, factory.slot(factory.doctor(active=False)))


def test_a_stranger_cannot_see_or_cancel_a_consultation(db, factory, contract):
    user, _ = factory.member(contract=contract)
    stranger, _ = factory.member(contract=contract)
    cid = book(db, user, factory.slot(factory.doctor()))
    with db.session() as s, pytest.raises(errors.NotFound):
        scheduling.get_for(s, actor(stranger), cid)
    with pytest.raises(errors.NotFound):
        cancel(db, stranger, cid)
    with db.session() as s:
        assert scheduling.list_for(s, actor(stranger), now=datetime.now(UTC)) == []

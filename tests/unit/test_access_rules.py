"""Pure access decisions (``*/access.py``): no app, no database."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from telemed import errors
from telemed.auth.actor import Actor
from telemed.chat import access as chat_access
from telemed.members import access as members_access
from telemed.records import access as records_access
from telemed.scheduling import access as scheduling_access

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MEMBER, DOCTOR, OTHER_DOCTOR = Actor(1, "member", "M"), Actor(2, "doctor", "D"), Actor(3, "doctor", "O")
RECORDS, ADMIN = Actor(4, "records", "R"), Actor(5, "admin", "A")


@dataclass(frozen=True)
class DoctorRef:
    user_id: int


@dataclass
class C:
    status: str = "scheduled"
    starts_at: datetime = NOW + timedelta(hours=2)
    ends_at: datetime = NOW + timedelta(hours=2, minutes=30)
    doctor: DoctorRef = DoctorRef(DOCTOR.id)


def test_is_doctor_of_needs_the_role_and_the_consultation():
    assert scheduling_access.is_doctor_of(DOCTOR, C())
    assert not scheduling_access.is_doctor_of(OTHER_DOCTOR, C())
    assert not scheduling_access.is_doctor_of(Actor(DOCTOR.id, "member", "same id"), C())


@pytest.mark.parametrize(
    "c, allowed",
    [
        (C(), True),
        (C(status="in_progress"), False),
        (C(status="cancelled"), False),
        (C(starts_at=NOW), False),
    ],
)
def test_cancel_only_while_scheduled_and_before_the_start(c, allowed):
    assert scheduling_access.may_cancel(MEMBER, c, NOW) is allowed
    assert scheduling_access.may_cancel(DOCTOR, c, NOW) is allowed


def test_the_doctor_must_give_a_reason_the_member_need_not():
    scheduling_access.check_cancel(MEMBER, C(), NOW, "")
    scheduling_access.check_cancel(DOCTOR, C(), NOW, "Заболел")
    with pytest.raises(errors.ValidationFailed) as exc:
        scheduling_access.check_cancel(DOCTOR, C(), NOW, "")
    assert exc.value.details == {"field": "reason"}
    with pytest.raises(errors.NotCancellable):
        scheduling_access.check_cancel(DOCTOR, C(starts_at=NOW - timedelta(minutes=1)), NOW, "Заболел")


def test_a_user_acts_for_themselves_and_their_wards_only():
    assert members_access.may_act_for(1, patient_user_id=1, is_guardian=False)
    assert members_access.may_act_for(1, patient_user_id=None, is_guardian=True)
    assert not members_access.may_act_for(1, patient_user_id=7, is_guardian=False)
    assert not members_access.may_act_for(1, patient_user_id=None, is_guardian=False)


@pytest.mark.parametrize(
    "who, acts_for, cares, allowed",
    [
        (MEMBER, True, False, True),
        (MEMBER, False, True, False),  # "caring" means nothing for a member
        (DOCTOR, False, True, True),
        (DOCTOR, False, False, False),
        (RECORDS, False, False, True),
        (ADMIN, False, False, True),
    ],
)
def test_who_reads_an_ecard(who, acts_for, cares, allowed):
    assert records_access.may_read_record(who, acts_for_patient=acts_for, doctor_cares=cares) is allowed


def test_doctors_do_not_see_who_read_a_record_unless_it_is_their_own():
    assert not records_access.may_read_access_log(DOCTOR, is_own_record=False, may_read=True)
    assert records_access.may_read_access_log(DOCTOR, is_own_record=True, may_read=True)
    assert records_access.may_read_access_log(MEMBER, is_own_record=False, may_read=True)
    assert not records_access.may_read_access_log(RECORDS, is_own_record=False, may_read=False)


@pytest.mark.parametrize(
    ("whole", "need_to_know", "shared", "held", "sees"),
    [
        (True, True, False, False, True),  # the patient, a guardian, records staff
        (False, False, False, False, True),  # any other specialty: every caring doctor
        (False, True, False, True, True),  # the psychologist who held it
        (False, True, True, False, True),  # shared by the patient
        (False, True, False, False, False),  # any other doctor: that it exists, nothing more
    ],
)
def test_mental_health_entries_are_need_to_know(whole, need_to_know, shared, held, sees):
    assert (
        records_access.sees_entry(
            sees_whole_record=whole, need_to_know=need_to_know, shared=shared, held_by_reader=held
        )
        is sees
    )


def test_the_whole_record_is_seen_by_the_patient_and_records_staff_and_shared_by_the_patient_only():
    for who, acts_for, whole in (
        (MEMBER, True, True),
        (RECORDS, False, True),
        (ADMIN, False, True),
        (DOCTOR, False, False),
        (MEMBER, False, False),
    ):
        assert records_access.sees_whole_record(who, acts_for_patient=acts_for) is whole
    assert records_access.may_share_entry(acts_for_patient=True)
    assert not records_access.may_share_entry(acts_for_patient=False)


def test_conclusions_are_written_by_the_consultations_doctor_and_read_once_signed():
    assert records_access.may_write_conclusion(DOCTOR, C())
    assert not records_access.may_write_conclusion(OTHER_DOCTOR, C())
    assert not records_access.may_write_conclusion(MEMBER, C())
    assert records_access.may_read_conclusion(DOCTOR, C(), signed=False)
    assert not records_access.may_read_conclusion(MEMBER, C(), signed=False)
    assert records_access.may_read_conclusion(MEMBER, C(), signed=True)


def test_staff_only_features():
    for check in (records_access.may_search_patients, records_access.may_add_visit):
        assert [check(a) for a in (MEMBER, DOCTOR, RECORDS, ADMIN)] == [False, False, True, True]
    assert [records_access.may_search_icd10(a) for a in (MEMBER, DOCTOR, RECORDS)] == [False, True, True]


def test_the_chat_is_writable_until_the_open_hours_after_the_end():
    c = C(ends_at=NOW)
    chat_access.require_writable(c, NOW + timedelta(hours=71), 72)
    with pytest.raises(errors.ChatReadOnly):
        chat_access.require_writable(c, NOW + timedelta(hours=72), 72)
    with pytest.raises(errors.ChatReadOnly):
        chat_access.require_writable(C(status="cancelled"), NOW, 72)


def test_a_conclusion_is_pending_while_under_way_or_held_and_unsigned():
    for status, state, pending in (
        ("in_progress", None, True),
        ("completed", "draft", True),
        ("completed", "signed", False),
        ("scheduled", None, False),
        ("cancelled", None, False),
    ):
        assert scheduling_access.conclusion_pending(status, state) is pending, (status, state)

"""Booking rules of the insurance programme, as pure functions.

Nothing here touches the database or Flask: the booking service gathers the
facts (``BookingFacts``) inside a transaction and calls ``check_booking``,
which raises the first rule that fails. The order of checks is part of the
contract: who may book, consent, the slot's time, the policy, coverage and
age, and finally the psychologist limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from telemed import errors
from telemed.catalog.specialties import PSYCHOLOGIST, SpecialtyInfo
from telemed.members.rules import PolicyFacts, age_on
from telemed.scheduling.status import Status
from telemed.translatable import _l


@dataclass(frozen=True)
class BookingFacts:
    now: datetime
    slot_start: datetime
    consultation_day: date  # the slot's date in the clinic's time zone
    specialty: SpecialtyInfo
    patient_birth_date: date
    booker_is_patient: bool
    booker_is_guardian: bool
    consent_accepted: bool
    policy: PolicyFacts | None  # the policy active on consultation_day, if any
    psychologist_used: int  # non-cancelled psychologist consultations under that contract


def check_age(specialty: SpecialtyInfo, birth_date: date, day: date) -> None:
    age = age_on(birth_date, day)
    if specialty.min_age is not None and age < specialty.min_age:
        raise errors.AdultOnly()
    if specialty.max_age is not None and age >= specialty.max_age:
        raise errors.NotCovered(
            _l("This specialist consults patients under %(max_age)s.", max_age=specialty.max_age)
        )


def check_coverage(policy: PolicyFacts, specialty: SpecialtyInfo) -> None:
    if not policy.telemedicine:
        raise errors.NotCovered(_l("The insurance programme does not include telemedicine."))
    if specialty.code not in policy.covered_specialties:
        raise errors.NotCovered(_l("The insurance programme does not cover this specialty."))


def psychologist_left(policy: PolicyFacts | None, used: int) -> int:
    return max(0, policy.psychologist_limit - used) if policy else 0


def check_booking(f: BookingFacts) -> None:
    """Raise the first booking rule ``f`` breaks; return None when booking is allowed."""
    if not (f.booker_is_patient or f.booker_is_guardian):
        raise errors.NotGuardian()
    if not f.consent_accepted:
        raise errors.ConsentRequired()
    if f.slot_start <= f.now:
        raise errors.SlotUnavailable(_l("This time slot is in the past."))
    if f.policy is None:
        raise errors.PolicyInactive()
    check_coverage(f.policy, f.specialty)
    check_age(f.specialty, f.patient_birth_date, f.consultation_day)
    if f.specialty.code == PSYCHOLOGIST and f.psychologist_used >= f.policy.psychologist_limit:
        raise errors.LimitReached(
            _l(
                "All %(psychologist_limit)s psychologist consultations of the contract are used.",
                psychologist_limit=f.policy.psychologist_limit,
            ),
        )


def can_cancel(status: str, starts_at: datetime, now: datetime) -> bool:
    """A consultation can be cancelled while it is scheduled and has not started, and an urgent
    request while it waits in the queue."""
    return status == Status.WAITING or (status == Status.SCHEDULED and now < starts_at)

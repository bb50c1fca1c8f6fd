"""The urgent queue's rules as pure functions: which specialist, who may ask, the wait estimate,
and when a request escalates. The services gather the facts and call these."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from telemed import errors
from telemed.catalog.specialties import PEDIATRICIAN, THERAPIST, SpecialtyInfo
from telemed.members.rules import PolicyFacts, is_adult_on
from telemed.scheduling.rules import check_coverage
from telemed.translatable import _l

#: The highest escalation level: 1 alerts every doctor of the specialty, 2 offers a planned slot.
MAX_LEVEL = 2
#: A free doctor on duty takes a request at the head of the queue within this many minutes (the
#: estimate's upper bound when nobody has to finish a consultation first).
PICKUP_MINUTES = 5


def specialty_for(birth_date: date, day: date) -> str:
    """The urgent specialist for a patient on ``day`` (in the clinic's time zone): the therapist
    from 18, the pediatrician under 18."""
    return THERAPIST if is_adult_on(birth_date, day) else PEDIATRICIAN


@dataclass(frozen=True)
class RequestFacts:
    """What the rules read to accept an urgent request (the booking's contract rules, no slot)."""

    requester_is_patient: bool
    requester_is_guardian: bool
    consent_accepted: bool
    policy: PolicyFacts | None  # the patient's policy active today, if any
    specialty: SpecialtyInfo


def check_request(f: RequestFacts) -> None:
    """Raise the first rule ``f`` breaks, in the booking's order: who may ask (``NotGuardian``),
    consent (``ConsentRequired``), an active policy (``PolicyInactive``), telemedicine and the
    specialty covered, urgent care in the programme (``NotCovered``). No slot, no quota."""
    if not (f.requester_is_patient or f.requester_is_guardian):
        raise errors.NotGuardian()
    if not f.consent_accepted:
        raise errors.ConsentRequired()
    if f.policy is None:
        raise errors.PolicyInactive()
    check_coverage(f.policy, f.specialty)
    if not f.policy.urgent:
        raise errors.NotCovered(_l("The insurance programme does not include urgent consultations."))


@dataclass(frozen=True)
class Estimate:
    """An estimated wait in whole minutes, ``low`` ≤ ``high``."""

    low: int
    high: int

    def as_dict(self) -> dict[str, int]:
        return {"low": self.low, "high": self.high}


def estimate(*, ahead: int, on_duty: int, busy: int, median_minutes: float) -> Estimate | None:
    """The wait of a request with ``ahead`` requests before it, or None with no doctor on duty.

    ``on_duty`` doctors of the specialty are on duty, ``busy`` of them in an urgent consultation;
    a consultation lasts ``median_minutes``. The free doctors take the first requests at once
    (0 to ``PICKUP_MINUTES``). Each later request waits for a consultation to end: with the
    doctors finishing one every ``median / on_duty`` minutes on average, the k-th request past
    the free doctors waits between ``(k-1)·median/on_duty`` and ``k·median/on_duty`` minutes.
    """
    if on_duty <= 0:
        return None
    free = max(0, on_duty - max(0, busy))
    if ahead < free:
        return Estimate(0, PICKUP_MINUTES)
    k = ahead - free + 1
    step = max(median_minutes, 1.0) / on_duty
    low = math.floor((k - 1) * step)
    high = max(math.ceil(k * step), low + 1, PICKUP_MINUTES)
    return Estimate(low, high)


def due_level(waited: timedelta, escalate_after: timedelta) -> int:
    """The escalation level a request has earned by waiting ``waited``: 1 after ``escalate_after``,
    2 after twice that."""
    if waited >= 2 * escalate_after:
        return 2
    return 1 if waited >= escalate_after else 0

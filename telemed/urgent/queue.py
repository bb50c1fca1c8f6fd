"""The queue as members and doctors see it: the waiting list, a request's place, the estimate.

Waiting requests of a specialty are served oldest first (``created_at``, then id): a request keeps
its place whatever its member does meanwhile (reload, reconnect). The estimate (``rules.estimate``)
reads the requests ahead, the doctors whose duty counts now, how many of them are busy, and the
median length of the specialty's recent urgent consultations.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from telemed.catalog.models import Doctor
from telemed.dates import iso
from telemed.members.models import Patient
from telemed.members.rules import age_on
from telemed.scheduling.models import Consultation, Mode, Slot, Status
from telemed.scheduling.slots import earliest_free_slot
from telemed.urgent import duty, roster, rules
from telemed.urgent.models import UrgentRequest
from telemed.urgent.settings import UrgentSettings

MEDIAN_SAMPLE = 50  # the latest urgent consultations of the specialty that set the median
MEDIAN_WINDOW = timedelta(days=30)  # ... of those that ended within this long
ALTERNATIVE_LEAD = timedelta(minutes=5)  # the slot offered at level 2 starts at least this late


def doctor_json(d: Doctor) -> dict:
    return {"id": d.id, "name": d.full_name, "specialty": d.specialty_code}


@dataclass(frozen=True)
class QueueState:
    """A waiting request's place: ``position`` (1 = next), the estimate (None with nobody on
    duty), the doctors on duty, the escalation level and, from level 2, a planned slot offered
    instead (the member keeps the place in the queue meanwhile)."""

    position: int
    estimate: rules.Estimate | None
    doctors_on_duty: int
    escalation_level: int
    alternative: Slot | None = None
    coverage_gap: roster.CoverageGap | None = None  # the roster plans nobody of the specialty now

    def as_dict(self) -> dict:
        alt = self.alternative
        return {
            "coverage_gap": self.coverage_gap.as_dict() if self.coverage_gap else None,
            "position": self.position,
            "estimate_minutes": self.estimate.as_dict() if self.estimate else None,
            "doctors_on_duty": self.doctors_on_duty,
            "escalation_level": self.escalation_level,
            "alternative": None
            if alt is None
            else {
                "slot_id": alt.id,
                "start": iso(alt.starts_at),
                "end": iso(alt.ends_at),
                "doctor": doctor_json(alt.doctor),
            },
        }


class Waiting(NamedTuple):
    """A waiting request as the queue lists it: a row of plain columns, not ORM objects (the
    queue may hold a thousand requests, and it is read on every claim, cancel and finish)."""

    id: int
    specialty_code: str
    reason: str
    created_at: datetime
    patient_name: str
    birth_date: date
    escalation_level: int


def request_json(c: Consultation, level: int, today: date) -> dict:
    """A waiting request as doctors see it in the queue and in ``urgent_queue`` events."""
    return _request_dict(
        c.id,
        c.specialty_code,
        c.patient.full_name,
        age_on(c.patient.birth_date, today),
        c.reason,
        c.created_at,
        level,
    )


def _request_dict(
    cid: int, specialty: str, name: str, age: int, reason: str, created_at: datetime, level: int
) -> dict:
    return {
        "id": cid,
        "specialty": specialty,
        "patient": {"name": name, "age": age},
        "reason": reason,
        "waiting_since": iso(created_at),
        "escalation_level": level,
    }


def _waiting(specialty: str):
    return and_(
        Consultation.mode == Mode.URGENT,
        Consultation.status == Status.WAITING,
        Consultation.specialty_code == specialty,
    )


def waiting(session: Session, specialty: str) -> list[Waiting]:
    """The specialty's waiting requests, oldest first, each with its escalation level (one query,
    read through the session's connection: plain rows, no ORM bookkeeping)."""
    rows = (
        session.connection()
        .execute(
            select(
                Consultation.id,
                Consultation.specialty_code,
                Consultation.reason,
                Consultation.created_at,
                Patient.full_name,
                Patient.birth_date,
                UrgentRequest.escalation_level,
            )
            .join(UrgentRequest, UrgentRequest.consultation_id == Consultation.id)
            .join(Patient, Patient.id == Consultation.patient_id)
            .where(_waiting(specialty))
            .order_by(Consultation.created_at, Consultation.id)
        )
        .all()
    )  # one fetch, not one per row
    return [Waiting._make(row) for row in rows]


def listing(session: Session, specialty: str, today: date) -> list[dict]:
    """``waiting`` as doctors see it (``request_json`` of each), ages counted on ``today``."""
    ages: dict[date, int] = {}
    items = []
    for w in waiting(session, specialty):
        age = ages.get(w.birth_date)
        if age is None:
            age = ages[w.birth_date] = age_on(w.birth_date, today)
        items.append(
            _request_dict(
                w.id, w.specialty_code, w.patient_name, age, w.reason, w.created_at, w.escalation_level
            )
        )
    return items


def position(session: Session, c: Consultation) -> int:
    """1 + the waiting requests of the specialty older than ``c``."""
    ahead = session.scalar(
        select(func.count())
        .select_from(Consultation)
        .where(
            _waiting(c.specialty_code),
            or_(
                Consultation.created_at < c.created_at,
                and_(Consultation.created_at == c.created_at, Consultation.id < c.id),
            ),
        )
    )
    return 1 + int(ahead or 0)


def median_minutes(session: Session, specialty: str, *, now: datetime, default: timedelta) -> float:
    """The median length in minutes of the specialty's latest urgent consultations (at most
    ``MEDIAN_SAMPLE``, ended within ``MEDIAN_WINDOW``); ``default`` without any."""
    rows = session.execute(
        select(Consultation.starts_at, Consultation.completed_at)
        .where(
            Consultation.mode == Mode.URGENT,
            Consultation.specialty_code == specialty,
            Consultation.status == Status.COMPLETED,
            Consultation.completed_at >= now - MEDIAN_WINDOW,
        )
        .order_by(Consultation.completed_at.desc())
        .limit(MEDIAN_SAMPLE)
    ).all()
    lengths = [(end - start).total_seconds() / 60 for start, end in rows if end is not None and end > start]
    return statistics.median(lengths) if lengths else default.total_seconds() / 60


class SpecialtyFacts:
    """What every waiting request of one specialty shares, read once: doctors on duty and busy,
    the median length, and (read when first needed) the slot offered at level 2."""

    def __init__(self, session: Session, specialty: str, *, now: datetime, settings: UrgentSettings):
        self.session, self.specialty, self.now = session, specialty, now
        self.on_duty, self.busy = duty.counts(session, specialty, now=now, grace=settings.grace)
        self.median = median_minutes(session, specialty, now=now, default=settings.duration)
        self.gap = roster.gap_now(session, specialty, now=now)
        self._alternative: list[Slot | None] = []

    def alternative(self) -> Slot | None:
        if not self._alternative:
            found = earliest_free_slot(self.session, self.specialty, after=self.now + ALTERNATIVE_LEAD)
            self._alternative.append(found)
        return self._alternative[0]

    def state(self, position: int, level: int) -> QueueState:
        return QueueState(
            position=position,
            estimate=rules.estimate(
                ahead=position - 1, on_duty=self.on_duty, busy=self.busy, median_minutes=self.median
            ),
            doctors_on_duty=self.on_duty,
            escalation_level=level,
            alternative=self.alternative() if level >= rules.MAX_LEVEL else None,
            coverage_gap=self.gap,
        )


def level_of(session: Session, consultation_id: int) -> int:
    return int(
        session.scalar(
            select(UrgentRequest.escalation_level).where(UrgentRequest.consultation_id == consultation_id)
        )
        or 0
    )


def state_of(
    session: Session, c: Consultation, *, now: datetime, settings: UrgentSettings
) -> QueueState | None:
    """The request's place in the queue while it waits; None otherwise."""
    if c.mode != Mode.URGENT or c.status != Status.WAITING:
        return None
    facts = SpecialtyFacts(session, c.specialty_code, now=now, settings=settings)
    return facts.state(position(session, c), level_of(session, c.id))


def states(
    session: Session, specialty: str, *, now: datetime, settings: UrgentSettings
) -> list[tuple[Waiting, QueueState]]:
    """Every waiting request of the specialty with its place, oldest first."""
    facts = SpecialtyFacts(session, specialty, now=now, settings=settings)
    return [
        (w, facts.state(i, w.escalation_level)) for i, w in enumerate(waiting(session, specialty), start=1)
    ]


class QueueLength(NamedTuple):
    """A specialty's queue in brief (for the metrics): how many wait, since when the oldest."""

    specialty: str
    waiting: int
    oldest_since: datetime


def lengths(session: Session) -> list[QueueLength]:
    """Every specialty with waiting requests: their number and the oldest one's ``created_at``
    (one grouped query over the waiting-requests index)."""
    rows = session.execute(
        select(Consultation.specialty_code, func.count(), func.min(Consultation.created_at))
        .where(Consultation.mode == Mode.URGENT, Consultation.status == Status.WAITING)
        .group_by(Consultation.specialty_code)
    ).all()
    return [QueueLength(code, count, oldest) for code, count, oldest in rows]

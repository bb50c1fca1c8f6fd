"""Booking, cancelling and reading consultations; free slots.

Functions take an explicit ``session`` and ``actor`` and never commit: the
caller runs writes inside ``Database.transaction()``. Concurrency: the slot is
protected by a partial unique index (one non-cancelled consultation per slot);
the psychologist limit by locking the patient row (``FOR UPDATE`` on
PostgreSQL; on SQLite the write transaction is ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, exists, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.members import service as members
from telemed.members.models import Guardianship, Patient
from telemed.scheduling import rules
from telemed.scheduling.models import Consultation, Mode, Slot, Status

MAX_SLOT_RANGE = timedelta(days=62)


def slot_is_free():
    """SQL condition: no non-cancelled consultation holds ``Slot``."""
    return ~exists().where(Consultation.slot_id == Slot.id, Consultation.status != Status.CANCELLED)


def book(
    session: Session,
    actor: Actor,
    *,
    slot_id: int,
    patient_id: int | None,
    reason: str,
    now: datetime,
    clinic_tz: ZoneInfo,
    consent_version: str,
) -> Consultation:
    """Book a planned consultation on ``slot_id`` for ``patient_id`` (default: the actor)."""
    patient = (
        members.own_patient(session, actor.id) if patient_id is None else session.get(Patient, patient_id)
    )
    if patient is None:
        raise errors.NotGuardian("No patient to book for: choose yourself or a child in your care.")
    # Serialise bookings of one patient (psychologist limit); a no-op on SQLite.
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    slot = session.get(Slot, slot_id, options=[joinedload(Slot.doctor)])
    if slot is None or not slot.doctor.is_active:
        raise errors.SlotUnavailable("This time slot does not exist.")
    day = slot.starts_at.astimezone(clinic_tz).date()
    policy = members.active_policy(session, patient.id, day)
    specialty = BY_CODE[slot.doctor.specialty_code]
    facts = rules.BookingFacts(
        now=now,
        slot_start=slot.starts_at,
        consultation_day=day,
        specialty=specialty,
        patient_birth_date=patient.birth_date,
        booker_is_patient=patient.user_id == actor.id,
        booker_is_guardian=members.is_guardian(session, actor.id, patient.id),
        consent_accepted=auth_service.current_consent(session, actor.id, consent_version) is not None,
        policy=members.to_facts(policy) if policy else None,
        psychologist_used=members.psychologist_used(session, patient.id, policy.contract_id) if policy else 0,
    )
    rules.check_booking(facts)
    if session.scalar(select(Slot.id).where(Slot.id == slot.id, ~slot_is_free())):
        raise errors.SlotTaken()
    consultation = Consultation(
        patient=patient,
        booked_by_id=actor.id,
        doctor=slot.doctor,
        slot=slot,
        contract_id=policy.contract_id,
        specialty_code=specialty.code,
        mode=Mode.PLANNED,
        status=Status.SCHEDULED,
        reason=reason,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        created_at=now,
    )
    session.add(consultation)
    try:
        session.flush()
    except IntegrityError as exc:  # lost the race for the slot
        raise errors.SlotTaken() from exc
    return consultation


def _party_links():
    """Who is party to a consultation, as ``(consultation column, key, user column)`` links: the user
    in ``user column`` of the row whose ``key`` equals the consultation's column (``key`` None: the
    consultation's column is the user id itself). The booker, the patient, a guardian, the doctor."""
    return [
        (Consultation.booked_by_id, None, None),
        (Consultation.patient_id, Patient.id, Patient.user_id),
        (Consultation.patient_id, Guardianship.patient_id, Guardianship.guardian_user_id),
        (Consultation.doctor_id, Doctor.id, Doctor.user_id),
    ]


def _party_filter(user_id):
    """SQL condition: the user (an id) is party to the consultation (``_party_links``)."""
    return or_(
        *(
            own == user_id if key is None else own.in_(select(key).where(user == user_id))
            for own, key, user in _party_links()
        )
    )


def states_for_many(session: Session, asks: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Row]:
    """Batch access check: for each ``(user id, consultation id)`` whose user is party to the consultation
    (the rule of ``get_for``), a row ``(id, status, starts_at, ends_at)``; pairs that are not are absent.

    One statement for the whole batch: the parties of every consultation asked about.
    """
    asks = set(asks)
    ids = sorted({cid for _, cid in asks})
    if not ids:
        return {}
    found = {}
    users = sorted({uid for uid, _ in asks})
    for row in session.connection().execute(_parties_statement(), {"ids": ids, "users": users}):
        if (row.user_id, row.id) in asks:
            found[(row.user_id, row.id)] = row
    return found


@functools.cache
def _parties_statement():
    """``(id, status, starts_at, ends_at, user_id)`` for the parties among users ``:users`` of the
    consultations ``:ids``."""
    state = (Consultation.id, Consultation.status, Consultation.starts_at, Consultation.ends_at)
    ids, users = bindparam("ids", expanding=True), bindparam("users", expanding=True)
    return union_all(
        *(
            (
                select(*state, own.label("user_id")).where(own.in_(users))
                if key is None
                else select(*state, user.label("user_id")).join(key.table, own == key).where(user.in_(users))
            ).where(Consultation.id.in_(ids))
            for own, key, user in _party_links()
        )
    )


def _load_options():
    return [joinedload(Consultation.doctor).joinedload(Doctor.specialty), joinedload(Consultation.patient)]


def get_for(session: Session, actor: Actor, consultation_id: int, *, lock: bool = False) -> Consultation:
    """The consultation if the actor is party to it; otherwise ``NotFound`` (no existence leak)."""
    query = select(Consultation).where(Consultation.id == consultation_id, _party_filter(actor.id))
    if lock:
        query = query.with_for_update(of=Consultation)
    found = session.scalar(query.options(*_load_options()))
    if found is None:
        raise errors.NotFound("Consultation not found.")
    return found


def list_for(
    session: Session,
    actor: Actor,
    *,
    when: str | None = None,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> list[Consultation]:
    """The actor's consultations; ``when`` = "upcoming" | "past" | None (all)."""
    query = select(Consultation).where(_party_filter(actor.id)).options(*_load_options())
    if when == "upcoming":
        query = query.where(
            Consultation.ends_at > now, Consultation.status.in_([Status.SCHEDULED, Status.IN_PROGRESS])
        )
        query = query.order_by(Consultation.starts_at)
    elif when == "past":
        query = query.where(
            or_(
                Consultation.ends_at <= now,
                Consultation.status.notin_([Status.SCHEDULED, Status.IN_PROGRESS]),
            )
        )
        query = query.order_by(Consultation.starts_at.desc())
    else:
        query = query.order_by(Consultation.starts_at.desc())
    return list(session.scalars(query.limit(limit).offset(offset)).unique())


def cancel(session: Session, actor: Actor, consultation_id: int, *, now: datetime) -> Consultation:
    """Cancel before the start; frees the slot and the psychologist quota."""
    consultation = get_for(session, actor, consultation_id, lock=True)
    if consultation.status == Status.CANCELLED:
        return consultation
    if not rules.can_cancel(consultation.status, consultation.starts_at, now):
        raise errors.NotCancellable()
    consultation.status = Status.CANCELLED
    consultation.cancelled_at = now
    consultation.cancelled_by_id = actor.id
    session.flush()
    return consultation


def free_slots(
    session: Session,
    doctor_id: int,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    limit: int = 1000,
) -> list[Slot]:
    """Free future slots of an active doctor between ``start`` and ``end``."""
    if end <= start:
        raise errors.ValidationFailed("'to' must be after 'from'.")
    if end - start > MAX_SLOT_RANGE:
        raise errors.ValidationFailed("The range may span at most 62 days.")
    doctor = session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        raise errors.NotFound("Doctor not found.")
    return list(
        session.scalars(
            select(Slot)
            .where(
                Slot.doctor_id == doctor_id,
                Slot.starts_at >= max(start, now),
                Slot.starts_at < end,
                slot_is_free(),
            )
            .order_by(Slot.starts_at)
            .limit(limit)
        )
    )


def doctor_schedule(session: Session, actor: Actor, *, start: datetime, end: datetime) -> list[Consultation]:
    """The acting doctor's consultations in a range (an empty list for non-doctors)."""
    return list(
        session.scalars(
            select(Consultation)
            .join(Doctor, Doctor.id == Consultation.doctor_id)
            .where(Doctor.user_id == actor.id, Consultation.starts_at >= start, Consultation.starts_at < end)
            .options(joinedload(Consultation.patient))
            .order_by(Consultation.starts_at)
        )
    )

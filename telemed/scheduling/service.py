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
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.scheduling import access, entitlements, notices, parties, rules, signals
from telemed.scheduling.models import Consultation, Mode, Slot, Status
from telemed.scheduling.slots import slot_is_free
from telemed.scheduling.status import OPEN_STATUSES
from telemed.translatable import _l


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
    """Book a planned consultation on ``slot_id`` for ``patient_id`` (default: the actor); the
    member is notified (``booked``, with an ``.ics`` by e-mail)."""
    patient = (
        members.own_patient(session, actor.id) if patient_id is None else session.get(Patient, patient_id)
    )
    if patient is None:
        raise errors.NotGuardian(_l("No patient to book for: choose yourself or a child in your care."))
    # Serialise bookings of one patient (psychologist limit); a no-op on SQLite.
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    slot = session.get(Slot, slot_id, options=[joinedload(Slot.doctor)])
    if slot is None or not slot.doctor.is_active:
        raise errors.SlotUnavailable(_l("This time slot does not exist."))
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
        psychologist_used=entitlements.psychologist_used(session, patient.id, policy.contract_id)
        if policy
        else 0,
    )
    rules.check_booking(facts)
    assert policy is not None  # check_booking refuses a patient without an active policy
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
    notices.booked(session, consultation, now=now)
    return consultation


def states_for_many(session: Session, asks: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Row]:
    """Batch form of ``get_for``: for each ``(user id, consultation id)`` whose user is party to the
    consultation (``parties.party_rows``), a row ``(id, status, starts_at, ends_at, user_id)``;
    pairs that are not are absent. One cached statement for the whole batch.
    """
    asks = set(asks)
    if not asks:
        return {}
    params = {"ids": sorted({cid for _, cid in asks}), "users": sorted({uid for uid, _ in asks})}
    found = {}
    for row in session.connection().execute(_states_statement(), params):
        if (row.user_id, row.id) in asks:
            found[(row.user_id, row.id)] = row
    return found


@functools.cache
def _states_statement():
    state = (Consultation.status, Consultation.starts_at, Consultation.ends_at)
    return parties.party_rows(bindparam("users", expanding=True), bindparam("ids", expanding=True), *state)


def _load_options():
    return [joinedload(Consultation.doctor).joinedload(Doctor.specialty), joinedload(Consultation.patient)]


def get_for(session: Session, actor: Actor, consultation_id: int, *, lock: bool = False) -> Consultation:
    """The consultation if the actor is party to it; otherwise ``NotFound`` (no existence leak)."""
    query = select(Consultation).where(
        Consultation.id == consultation_id, parties.is_party(actor.id, consultation_id)
    )
    if lock:
        query = query.with_for_update(of=Consultation)
    found = session.scalar(query.options(*_load_options()))
    if found is None:
        raise errors.NotFound(_l("Consultation not found."))
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
    """The actor's consultations; ``when`` = "upcoming" | "past" | None (all).

    Upcoming: open ones that have not ended, and urgent requests still waiting however long they
    have waited; past: the others.
    """
    query = select(Consultation).where(parties.is_party(actor.id)).options(*_load_options())
    waiting = Consultation.status == Status.WAITING
    if when == "upcoming":
        query = query.where(
            or_(waiting, and_(Consultation.ends_at > now, Consultation.status.in_(OPEN_STATUSES)))
        )
        query = query.order_by(Consultation.starts_at)
    elif when == "past":
        query = query.where(
            ~waiting,
            or_(
                Consultation.ends_at <= now,
                Consultation.status.notin_(OPEN_STATUSES),
            ),
        )
        query = query.order_by(Consultation.starts_at.desc())
    else:
        query = query.order_by(Consultation.starts_at.desc())
    return list(session.scalars(query.limit(limit).offset(offset)).unique())


def cancel(
    session: Session, actor: Actor, consultation_id: int, *, now: datetime, reason: str = ""
) -> Consultation:
    """Cancel before the start, or an urgent request while it waits (``access.check_cancel``); frees
    the slot and the psychologist quota.

    The doctor must give a ``reason``, which the member reads (``cancel_reason``) and is told
    (``cancelled``; who cancelled is not told). Cancelling a cancelled consultation changes
    nothing. Sends ``signals.status_changed``.
    """
    consultation = get_for(session, actor, consultation_id, lock=True)
    if consultation.status == Status.CANCELLED:
        return consultation
    access.check_cancel(actor, consultation, now, reason)
    return mark_cancelled(session, consultation, by_user_id=actor.id, reason=reason, now=now)


def mark_cancelled(
    session: Session, consultation: Consultation, *, by_user_id: int, reason: str, now: datetime
) -> Consultation:
    """Set a consultation cancelled by ``by_user_id`` with ``reason`` (it no longer counts against
    any quota), send ``signals.status_changed`` and tell its members (``cancelled``); the caller
    has checked that it may be (``cancel``; the clinic removing a doctor's hours)."""
    previous = consultation.status
    consultation.status = Status.CANCELLED
    consultation.cancelled_at = now
    consultation.cancelled_by_id = by_user_id
    consultation.cancel_reason = reason or None
    session.flush()
    signals.status_changed.send(consultation, session=session, previous=previous, now=now)
    notices.cancelled(session, consultation, now=now)
    return consultation


def finish(session: Session, actor: Actor, consultation_id: int, *, now: datetime) -> Consultation:
    """The consultation's doctor ends the visit («Завершить приём»): in progress → completed.

    Only this (or signing the conclusion) ends a visit: a dropped connection never does.
    ``NotFound`` to a stranger, ``NotPermitted`` to another party, ``NotInProgress`` unless in
    progress; finishing a completed visit changes nothing.
    """
    consultation = get_for(session, actor, consultation_id, lock=True)
    if consultation.status == Status.COMPLETED and access.is_doctor_of(actor, consultation):
        return consultation
    access.check_finish(actor, consultation)
    mark_completed(session, consultation, now=now)
    return consultation


def mark_completed(session: Session, consultation: Consultation, *, now: datetime) -> None:
    """Set a consultation completed (keeping the first ``completed_at``) and send
    ``signals.status_changed``; the caller has checked that it may be."""
    previous = consultation.status
    if previous == Status.COMPLETED:
        return
    consultation.status = Status.COMPLETED
    consultation.completed_at = consultation.completed_at or now
    session.flush()
    signals.status_changed.send(consultation, session=session, previous=previous, now=now)


def doctor_schedule(session: Session, actor: Actor, *, start: datetime, end: datetime) -> list[Consultation]:
    """The acting doctor's consultations in a range; ``NotFound`` for anyone without a schedule."""
    if not access.has_schedule(actor):
        raise errors.NotFound(_l("Only doctors have a schedule."))
    return list(
        session.scalars(
            select(Consultation)
            .join(Doctor, Doctor.id == Consultation.doctor_id)
            .where(Doctor.user_id == actor.id, Consultation.starts_at >= start, Consultation.starts_at < end)
            .options(joinedload(Consultation.patient))
            .order_by(Consultation.starts_at)
        )
    )


#: What a member reads as the reason of the consultations their withdrawal of consent cancelled.
CONSENT_WITHDRAWN_REASON = "Согласие на обработку персональных данных отозвано"


@auth_service.consent_withdrawn.connect
def cancel_on_withdrawal(user_id: int, *, session: Session, now: datetime, **_kw) -> list[Consultation]:
    """A member withdrew consent: every consultation of theirs and of the children in their care that
    has not started (planned ones ahead, urgent requests still waiting) is cancelled with
    ``CONSENT_WITHDRAWN_REASON`` (``signals.status_changed`` is sent for each). Consultations under
    way or past stay: the record the law requires is kept."""
    patient_ids = [p.id for p in members.bookable_patients(session, user_id)]
    if not patient_ids:
        return []
    ahead = session.scalars(
        select(Consultation)
        .where(
            Consultation.patient_id.in_(patient_ids),
            or_(
                Consultation.status == Status.WAITING,
                and_(Consultation.status == Status.SCHEDULED, Consultation.starts_at > now),
            ),
        )
        .order_by(Consultation.id)
        .with_for_update()
    ).all()
    for c in ahead:
        previous = c.status
        c.status, c.cancelled_at, c.cancelled_by_id = Status.CANCELLED, now, user_id
        c.cancel_reason = CONSENT_WITHDRAWN_REASON
        session.flush()
        signals.status_changed.send(c, session=session, previous=previous, now=now)
    return list(ahead)

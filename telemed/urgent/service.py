"""The urgent queue's use cases: request, take (claim), duty, the doctors' queue.

Functions take an explicit ``session`` and ``actor`` and never commit: the caller runs writes in
``Database.transaction()``. What people must hear of is written to the outbox in the same
transaction (``urgent.notices``).

Concurrency, on SQLite and PostgreSQL alike:

* one open request per patient: requests of a patient are serialised by a row lock on the patient
  (``FOR UPDATE``; SQLite's write transactions are ``BEGIN IMMEDIATE``), and the partial unique
  index ``uq_consultations_urgent_open_patient`` refuses a second one whatever happens;
* one winner per request: the claim is a single conditional UPDATE (``... WHERE status =
  'waiting'``); its row count decides, every loser gets ``already_claimed``;
* one urgent consultation in progress per doctor: the partial unique index
  ``uq_consultations_urgent_busy_doctor`` refuses a doctor's second claim even when two of their
  claims of different requests race (``busy``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.scheduling import notices as consultation_notices
from telemed.scheduling.models import Consultation, Mode, Status
from telemed.translatable import _l
from telemed.urgent import access, duty, notices, queue, rules
from telemed.urgent.duty import DutyState
from telemed.urgent.models import UrgentRequest
from telemed.urgent.notices import Action
from telemed.urgent.settings import UrgentSettings

OPEN = (Status.WAITING, Status.IN_PROGRESS)


def request(
    session: Session,
    actor: Actor,
    *,
    patient_id: int | None,
    reason: str,
    now: datetime,
    settings: UrgentSettings,
    consent_version: str,
) -> Consultation:
    """An urgent request for ``patient_id`` (default: the actor) under the booking's contract
    rules (``rules.check_request``); the specialty follows from the patient's age today.
    ``AlreadyWaiting`` when the patient has one waiting or in progress. The on-duty doctors of
    the specialty hear of it (``urgent_queue`` added)."""
    patient = (
        members.own_patient(session, actor.id) if patient_id is None else session.get(Patient, patient_id)
    )
    if patient is None:
        raise errors.NotGuardian(_l("No patient to ask for: choose yourself or a child in your care."))
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    day = now.astimezone(settings.clinic_tz).date()
    specialty = BY_CODE[rules.specialty_for(patient.birth_date, day)]
    policy = members.active_policy(session, patient.id, day)
    rules.check_request(
        rules.RequestFacts(
            requester_is_patient=patient.user_id == actor.id,
            requester_is_guardian=members.is_guardian(session, actor.id, patient.id),
            consent_accepted=auth_service.current_consent(session, actor.id, consent_version) is not None,
            policy=members.to_facts(policy) if policy else None,
            specialty=specialty,
        )
    )
    assert policy is not None  # check_request refuses a patient without an active policy
    if session.scalar(select(_open_for(patient.id))):
        raise errors.AlreadyWaiting()
    c = Consultation(
        patient=patient,
        booked_by_id=actor.id,
        doctor_id=None,
        slot_id=None,
        contract_id=policy.contract_id,
        specialty_code=specialty.code,
        mode=Mode.URGENT,
        status=Status.WAITING,
        reason=reason,
        starts_at=now,  # until a doctor takes it: the request's time (see Consultation)
        ends_at=now + settings.duration,
        created_at=now,
    )
    session.add(c)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request for the patient won
        raise errors.AlreadyWaiting() from exc
    session.add(UrgentRequest(consultation_id=c.id, escalation_level=0))
    session.flush()
    notices.tell_doctors(session, Action.ADDED, c, 0, now=now, settings=settings)
    return c


def open_request_of(session: Session, actor: Actor, patient_id: int | None) -> int | None:
    """The id of the urgent consultation waiting or in progress for ``patient_id`` (default: the
    actor), if the actor may ask for that patient; None otherwise."""
    patient = (
        members.own_patient(session, actor.id) if patient_id is None else session.get(Patient, patient_id)
    )
    if patient is None or not (
        patient.user_id == actor.id or members.is_guardian(session, actor.id, patient.id)
    ):
        return None
    return session.scalar(
        select(Consultation.id).where(
            Consultation.patient_id == patient.id,
            Consultation.mode == Mode.URGENT,
            Consultation.status.in_(OPEN),
        )
    )


def _open_for(patient_id: int):
    return exists().where(
        Consultation.patient_id == patient_id,
        Consultation.mode == Mode.URGENT,
        Consultation.status.in_(OPEN),
    )


def claim(
    session: Session, actor: Actor, consultation_id: int, *, now: datetime, settings: UrgentSettings
) -> Consultation:
    """The acting doctor takes a waiting request of their specialty: they become its doctor, it
    starts now and ends ``settings.duration`` later; its room and chat open for both.

    ``NotFound`` unless the actor is a doctor of the request's specialty (and for an unknown id);
    ``Busy`` while they have an urgent consultation in progress; ``AlreadyClaimed`` when another
    doctor took it first; ``ConsultationCancelled`` when its member cancelled it. The member hears
    who is coming (``urgent_status``), the doctors that it was taken (``urgent_queue`` claimed), and
    the requests behind it their new places.
    """
    doctor = duty.urgent_doctor(session, actor.id)
    c = session.get(Consultation, consultation_id)
    if (
        c is None
        or c.mode != Mode.URGENT
        or not access.may_claim(actor, doctor.specialty_code if doctor else None, c.specialty_code)
    ):
        raise errors.NotFound(_l("Urgent request not found."))
    assert doctor is not None  # may_claim holds only for a doctor with a doctor row
    try:  # the row count picks the winner; the busy index refuses a doctor's second consultation
        taken = session.execute(
            update(Consultation)
            .where(
                Consultation.id == consultation_id,
                Consultation.mode == Mode.URGENT,
                Consultation.status == Status.WAITING,
            )
            .values(
                doctor_id=doctor.id,
                status=Status.IN_PROGRESS,
                starts_at=now,
                ends_at=now + settings.duration,
            )
            .execution_options(synchronize_session=False)
        )
    except IntegrityError as exc:  # an urgent consultation of this doctor is in progress
        raise errors.Busy() from exc
    session.refresh(c)
    if not taken.rowcount:  # type: ignore[attr-defined]
        if c.status == Status.CANCELLED:
            raise errors.ConsultationCancelled(_l("The patient cancelled this request."))
        raise errors.AlreadyClaimed()
    level = queue.level_of(session, c.id)
    notices.tell_member(session, c, None, now=now)
    notices.tell_doctors(session, Action.CLAIMED, c, level, now=now, settings=settings)
    notices.queue_moved(session, c.specialty_code, now=now)
    consultation_notices.tell_member(session, c, "urgent_taken", now=now, once=True)
    return c


def after_status_change(
    session: Session, c: Consultation, previous: str, *, now: datetime, settings: UrgentSettings
) -> None:
    """Tell people what a status change made elsewhere (``scheduling``) means for the queue: a
    request cancelled while waiting leaves it; a finished urgent visit frees its doctor."""
    if c.mode != Mode.URGENT:
        return
    if previous == Status.WAITING and c.status == Status.CANCELLED:
        notices.tell_member(session, c, None, now=now)
        notices.tell_doctors(
            session, Action.CANCELLED, c, queue.level_of(session, c.id), now=now, settings=settings
        )
        notices.queue_moved(session, c.specialty_code, now=now)
    elif previous == Status.IN_PROGRESS and c.status == Status.COMPLETED:
        notices.tell_member(session, c, None, now=now)
        notices.queue_moved(session, c.specialty_code, now=now)


def doctor_of(session: Session, actor: Actor) -> Doctor:
    """The acting therapist's or pediatrician's doctor row; ``NotPermitted`` for anyone else."""
    doctor = duty.urgent_doctor(session, actor.id)
    access.check_urgent_doctor(actor, doctor.specialty_code if doctor else None)
    assert doctor is not None
    return doctor


def set_duty(
    session: Session, actor: Actor, on: bool, *, now: datetime, settings: UrgentSettings
) -> DutyState:
    """A therapist or pediatrician goes on or off duty (``NotPermitted`` for anyone else). When
    that changes the doctors on duty, the waiting members get their new estimates."""
    doctor = doctor_of(session, actor)
    if duty.switch(session, doctor.id, on, now=now, grace=settings.grace):
        notices.queue_moved(session, doctor.specialty_code, now=now)
    return duty.state(session, doctor.id, now=now, grace=settings.grace)


def duty_of(session: Session, actor: Actor, *, now: datetime, settings: UrgentSettings) -> DutyState:
    """The acting doctor's duty as it counts now (``NotPermitted`` for anyone else)."""
    return duty.state(session, doctor_of(session, actor).id, now=now, grace=settings.grace)


def queue_for(session: Session, actor: Actor, *, now: datetime, settings: UrgentSettings) -> list[dict]:
    """The waiting requests of the acting doctor's specialty, oldest first (``NotPermitted`` for
    anyone but a therapist or pediatrician)."""
    doctor = doctor_of(session, actor)
    today = now.astimezone(settings.clinic_tz).date()
    return queue.listing(session, doctor.specialty_code, today)


def expire_duty(session: Session, *, now: datetime, settings: UrgentSettings) -> list[str]:
    """Switch off stale duty (``duty.expire``); the waiting members of the specialties concerned
    get their new estimates. Returns those specialties."""
    changed = duty.expire(session, now=now, grace=settings.grace)
    for specialty in changed:
        notices.queue_moved(session, specialty, now=now)
    return changed

"""What the queue tells people, written to the outbox in the transaction of its cause
(``notify.outbox``), so it is sent only if the cause commits, and reaches the clients of every
serving process whichever process (or the worker) caused it.

* ``urgent_queue`` ``{action, request}`` to doctors (their user rooms): the specialty's doctors on
  duty, or every doctor of the specialty once the request has escalated.
* ``urgent_status`` ``{consultation_id, status, queue, doctor}`` to a request's consultation room
  (its member's page, after ``join``) whenever its place, estimate or status changes; the places
  of a whole queue are one fan-out row (``queue_moved``), expanded when sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.catalog.models import Doctor
from telemed.notify import outbox
from telemed.scheduling.models import Consultation, Status
from telemed.sockets import room, user_room
from telemed.urgent import duty, queue
from telemed.urgent.queue import QueueState
from telemed.urgent.settings import UrgentSettings

QUEUE_EVENT = "urgent_queue"
STATUS_EVENT = "urgent_status"
QUEUE_MOVED = "urgent_queue_moved"  # a fan-out row of the outbox, never sent as such (``places``)


class Action(StrEnum):
    """What happened to a request, as ``urgent_queue`` tells doctors."""

    ADDED = "added"
    CLAIMED = "claimed"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"


def status_payload(c: Consultation, state: QueueState | None) -> dict:
    return {
        "consultation_id": c.id,
        "status": c.status,
        "queue": state.as_dict() if state else None,
        "doctor": queue.doctor_json(c.doctor) if c.doctor is not None else None,
    }


def tell_member(session: Session, c: Consultation, state: QueueState | None, *, now: datetime) -> None:
    """``urgent_status`` to the request's room."""
    outbox.write(session, STATUS_EVENT, room(c.id), status_payload(c, state), now=now)


def doctors_to_tell(
    session: Session, specialty: str, level: int, *, now: datetime, settings: UrgentSettings
) -> list[int]:
    """User ids: every doctor of the specialty for an escalated request, else those on duty."""
    if level >= 1:
        return list(
            session.scalars(
                select(Doctor.user_id).where(
                    Doctor.specialty_code == specialty, Doctor.is_active, Doctor.user_id.is_not(None)
                )
            )
        )
    return duty.on_duty_users(session, specialty, now=now, grace=settings.grace)


def tell_doctors(
    session: Session,
    action: Action,
    c: Consultation,
    level: int,
    *,
    now: datetime,
    settings: UrgentSettings,
) -> None:
    """``urgent_queue`` ``{action, request}`` to the doctors who should hear of it."""
    payload = {
        "action": action.value,
        "request": queue.request_json(c, level, now.astimezone(settings.clinic_tz).date()),
    }
    for user_id in doctors_to_tell(session, c.specialty_code, level, now=now, settings=settings):
        outbox.write(session, QUEUE_EVENT, user_room(user_id), payload, now=now)


def queue_moved(session: Session, specialty: str, *, now: datetime) -> None:
    """Every waiting request of the specialty gets its ``urgent_status`` (places or estimates
    moved). Written as one fan-out row (``outbox``): the places are computed when it is sent
    (``places``), so the cause's transaction stays short however long the queue is, and the
    events written before it (the member whose request was taken) go first."""
    outbox.write(session, QUEUE_MOVED, specialty_key(specialty), {"specialty": specialty}, now=now)


def specialty_key(specialty: str) -> str:
    return f"specialty:{specialty}"


def places(
    session: Session, specialty: str, *, now: datetime, settings: UrgentSettings
) -> list[outbox.Message]:
    """The expansion of ``queue_moved``: ``urgent_status`` to each waiting request, with its
    place as of ``now``, oldest first."""
    return [
        (
            STATUS_EVENT,
            room(w.id),
            {
                "consultation_id": w.id,
                "status": Status.WAITING.value,
                "queue": state.as_dict(),
                "doctor": None,
            },
        )
        for w, state in queue.states(session, specialty, now=now, settings=settings)
    ]

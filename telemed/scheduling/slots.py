"""Free slots of a doctor."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload

from telemed import errors
from telemed.catalog.models import Doctor
from telemed.scheduling.models import Consultation, Slot, Status
from telemed.translatable import _l

MAX_SLOT_RANGE = timedelta(days=62)


def slot_is_free():
    """SQL condition: no non-cancelled consultation holds ``Slot``."""
    return ~exists().where(Consultation.slot_id == Slot.id, Consultation.status != Status.CANCELLED)


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
        raise errors.ValidationFailed(_l("'to' must be after 'from'."), details={"field": "to"})
    if end - start > MAX_SLOT_RANGE:
        raise errors.ValidationFailed(_l("The range may span at most 62 days."), details={"field": "to"})
    doctor = session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        raise errors.NotFound(_l("Doctor not found."))
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


def earliest_free_slot(session: Session, specialty: str, *, after: datetime) -> Slot | None:
    """The earliest free slot of an active doctor of ``specialty`` starting after ``after`` (its
    doctor loaded), or None."""
    return session.scalar(
        select(Slot)
        .join(Doctor, Doctor.id == Slot.doctor_id)
        .where(
            Doctor.specialty_code == specialty,
            Doctor.is_active,
            Slot.starts_at > after,
            slot_is_free(),
        )
        .order_by(Slot.starts_at, Slot.id)
        .limit(1)
        .options(joinedload(Slot.doctor))
    )

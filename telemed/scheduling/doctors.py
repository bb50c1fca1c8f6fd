"""Doctors as members choose them: experience, education and the next free slot.

A constant number of SQL statements per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed import errors
from telemed.catalog.models import Doctor
from telemed.catalog.rules import experience_years
from telemed.catalog.specialties import BY_CODE
from telemed.scheduling.models import Slot
from telemed.scheduling.slots import slot_is_free
from telemed.translatable import _l


@dataclass(frozen=True)
class DoctorCard:
    """A doctor as listed to members."""

    doctor: Doctor
    experience_years: int
    next_free_slot: datetime | None


def doctors_for(session: Session, specialty: str, *, today: date, now: datetime) -> list[DoctorCard]:
    """Active doctors of ``specialty``, most experienced first, with their next free slot."""
    if specialty not in BY_CODE:
        raise errors.ValidationFailed(_l("Unknown specialty %(specialty)s.", specialty=repr(specialty)))
    next_free = (
        select(func.min(Slot.starts_at))
        .where(Slot.doctor_id == Doctor.id, Slot.starts_at > now, slot_is_free())
        .correlate(Doctor)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Doctor, next_free)
        .where(Doctor.specialty_code == specialty, Doctor.is_active)
        .order_by(Doctor.career_start, Doctor.full_name)
    ).all()
    return [DoctorCard(d, experience_years(d.career_start, today), nxt) for d, nxt in rows]

"""The urgent duty roster in the admin area: planned shifts of therapists and pediatricians, and
the coverage of the next days per specialty with its gaps (the service is 24/7: any hour nobody is
planned for is a gap). What the urgent queue reads of it is ``urgent.roster``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from telemed import errors
from telemed.admin import access
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import URGENT_CODES
from telemed.dates import iso
from telemed.translatable import _l
from telemed.urgent.models import PlannedShift

MAX_SHIFT = timedelta(hours=36)
COVERAGE_DAYS = 7
HOUR = timedelta(hours=1)


def add_shift(
    session: Session,
    actor: Actor,
    *,
    doctor_id: int,
    specialty: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> PlannedShift:
    """Plan a doctor of ``specialty`` (therapist | pediatrician) on urgent duty; the shift must end
    after it starts, last at most 36 hours, and not overlap the doctor's other shifts."""
    access.check_admin(actor)
    if specialty not in URGENT_CODES:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be one of %(choices)s.", name="specialty", choices=", ".join(URGENT_CODES)),
            details={"field": "specialty"},
        )
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise errors.NotFound(_l("Doctor not found."))
    if doctor.specialty_code != specialty or not doctor.is_active:
        raise errors.ValidationFailed(
            _l("Only an active doctor of this specialty can be on its duty."), details={"field": "doctor_id"}
        )
    if not starts_at < ends_at <= starts_at + MAX_SHIFT:
        raise errors.ValidationFailed(
            _l("A shift ends after it starts, within 36 hours."), details={"field": "ends_at"}
        )
    if ends_at <= now:
        raise errors.ValidationFailed(_l("The shift is over already."), details={"field": "ends_at"})
    overlap = session.scalar(
        select(PlannedShift.id).where(
            PlannedShift.doctor_id == doctor_id,
            PlannedShift.starts_at < ends_at,
            PlannedShift.ends_at > starts_at,
        )
    )
    if overlap is not None:
        raise errors.Conflict(_l("The doctor already has a shift at that time."))
    shift = PlannedShift(
        doctor_id=doctor_id, specialty_code=specialty, starts_at=starts_at, ends_at=ends_at, created_at=now
    )
    session.add(shift)
    session.flush()
    return shift


def remove_shift(session: Session, actor: Actor, shift_id: int, *, now: datetime) -> PlannedShift | None:
    """Take a shift off the roster. A shift yet to start is deleted (returns None); one under way
    is cut short to end ``now`` (returned), so the plan keeps what happened. ``NotFound`` for an
    unknown id; ``Conflict`` for a shift that is over (the plan of the past is kept as it was)."""
    access.check_admin(actor)
    shift = session.get(PlannedShift, shift_id, with_for_update=True)
    if shift is None:
        raise errors.NotFound(_l("Shift not found."))
    if shift.ends_at <= now:
        raise errors.Conflict(_l("The shift is over already."))
    if shift.starts_at >= now:
        session.delete(shift)
        session.flush()
        return None
    shift.ends_at = now
    session.flush()
    return shift


def shifts(session: Session, actor: Actor, *, start: datetime, end: datetime) -> list[PlannedShift]:
    """Shifts overlapping ``[start, end)``, by start."""
    access.check_admin(actor)
    return list(
        session.scalars(
            select(PlannedShift)
            .where(PlannedShift.ends_at > start, PlannedShift.starts_at < end)
            .options(joinedload(PlannedShift.doctor))
            .order_by(PlannedShift.starts_at, PlannedShift.id)
        )
    )


def shift_json(p: PlannedShift) -> dict:
    return {
        "id": p.id,
        "doctor_id": p.doctor_id,
        "doctor_name": p.doctor.full_name,
        "specialty": p.specialty_code,
        "starts_at": iso(p.starts_at),
        "ends_at": iso(p.ends_at),
    }


def _covered(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    reach = start
    for a, b in sorted(intervals):
        if a > reach:
            return False
        reach = max(reach, b)
        if reach >= end:
            return True
    return reach >= end


def coverage(session: Session, actor: Actor, *, now: datetime, days: int = COVERAGE_DAYS) -> dict:
    """Per urgent specialty, for each hour from the current one for ``days``: how many doctors are
    planned (``planned``), and the gaps (hours the shifts do not cover whole, merged into ranges)."""
    start = now.replace(minute=0, second=0, microsecond=0)
    hours = days * 24
    end = start + hours * HOUR
    planned = shifts(session, actor, start=start, end=end)
    out: dict = {"from": iso(start), "hours": hours, "specialties": {}}
    for code in URGENT_CODES:
        mine = [(p.starts_at, p.ends_at) for p in planned if p.specialty_code == code]
        counts: list[int] = []
        gaps: list[tuple[datetime, datetime]] = []
        for i in range(hours):
            h0, h1 = start + i * HOUR, start + (i + 1) * HOUR
            touching = [(a, b) for a, b in mine if a < h1 and b > h0]
            counts.append(len(touching))
            if not _covered(touching, h0, h1):
                if gaps and gaps[-1][1] == h0:
                    gaps[-1] = (gaps[-1][0], h1)
                else:
                    gaps.append((h0, h1))
        out["specialties"][code] = {
            "planned": counts,
            "gaps": [{"starts_at": iso(a), "ends_at": iso(b)} for a, b in gaps],
        }
    return out

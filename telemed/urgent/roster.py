"""The duty roster as the urgent queue reads it: is anyone planned on duty now, and from when.

The roster (``PlannedShift``, kept by ``admin.roster``) is a plan, not live duty. The queue uses it
only to be honest with a waiting member: when no doctor of the specialty is planned at this
moment, the status says so, and until when (the next planned shift's start). A clinic that keeps no
roster for a specialty (no shift in the last ``IN_USE_WINDOW``) is told nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed.dates import iso
from telemed.urgent.models import PlannedShift

IN_USE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class CoverageGap:
    """No doctor is planned now; ``until``: the next planned shift's start (None: none planned)."""

    until: datetime | None

    def as_dict(self) -> dict:
        return {"until": iso(self.until) if self.until else None}


def gap_now(session: Session, specialty: str, *, now: datetime) -> CoverageGap | None:
    """A ``CoverageGap`` when the roster of ``specialty`` is kept and plans nobody at ``now``."""
    shifts = PlannedShift.specialty_code == specialty
    in_use = session.scalar(
        select(func.count()).select_from(
            select(PlannedShift.id)
            .where(shifts, PlannedShift.ends_at > now - IN_USE_WINDOW)
            .limit(1)
            .subquery()
        )
    )
    if not in_use:
        return None
    covering = session.scalar(
        select(PlannedShift.id)
        .where(shifts, PlannedShift.starts_at <= now, PlannedShift.ends_at > now)
        .limit(1)
    )
    if covering is not None:
        return None
    return CoverageGap(
        until=session.scalar(
            select(func.min(PlannedShift.starts_at)).where(shifts, PlannedShift.starts_at > now)
        )
    )

"""How a consultation is held (``Mode``) and where it stands (``Status``)."""

from __future__ import annotations

from enum import StrEnum

from telemed.catalog.specialties import Mode

__all__ = ["OPEN_STATUSES", "Mode", "Status"]


class Status(StrEnum):
    """Scheduled → in progress → completed; or cancelled, or missed (no show)."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


#: Statuses of a consultation that still lies ahead or is under way.
OPEN_STATUSES = frozenset({Status.SCHEDULED, Status.IN_PROGRESS})

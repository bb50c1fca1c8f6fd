"""How a consultation is held (``Mode``) and where it stands (``Status``)."""

from __future__ import annotations

from enum import StrEnum

from telemed.catalog.specialties import Mode

__all__ = ["OPEN_STATUSES", "ROOM_STATUSES", "Mode", "Status"]


class Status(StrEnum):
    """Planned: scheduled → in progress → completed; or cancelled, or missed (no show).
    Urgent: waiting (in the queue, no doctor yet) → in progress (a doctor took it) → completed; or
    cancelled while waiting."""

    WAITING = "waiting"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


#: Statuses of a consultation that still lies ahead or is under way.
OPEN_STATUSES = frozenset({Status.WAITING, Status.SCHEDULED, Status.IN_PROGRESS})
#: Statuses of a consultation whose video room may be open (a waiting request has no doctor yet). A
#: completed one keeps its room until the window ends: signing or finishing does not cut a call.
ROOM_STATUSES = frozenset({Status.SCHEDULED, Status.IN_PROGRESS, Status.COMPLETED})

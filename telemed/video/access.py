"""When a consultation's video room is open, and who starts the consultation: pure functions.

The room opens ``early_minutes`` before the start and closes 60 minutes after the scheduled end.
Completing the consultation (the doctor finishes it or signs the conclusion) does not close it:
the call goes on, and either side may come back, until the window ends. A cancelled or missed
consultation has no room. An urgent request's room opens when a doctor takes it (its start is the pick-up
time); while it waits there is no room yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telemed import errors
from telemed.scheduling.status import ROOM_STATUSES, Status
from telemed.translatable import _l

LATE_MINUTES = 60


def room_open(
    *, status: str, starts_at: datetime, ends_at: datetime, now: datetime, early_minutes: int
) -> bool:
    if status not in ROOM_STATUSES:
        return False
    return starts_at - timedelta(minutes=early_minutes) <= now <= ends_at + timedelta(minutes=LATE_MINUTES)


def require_room_open(
    *, status: str, starts_at: datetime, ends_at: datetime, now: datetime, early_minutes: int
) -> None:
    """Raise ``ConsultationCancelled`` or ``RoomClosed`` unless signaling is allowed now."""
    if status == Status.CANCELLED:
        raise errors.ConsultationCancelled()
    if status == Status.WAITING:
        raise errors.RoomClosed(_l("The video room opens when a doctor takes the request."))
    if not room_open(
        status=status, starts_at=starts_at, ends_at=ends_at, now=now, early_minutes=early_minutes
    ):
        opens = starts_at - timedelta(minutes=early_minutes)
        raise errors.RoomClosed(
            _l(
                "The video room opens %(early)s minutes before the start and closes %(late)s minutes after the end.",
                early=early_minutes,
                late=LATE_MINUTES,
            )
            if now < opens
            else _l("The video room is closed."),
            details={"opens_at": opens.isoformat(timespec="seconds")},
        )


def should_start(*, role_is_doctor: bool, status: str, is_open: bool) -> bool:
    """The doctor entering an open room starts the consultation."""
    return role_is_doctor and is_open and status == Status.SCHEDULED

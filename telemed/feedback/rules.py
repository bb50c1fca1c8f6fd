"""The rules of rating a consultation and of handling complaints: pure decisions over facts."""

from __future__ import annotations

from datetime import datetime, timedelta

from telemed.catalog.specialties import PSYCHOLOGIST
from telemed.scheduling.status import Status

HAPPENED = ("yes", "doctor_absent", "connection_failed")
SCORES = range(1, 6)
LOW_SCORE = 2  # this or lower opens a complaint
EDIT_WINDOW = timedelta(days=7)
COMMENT_MAX = 2000
NOTE_MAX = 4000
COMPLAINT_STATUSES = ("open", "in_progress", "closed")
#: A complaint's allowed moves (``BadTransition`` otherwise).
TRANSITIONS = {"open": {"in_progress", "closed"}, "in_progress": {"closed"}, "closed": set()}


def has_ended(status: str, ends_at: datetime, now: datetime) -> bool:
    """Rated once over: completed or missed, or its time is up (a cancelled one never happened)."""
    if status in (Status.COMPLETED, Status.NO_SHOW):
        return True
    return status in (Status.SCHEDULED, Status.IN_PROGRESS) and ends_at <= now


def editable(created_at: datetime | None, now: datetime) -> bool:
    """A rating is changed for ``EDIT_WINDOW`` after it was first given."""
    return created_at is None or now < created_at + EDIT_WINDOW


def credible(happened: str, doctor_joined: bool) -> bool | None:
    """ "The doctor did not come" is credible when no doctor entered the room; None otherwise."""
    return not doctor_joined if happened == "doctor_absent" else None


def complaint_reason(happened: str, doctor_score: int | None, service_score: int | None) -> str | None:
    """What opens a complaint: a visit that did not happen, or a score of ``LOW_SCORE`` or lower."""
    if happened != "yes":
        return happened
    if any(score is not None and score <= LOW_SCORE for score in (doctor_score, service_score)):
        return "low_score"
    return None


def returns_quota(specialty: str, happened: str, is_credible: bool | None) -> bool:
    """A psychologist consultation the doctor credibly did not come to gives the quota back."""
    return specialty == PSYCHOLOGIST and happened == "doctor_absent" and bool(is_credible)


def may_move(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, set())

"""The second opinion's rules: pure decisions over facts."""

from __future__ import annotations

from datetime import datetime

STATUSES = ("submitted", "contacted", "in_review", "report_issued", "closed")
#: The only moves (``BadTransition`` otherwise): one step forward at a time.
TRANSITIONS = dict(zip(STATUSES, STATUSES[1:], strict=False))
CHANNELS = ("phone", "chat", "email")
CONDITION_MAX, QUESTION_MAX, NOTE_MAX, CONTACT_TEXT_MAX = 2000, 4000, 4000, 200


def category(icd10: str) -> str:
    """The three-character ICD-10 category: "once per condition" means per category (J06.9 → J06)."""
    return icd10.replace(".", "")[:3].upper()


def may_move(current: str, new: str) -> bool:
    return TRANSITIONS.get(current) == new


def takes_documents(status: str, *, by_curator: bool) -> bool:
    """The member adds documents until the report is issued; a curator (the report) until closed."""
    return status != "closed" and (by_curator or status != "report_issued")


def is_overdue(status: str, contact_due_at: datetime, escalated_at: datetime | None, now: datetime) -> bool:
    """Not contacted by the deadline and not yet escalated."""
    return status == "submitted" and escalated_at is None and now > contact_due_at

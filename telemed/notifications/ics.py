"""The calendar attachment of booking e-mails (RFC 5545): add the consultation, or remove it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from icalendar import Calendar, Event

PRODID = "-//telemed//consultations//RU"


def consultation_event(
    params: Mapping[str, object], *, summary: str, url: str, cancelled: bool, now: datetime
) -> bytes:
    """A one-event calendar for the consultation in ``params`` (``consultation_id``, ``starts_at``,
    ``ends_at``, ISO): ``METHOD:PUBLISH`` for a booking, ``METHOD:CANCEL`` with the same UID (and a
    higher sequence) for a cancellation, so calendars drop the event they added."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"consultation-{params['consultation_id']}@telemed")
    event.add("dtstamp", now)
    event.add("dtstart", datetime.fromisoformat(str(params["starts_at"])))
    event.add("dtend", datetime.fromisoformat(str(params["ends_at"])))
    event.add("summary", summary)
    event.add("url", url)
    event.add("sequence", 1 if cancelled else 0)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()

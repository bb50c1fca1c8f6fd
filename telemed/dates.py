"""Calendar arithmetic shared by the domain rules (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def rfc3339(moment: datetime) -> str:
    """``moment`` (timezone-aware) as RFC 3339 with seconds precision. An offset that is not whole
    minutes (a zone's local mean time before standard time, e.g. Moscow's +02:30:17 in 1900) has no
    RFC 3339 form, so such a moment is written in UTC."""
    if moment.tzinfo is UTC:  # the common case, read from the database
        return moment.isoformat(timespec="seconds")
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


def iso(moment: datetime | None) -> str | None:
    """``rfc3339(moment)``, or None for no moment: how the API and the events write date-times."""
    return rfc3339(moment) if moment else None


def whole_years(since: date, day: date) -> int:
    """Whole years from ``since`` to ``day`` (an age; a 29 February start counts from 1 March)."""
    years = day.year - since.year
    if (day.month, day.day) < (since.month, since.day):
        years -= 1
    return years

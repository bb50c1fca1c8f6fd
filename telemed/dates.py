"""Calendar arithmetic shared by the domain rules (pure)."""

from __future__ import annotations

from datetime import date


def whole_years(since: date, day: date) -> int:
    """Whole years from ``since`` to ``day`` (an age; a 29 February start counts from 1 March)."""
    years = day.year - since.year
    if (day.month, day.day) < (since.month, since.day):
        years -= 1
    return years

"""Facts about doctors as pure functions."""

from __future__ import annotations

from datetime import date

from telemed.dates import whole_years


def experience_years(career_start: date, today: date) -> int:
    """Whole years of practice since ``career_start`` (never negative)."""
    return max(0, whole_years(career_start, today))

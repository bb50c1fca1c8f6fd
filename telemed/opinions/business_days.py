"""Business days by the Russian production calendar (weekends, public holidays, days off moved by
the government's yearly decree and the Saturdays worked instead), from the maintained ``holidays``
package."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=8)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=[year - 1, year, year + 1])


def is_working_day(day: date) -> bool:
    return bool(_calendar(day.year).is_working_day(day))


def next_working_day(day: date) -> date:
    """The first working day after ``day``."""
    nxt = day + timedelta(days=1)
    while not is_working_day(nxt):
        nxt += timedelta(days=1)
    return nxt


def contact_deadline(moment: datetime, tz: ZoneInfo) -> datetime:
    """Within one business day: the end of the first working day after the day of ``moment`` (in the
    clinic's zone ``tz``), as an aware UTC-comparable moment. A request on Friday is due on Monday
    night; one on 30 December 2026 on 11 January 2027 (the New Year holidays and the day off moved
    to 31 December)."""
    day = next_working_day(moment.astimezone(tz).date())
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)

"""Pure rules of doctors' schedules: the weekly template's shape, and the slots it yields.

Times in a template are wall-clock times of its zone; slots are UTC. A day's hours are walked in
wall-clock steps of ``slot_minutes``; each start is converted with ``zoneinfo`` (a start that does
not exist on a spring-forward night is skipped; an ambiguous one on a fall-back night is its first
occurrence), and a slot lasts ``slot_minutes`` of real time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from telemed import errors
from telemed.translatable import _l

SLOT_MIN, SLOT_MAX = 5, 120
HORIZON_DAYS, HORIZON_MAX = 28, 366
_HHMM = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")
ON_BOOKED = ("keep", "cancel")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Hours:
    """One range of a weekday, in minutes from midnight (``end`` up to 1440: "24:00")."""

    weekday: int  # 0 Monday … 6 Sunday
    start: int
    end: int

    def as_dict(self) -> dict:
        return {"weekday": self.weekday, "start": _hhmm(self.start), "end": _hhmm(self.end)}


@dataclass(frozen=True)
class Template:
    slot_minutes: int
    timezone: str
    days: tuple[Hours, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict:
        return {
            "slot_minutes": self.slot_minutes,
            "timezone": self.timezone,
            "days": [d.as_dict() for d in self.days],
        }


def _invalid(message, field: str) -> errors.DomainError:
    return errors.ValidationFailed(message, details={"field": field})


def _minutes(value: Any, field: str, *, end: bool = False) -> int:
    """``HH:MM`` as minutes from midnight; an end may be ``24:00`` (the day's end)."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None or (match[3] and not end):
        raise _invalid(_l("'%(name)s' must be a time HH:MM.", name=field), field)
    return 24 * 60 if match[3] else int(match[1]) * 60 + int(match[2])


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the zone files' names: slow, so once


def valid_zone(name: Any) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64 or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_template(data: Any, *, default_zone: str) -> Template:
    """Read ``{slot_minutes, timezone?, days: [{weekday, start, end}]}``; ``ValidationFailed`` naming
    the field otherwise (slot length 5–120 minutes, start before end, a real IANA zone, hours of one
    weekday not overlapping)."""
    if not isinstance(data, dict):
        raise _invalid(_l("The template must be an object."), "days")
    minutes = data.get("slot_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not SLOT_MIN <= minutes <= SLOT_MAX:
        raise _invalid(
            _l("The slot length must be %(lo)s to %(hi)s minutes.", lo=SLOT_MIN, hi=SLOT_MAX), "slot_minutes"
        )
    zone = data.get("timezone")
    zone = default_zone if zone is None or zone == "" else zone
    if not valid_zone(zone):
        raise _invalid(_l("Unknown time zone: use an IANA name such as Europe/Moscow."), "timezone")
    raw_days = data.get("days")
    if not isinstance(raw_days, list) or len(raw_days) > 70:
        raise _invalid(_l("'days' must be a list of at most 70 entries."), "days")
    days = []
    for i, raw in enumerate(raw_days):
        if not isinstance(raw, dict):
            raise _invalid(_l("Each day must be an object."), f"days[{i}]")
        weekday = raw.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise _invalid(_l("The weekday must be 0 (Monday) to 6 (Sunday)."), f"days[{i}].weekday")
        start = _minutes(raw.get("start"), f"days[{i}].start")
        end = _minutes(raw.get("end"), f"days[{i}].end", end=True)
        if start >= end:
            raise _invalid(_l("The start must be before the end."), f"days[{i}].end")
        days.append(Hours(weekday, start, end))
    days.sort(key=lambda h: (h.weekday, h.start))
    for a, b in zip(days, days[1:], strict=False):
        if a.weekday == b.weekday and b.start < a.end:
            raise _invalid(_l("The hours of one weekday overlap."), "days")
    return Template(minutes, zone, tuple(days))


def from_row(slot_minutes: int, timezone: str, days: list[dict]) -> Template:
    """A stored template (validated when it was saved)."""
    return parse_template(
        {"slot_minutes": slot_minutes, "timezone": timezone, "days": days}, default_zone=timezone
    )


def _day_starts(template: Template, day: date) -> Iterator[datetime]:
    zone, step = template.zone, timedelta(minutes=template.slot_minutes)
    for hours in template.days:
        if hours.weekday != day.weekday():
            continue
        midnight = datetime.combine(day, time.min)
        local = midnight + timedelta(minutes=hours.start)
        last = midnight + timedelta(minutes=hours.end) - step
        while local <= last:
            aware = local.replace(tzinfo=zone)
            utc = aware.astimezone(UTC)
            if utc.astimezone(zone).replace(tzinfo=None) == local:  # skip a start that does not exist
                yield utc
            local += step


def slots_between(
    template: Template, *, start: datetime, end: datetime, days_off: Iterable[tuple[date, date]] = ()
) -> list[tuple[datetime, datetime]]:
    """The template's slots ``(starts_at, ends_at)`` (UTC) starting in ``[start, end)``, but none on a
    local day within one of ``days_off`` (``(first, last)`` inclusive)."""
    zone, length = template.zone, timedelta(minutes=template.slot_minutes)
    off = list(days_off)
    day, last_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    found: list[tuple[datetime, datetime]] = []
    while day <= last_day:
        if not any(first <= day <= last for first, last in off):
            found.extend((s, s + length) for s in _day_starts(template, day) if start <= s < end)
        day += timedelta(days=1)
    return found


def within_hours(
    template: Template | None,
    starts_at: datetime,
    ends_at: datetime,
    days_off: Iterable[tuple[date, date]] = (),
) -> bool:
    """Whether a slot lies inside the template's hours of its local day (any hours without a
    template), off no day off (days in ``zone``: the template's)."""
    zone = template.zone if template is not None else None
    local_start = starts_at.astimezone(zone) if zone else starts_at
    day = local_start.date()
    if any(first <= day <= last for first, last in days_off):
        return False
    if template is None or zone is None:
        return True
    local_end = ends_at.astimezone(zone)
    for hours in template.days:
        if hours.weekday != day.weekday():
            continue
        midnight = datetime.combine(day, time.min, tzinfo=zone)  # wall-clock arithmetic below
        open_at = midnight + timedelta(minutes=hours.start)
        close_at = midnight + timedelta(minutes=hours.end)
        if open_at <= local_start and local_end <= close_at:
            return True
    return False

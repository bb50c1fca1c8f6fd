"""The limits every input meets, whatever it arrives by (JSON API, page form, Socket.IO event).

Pure functions, no Flask: the API's parsing (``api/parsing.py``), the page views and the socket
events call these, so one rule holds everywhere.

- Ids are positive and fit the database's id columns (``ID_MAX``, PostgreSQL ``integer``); an id
  outside that range names no row, so callers answer it exactly as an unknown id (not found).
- Text has a maximum length and no control characters except line breaks and tabs (PostgreSQL
  refuses NUL; the others have no business in a medical record).
- Dates lie between ``DATE_MIN`` and ``DATE_MAX``, far inside what datetime arithmetic with time
  zone offsets can handle.
- JSON bodies are at most ``TELEMED_MAX_JSON_KB`` and ``JSON_MAX_DEPTH`` levels deep.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from telemed import errors
from telemed.db import ID_MAX as ID_MAX  # the id columns' range, re-exported for input checks
from telemed.translatable import _l

#: An id no row has: what an id outside the database's range stands for.
NO_ROW = 0
DATE_MIN = datetime(1900, 1, 1, tzinfo=UTC)
DATE_MAX = datetime(2200, 1, 1, tzinfo=UTC)
# A day of the years 1900 to 2199 (what check_date accepts) that the calendar has; leap years are
# those divisible by 4 but 1900 and 2100.
_DAY = (
    "((19|2[01])[0-9]{2}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    "|02-(0[1-9]|1[0-9]|2[0-8]))|((19|2[01])(0[48]|[2468][048]|[13579][26])|2000)-02-29)"
)
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)([.][0-9]+)?)?"
_OFFSET = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
#: An ISO 8601 date-time with a UTC offset (seconds optional), years 1900 to 2199.
DATE_TIME_PATTERN = f"^{_DAY}[Tt ]{_TIME}{_OFFSET}$"
#: An ISO 8601 date, or a date-time with or without an offset, years 1900 to 2199.
DAY_OR_MOMENT_PATTERN = f"^{_DAY}([Tt ]{_TIME}{_OFFSET}?)?$"
JSON_MAX_DEPTH = 32
#: What text may not hold, as a regular-expression character range: control characters but tab,
#: line feed and carriage return; the line and paragraph separators; bidirectional overrides (text
#: that reads otherwise than it is stored). Lone surrogates are refused too (JSON ``"\\ud800"``
#: decodes to one, and neither UTF-8 nor the databases can hold it); they are not in this range,
#: which the OpenAPI document publishes and which regular-expression engines over UTF-8 cannot hold.
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: The white space trimming removes from text that passed ``CONTROL_CHARS`` (``str.isspace``).
SPACE_CHARS = r"\t\n\r \x85\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_CONTROL = re.compile(f"[{CONTROL_CHARS}\\ud800-\\udfff]")


def known_id(value: int) -> int:
    """``value`` if a row could have it, else ``NO_ROW`` (so the lookup finds nothing)."""
    return value if 0 < value <= ID_MAX else NO_ROW


def json_number(text: str) -> int | float:
    """A JSON number with a fraction or exponent (``json.loads``'s ``parse_float``): an int when it
    has no fractional part (``3.0``, ``1e3``), as JSON Schema's ``integer`` counts it; else a float."""
    value = float(text)
    return int(value) if value.is_integer() else value


def is_id(value: object) -> bool:
    """A JSON/Socket.IO value that is a whole number (not a bool) a row could have as its id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def clean_text(value: str, field: str, *, max_len: int, strip: bool = True) -> str:
    """``value`` with line breaks normalised (and the ends trimmed); ``ValidationFailed`` when, as
    sent, it is longer than ``max_len`` or holds control characters other than line breaks and tabs
    (or a lone surrogate, which no database can store)."""
    if len(value) > max_len:
        raise errors.ValidationFailed(
            _l("'%(name)s' is longer than %(max_len)s characters.", name=field, max_len=max_len),
            details={"field": field},
        )
    if has_control(value):
        raise errors.ValidationFailed(
            _l("'%(name)s' contains control characters.", name=field), details={"field": field}
        )
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip() if strip else text


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, line feed and carriage return."""
    return bool(_CONTROL.search(text))


def check_date(value: datetime, field: str) -> datetime:
    """``value`` if it is written with a year from 1900 to 2199 (``DATE_MIN`` to ``DATE_MAX``, read
    in the value's own offset, as the OpenAPI pattern ``YEAR_PATTERN`` states it)."""
    if not DATE_MIN.year <= value.year < DATE_MAX.year:
        raise errors.ValidationFailed(
            _l("'%(name)s' must lie between the years 1900 and 2199.", name=field), details={"field": field}
        )
    return value


_LEAP_SECOND = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}):60")


def parse_datetime(text: str, pattern: str = DAY_OR_MOMENT_PATTERN) -> datetime:
    """A date-time written as ``pattern`` allows (a date alone is midnight): ``Z`` or ``z`` for UTC,
    a leap second (``:60``) read as the next second. ``ValueError`` when it is not one, or names no
    day (``2026-02-30``). The result is naive when ``text`` has no offset."""
    if not re.fullmatch(pattern, text):
        raise ValueError(text)
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    leap = _LEAP_SECOND.match(text)
    if leap:
        return datetime.fromisoformat(f"{leap[1]}:59{text[leap.end() :]}") + timedelta(seconds=1)
    return datetime.fromisoformat(text)


def json_depth(value: object) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0); iterative."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children: list[object]
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def escape_like(text: str) -> str:
    """``text`` for a SQL ``LIKE`` pattern with ``escape="\\"``: its ``\\``, ``%`` and ``_`` taken literally."""
    return re.sub(r"([\\%_])", r"\\\1", text)

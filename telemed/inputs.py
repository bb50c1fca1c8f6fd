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
from datetime import UTC, datetime

from telemed import errors
from telemed.db import ID_MAX as ID_MAX  # the id columns' range, re-exported for input checks
from telemed.translatable import _l

#: An id no row has: what an id outside the database's range stands for.
NO_ROW = 0
DATE_MIN = datetime(1900, 1, 1, tzinfo=UTC)
DATE_MAX = datetime(2200, 1, 1, tzinfo=UTC)
JSON_MAX_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")  # keeps \t and \n; \r is folded first


def known_id(value: int) -> int:
    """``value`` if a row could have it, else ``NO_ROW`` (so the lookup finds nothing)."""
    return value if 0 < value <= ID_MAX else NO_ROW


def is_id(value: object) -> bool:
    """A JSON/Socket.IO value that is a whole number (not a bool) a row could have as its id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def clean_text(value: str, field: str, *, max_len: int, strip: bool = True) -> str:
    """``value`` with line breaks normalised (and stripped); ``ValidationFailed`` when it is longer
    than ``max_len`` or holds control characters other than line breaks and tabs."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if strip:
        text = text.strip()
    if len(text) > max_len:
        raise errors.ValidationFailed(
            _l("'%(name)s' is longer than %(max_len)s characters.", name=field, max_len=max_len),
            details={"field": field},
        )
    if _CONTROL.search(text):
        raise errors.ValidationFailed(
            _l("'%(name)s' contains control characters.", name=field), details={"field": field}
        )
    return text


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than line breaks and tabs."""
    return bool(_CONTROL.search(text.replace("\r", "")))


def check_date(value: datetime, field: str) -> datetime:
    """``value`` (timezone-aware) if it lies between ``DATE_MIN`` and ``DATE_MAX``."""
    if not DATE_MIN <= value < DATE_MAX:
        raise errors.ValidationFailed(
            _l("'%(name)s' must lie between the years 1900 and 2199.", name=field), details={"field": field}
        )
    return value


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

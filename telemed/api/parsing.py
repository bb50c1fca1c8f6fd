"""Input parsing for API handlers: every failure is a ``ValidationFailed``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from flask import request

from telemed import errors
from telemed.translatable import _l


def json_body() -> dict:
    """The request's JSON object (an empty body counts as ``{}``; a non-JSON body is a 400)."""
    if not request.is_json:
        if request.content_length or request.get_data(cache=True):
            raise errors.BadRequest(_l("Send a JSON body with 'Content-Type: application/json'."))
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise errors.BadRequest(_l("The body must be a JSON object."))
    return data


def field_str(data: dict, name: str, *, required: bool = True, max_len: int = 2000, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise errors.ValidationFailed(_l("'%(name)s' is required.", name=name), details={"field": name})
        return default
    if not isinstance(value, str):
        raise errors.ValidationFailed(_l("'%(name)s' must be a string.", name=name), details={"field": name})
    value = value.strip()
    if len(value) > max_len:
        raise errors.ValidationFailed(
            _l("'%(name)s' is longer than %(max_len)s characters.", name=name, max_len=max_len),
            details={"field": name},
        )
    if required and not value:
        raise errors.ValidationFailed(_l("'%(name)s' must not be empty.", name=name), details={"field": name})
    return value


@overload
def field_int(data: dict[str, Any], name: str, *, required: Literal[True] = True) -> int: ...
@overload
def field_int(data: dict[str, Any], name: str, *, required: bool) -> int | None: ...
def field_int(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value < 2**63):
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a positive integer.", name=name), details={"field": name}
        )
    return value


def query_int(name: str, default: int, *, lo: int = 0, hi: int = 1000) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be an integer.", name=name), details={"field": name}
        ) from None
    if not lo <= value <= hi:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be between %(lo)s and %(hi)s.", name=name, lo=lo, hi=hi),
            details={"field": name},
        )
    return value


@overload
def query_datetime(name: str, default: datetime) -> datetime: ...
@overload
def query_datetime(name: str, default: None) -> datetime | None: ...
def query_datetime(name: str, default: datetime | None) -> datetime | None:
    """An ISO 8601 datetime with an offset (``Z`` accepted); naive values are refused."""
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be an ISO 8601 date-time.", name=name), details={"field": name}
        ) from None
    if value.tzinfo is None:
        raise errors.ValidationFailed(
            _l("'%(name)s' needs a UTC offset, e.g. 2026-05-01T09:00:00+03:00.", name=name),
            details={"field": name},
        )
    return value

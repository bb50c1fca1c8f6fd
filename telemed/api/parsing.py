"""Input parsing for API handlers: every failure is a ``ValidationFailed``."""

from __future__ import annotations

from datetime import datetime

from flask import request

from telemed import errors


def json_body() -> dict:
    """The request's JSON object (an empty body counts as ``{}``; a non-JSON body is a 400)."""
    if not request.is_json:
        if request.content_length or request.get_data(cache=True):
            raise errors.BadRequest("Send a JSON body with 'Content-Type: application/json'.")
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise errors.BadRequest("The body must be a JSON object.")
    return data


def field_str(data: dict, name: str, *, required: bool = True, max_len: int = 2000, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise errors.ValidationFailed(f"'{name}' is required.", details={"field": name})
        return default
    if not isinstance(value, str):
        raise errors.ValidationFailed(f"'{name}' must be a string.", details={"field": name})
    value = value.strip()
    if len(value) > max_len:
        raise errors.ValidationFailed(
            f"'{name}' is longer than {max_len} characters.", details={"field": name}
        )
    if required and not value:
        raise errors.ValidationFailed(f"'{name}' must not be empty.", details={"field": name})
    return value


def field_int(data: dict, name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value < 2**63):
        raise errors.ValidationFailed(f"'{name}' must be a positive integer.", details={"field": name})
    return value


def query_int(name: str, default: int, *, lo: int = 0, hi: int = 1000) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.ValidationFailed(f"'{name}' must be an integer.", details={"field": name}) from None
    if not lo <= value <= hi:
        raise errors.ValidationFailed(f"'{name}' must be between {lo} and {hi}.", details={"field": name})
    return value


def query_datetime(name: str, default: datetime) -> datetime:
    """An ISO 8601 datetime with an offset (``Z`` accepted); naive values are refused."""
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise errors.ValidationFailed(
            f"'{name}' must be an ISO 8601 date-time.", details={"field": name}
        ) from None
    if value.tzinfo is None:
        raise errors.ValidationFailed(
            f"'{name}' needs a UTC offset, e.g. 2026-05-01T09:00:00+03:00.", details={"field": name}
        )
    return value

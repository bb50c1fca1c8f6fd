"""Input parsing for API handlers over ``telemed.inputs``: a malformed body is a 400
(``bad_request``), a body over the size limit a 413 (``payload_too_large``), an invalid field a 422
(``validation_error``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, overload

from flask import request

from telemed import errors, inputs
from telemed.translatable import _l
from telemed.web import body_limit


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's extension, not JSON


def json_body() -> dict[str, Any]:
    """The request's JSON object (an empty body counts as ``{}``), nested at most
    ``inputs.JSON_MAX_DEPTH`` levels. A number without a fractional part is an int (``2.0`` is 2),
    as the OpenAPI document's JSON Schema reads it. The body's size is bounded for every request that is not an
    upload (``limit_body_size``)."""
    raw = request.get_data(cache=True)
    if len(raw) > body_limit():
        raise errors.PayloadTooLarge(
            _l("The request body is larger than %(kb)s KB.", kb=body_limit() // 1024)
        )
    if not request.is_json:
        if raw:
            raise errors.BadRequest(_l("Send a JSON body with 'Content-Type: application/json'."))
        return {}
    try:
        data = json.loads(raw, parse_float=inputs.json_number, parse_constant=_not_json) if raw else None
    except (ValueError, RecursionError):
        raise errors.BadRequest(_l("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise errors.BadRequest(_l("The body must be a JSON object."))
    if inputs.json_depth(data) > inputs.JSON_MAX_DEPTH:
        raise errors.BadRequest(
            _l("The body nests deeper than %(depth)s levels.", depth=inputs.JSON_MAX_DEPTH)
        )
    return data


def field_str(
    data: dict,
    name: str,
    *,
    required: bool = True,
    max_len: int = 2000,
    default: str = "",
    strip: bool = True,
) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise errors.ValidationFailed(_l("'%(name)s' is required.", name=name), details={"field": name})
        return default
    if not isinstance(value, str):
        raise errors.ValidationFailed(_l("'%(name)s' must be a string.", name=name), details={"field": name})
    value = inputs.clean_text(value, name, max_len=max_len, strip=strip)
    if required and not value:
        raise errors.ValidationFailed(_l("'%(name)s' must not be empty.", name=name), details={"field": name})
    return value


@overload
def field_int(data: dict[str, Any], name: str, *, required: Literal[True] = True) -> int: ...
@overload
def field_int(data: dict[str, Any], name: str, *, required: bool) -> int | None: ...
def field_int(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """A positive whole-number id below 2**63; one beyond the database's range becomes ``inputs.NO_ROW``
    (found nowhere)."""
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a positive integer.", name=name), details={"field": name}
        )
    return inputs.known_id(value)


def query_text(name: str, *, max_len: int) -> str | None:
    """A query-string text (``None`` when absent or empty), validated like every text field."""
    raw = request.args.get(name)
    return inputs.clean_text(raw, name, max_len=max_len) or None if raw else None


def query_int(name: str, default: int, *, lo: int = 0, hi: int = 1000) -> int:
    raw = request.args.get(name)
    if raw is None:
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
    """An ISO 8601 date-time with a UTC offset (``inputs.DATE_TIME_PATTERN``; ``Z`` accepted, and a
    space for a ``+`` that the query string did not encode)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = inputs.parse_datetime(raw[:11] + raw[11:].replace(" ", "+"))
    except ValueError:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be an ISO 8601 date-time.", name=name), details={"field": name}
        ) from None
    if value.tzinfo is None or value.utcoffset() is None or len(raw) == 10:
        raise errors.ValidationFailed(
            _l("'%(name)s' needs a UTC offset, e.g. 2026-05-01T09:00:00+03:00.", name=name),
            details={"field": name},
        )
    return inputs.check_date(value, name)

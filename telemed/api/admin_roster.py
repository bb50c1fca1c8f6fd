"""API of the admin area: the urgent duty roster (planned shifts, coverage and its gaps).
Admins only: anyone else gets 403 ``forbidden``; every call is audited (``roster``)."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from telemed import errors, inputs
from telemed.admin import roster
from telemed.api import api
from telemed.api.contract import DATE_TIME, Body, DateTimeParam, Id, IntParam, Raw, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.catalog.specialties import URGENT_CODES
from telemed.records.audit_web import audited
from telemed.translatable import _l
from telemed.web import database, db_session, now

SHIFT = Body(
    "RosterShiftRequest",
    (
        Id("doctor_id"),
        Raw("specialty", {"type": "string", "enum": list(URGENT_CODES)}, required=True),
        Raw("starts_at", DATE_TIME | {"pattern": inputs.DATE_TIME_PATTERN}, required=True),
        Raw("ends_at", DATE_TIME | {"pattern": inputs.DATE_TIME_PATTERN}, required=True),
    ),
)
ROSTER_FROM = DateTimeParam("from")
ROSTER_DAYS = IntParam("days", roster.COVERAGE_DAYS, lo=1, hi=31)


def _moment(value, field: str):
    if not isinstance(value, str):
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a date-time.", name=field), details={"field": field}
        )
    try:
        moment = inputs.parse_datetime(value, inputs.DATE_TIME_PATTERN)
    except ValueError:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a date-time.", name=field), details={"field": field}
        ) from None
    return inputs.check_date(moment, field)


@api.get("/admin/roster")
@documented(json_response(array_of("RosterShift")), errors=(403,), query=(ROSTER_FROM, ROSTER_DAYS))
def admin_roster():
    """Admins: planned urgent-duty shifts overlapping ``from`` (default now) and ``days`` after."""
    with audited("roster", "read") as ctx:
        start = ROSTER_FROM.read() or now()
        found = roster.shifts(
            db_session(), ctx["actor"], start=start, end=start + timedelta(days=ROSTER_DAYS.read())
        )
        body = [roster.shift_json(p) for p in found]
    return jsonify(body)


@api.post("/admin/roster")
@documented(json_response(ref("RosterShift"), "Created"), status=201, errors=(403, 404, 409), body=SHIFT)
def admin_add_shift():
    """Admins: plan a therapist or pediatrician on urgent duty ``{doctor_id, specialty, starts_at,
    ends_at}`` (at most 36 hours; 409 when it overlaps the doctor's other shift)."""
    with audited("roster", "write") as ctx:
        data = SHIFT.read()
        with database().transaction() as s:
            shift = roster.add_shift(
                s,
                ctx["actor"],
                doctor_id=data["doctor_id"],
                specialty=data["specialty"],
                starts_at=_moment(data["starts_at"], "starts_at"),
                ends_at=_moment(data["ends_at"], "ends_at"),
                now=now(),
            )
            ctx["object_id"] = shift.id
            body = roster.shift_json(shift)
    return jsonify(body), 201


@api.delete("/admin/roster/<int:shift_id>")
@documented({"description": "Removed"}, status=204, errors=(403, 404, 409))
def admin_remove_shift(shift_id: int):
    """Admins: take a shift off the roster: one yet to start is deleted, one under way ends now;
    409 for a shift that is over."""
    with audited("roster", "write", object_id=shift_id) as ctx, database().transaction() as s:
        roster.remove_shift(s, ctx["actor"], shift_id, now=now())
    return "", 204


@api.get("/admin/roster/coverage")
@documented(json_response(ref("RosterCoverage")), errors=(403,))
def admin_roster_coverage():
    """Admins: the next 7 days hour by hour per urgent specialty: doctors planned, and the gaps
    (hours nobody is planned for: the service is 24/7)."""
    with audited("roster", "read") as ctx:
        body = roster.coverage(db_session(), ctx["actor"], now=now())
    return jsonify(body)

"""API of the admin area: doctors, their schedules (weekly template, exceptions, slot generation).
Admins only: anyone else gets 403 ``forbidden``; every call is audited (``doctor``, ``schedule``)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, current_app, jsonify, stream_with_context

from telemed import errors, inputs
from telemed.admin import doctors, photos, roster, schedule_rules, schedules, users
from telemed.api import api, parsing
from telemed.api.chat import file_reader
from telemed.api.contract import (
    DATE_TIME,
    JSON_ID_MAX,
    Body,
    ChoiceParam,
    DateTimeParam,
    Id,
    IntParam,
    Raw,
    Text,
    documented,
)
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.catalog.specialties import CODES, URGENT_CODES
from telemed.records.audit_web import audited
from telemed.translatable import _l
from telemed.web import clinic_tz, database, db_session, deliver_outbox, now

_DAY = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
_HHMM_END = {
    "type": "string",
    "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
    "description": "24:00: the day's end",
}
_ON_BOOKED = {
    "type": ["string", "null"],
    "enum": [*schedule_rules.ON_BOOKED, None],
    "description": "what to do with booked consultations in removed hours (absent: 409 listing them)",
}
PROFILE = Body(
    "DoctorProfile",
    (
        Text("full_name", doctors.NAME_MAX, required=True),
        Raw("specialty", {"type": "string", "enum": list(CODES)}, required=True),
        Raw("career_start", _DAY, required=True),
        Text("education", doctors.EDUCATION_MAX, required=True),
        Text("degree", doctors.DEGREE_MAX),
        Text("bio", doctors.BIO_MAX),
        Raw("is_active", {"type": ["boolean", "null"], "description": "absent or null: true"}),
        Raw(
            "user_id",
            {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": JSON_ID_MAX,
                "description": "a staff account of role doctor to link",
            },
        ),
    ),
)
TEMPLATE = Body(
    "ScheduleTemplateRequest",
    (
        Raw(
            "slot_minutes",
            {"type": "integer", "minimum": schedule_rules.SLOT_MIN, "maximum": schedule_rules.SLOT_MAX},
            required=True,
        ),
        Raw(
            "timezone",
            {"type": ["string", "null"], "maxLength": 64, "description": "IANA; default the clinic's"},
        ),
        Raw(
            "days",
            {
                "type": "array",
                "maxItems": 70,
                "items": {
                    "type": "object",
                    "required": ["weekday", "start", "end"],
                    "properties": {
                        "weekday": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 6,
                            "description": "0: Monday",
                        },
                        "start": _HHMM,
                        "end": _HHMM_END,
                    },
                },
            },
            required=True,
        ),
        Raw("on_booked", _ON_BOOKED),
        Text("reason", schedules.REASON_MAX, description="the cancellation's reason (on_booked: cancel)"),
    ),
)
EXCEPTION = Body(
    "ScheduleExceptionRequest",
    (
        Raw("first_day", _DAY, required=True),
        Raw("last_day", _DAY, required=True),
        Raw("kind", {"type": "string", "enum": list(schedules.EXCEPTION_KINDS)}, required=True),
        Text("reason", schedules.REASON_MAX, required=True),
        Raw("on_booked", _ON_BOOKED),
    ),
)
GENERATE = Body(
    "GenerateSlotsRequest",
    (
        Raw(
            "days",
            {"type": ["integer", "null"], "minimum": 1, "maximum": schedule_rules.HORIZON_MAX, "default": 28},
        ),
    ),
    required=False,
)
PHOTO_BYTES = {
    "description": "The photo, PNG or JPEG (the type sniffed at upload)",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    },
}
SPECIALTY = ChoiceParam("specialty", CODES)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


def _today() -> date:
    return now().astimezone(clinic_tz()).date()


def _profile() -> dict:
    data = PROFILE.read()
    data["user_id"] = parsing.field_int(data, "user_id", required=False)  # beyond the ids: NO_ROW
    return data


def _day(value, field: str) -> date:
    return doctors.parse_day(value, field)


@api.post("/admin/doctors")
@documented(json_response(ref("AdminDoctor"), "Created"), status=201, errors=(403, 409), body=PROFILE)
def admin_create_doctor():
    """Admins: add a doctor (profile, specialty of the catalogue, active or not, an optional linked
    staff account of role doctor)."""
    data = _profile()
    with audited("doctor", "write") as ctx, database().transaction() as s:
        doctor = doctors.create(s, ctx["actor"], data, today=_today())
        ctx["object_id"] = doctor.id
        body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body), 201


@api.get("/admin/doctors")
@documented(json_response(array_of("AdminDoctor")), errors=(403,), query=(SPECIALTY, LIMIT, OFFSET))
def admin_list_doctors():
    """Admins: every doctor, active or not, by specialty and name."""
    with audited("doctor", "read") as ctx:
        found = doctors.listing(
            db_session(), ctx["actor"], specialty=SPECIALTY.read(), limit=LIMIT.read(), offset=OFFSET.read()
        )
        body = [doctors.doctor_json(d, today=_today()) for d in found]
    return jsonify(body)


@api.get("/admin/doctors/<int:doctor_id>")
@documented(json_response(ref("AdminDoctor")), errors=(403,))
def admin_get_doctor(doctor_id: int):
    """Admins: a doctor with the weekly template (null before one is set) and the exceptions."""
    with audited("doctor", "read", object_id=doctor_id) as ctx:
        s = db_session()
        doctor = doctors.get(s, ctx["actor"], doctor_id)
        body = doctors.doctor_json(doctor, today=_today()) | {
            "template": schedules.template_json(s, doctor_id),
            "exceptions": [schedules.exception_json(e) for e in schedules.exceptions_of(s, doctor_id)],
        }
    return jsonify(body)


@api.put("/admin/doctors/<int:doctor_id>")
@documented(json_response(ref("AdminDoctor")), errors=(403, 409), body=PROFILE)
def admin_update_doctor(doctor_id: int):
    """Admins: replace a doctor's profile (the same fields as creating one)."""
    with audited("doctor", "write", object_id=doctor_id) as ctx:
        data = _profile()
        with database().transaction() as s:
            doctor = doctors.update(s, ctx["actor"], doctor_id, data, today=_today())
            body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body)


@api.put("/admin/doctors/<int:doctor_id>/template")
@documented(json_response(ref("ScheduleChange")), errors=(403, 409), body=TEMPLATE)
def admin_put_template(doctor_id: int):
    """Admins: set the doctor's weekly template ``{slot_minutes, timezone, days: [{weekday, start,
    end}]}`` (times in the zone, default the clinic's). Future free slots outside the new hours are
    deleted; booked ones answer 409 ``conflict`` listing them (``details.consultations``) unless
    ``on_booked`` is ``keep`` or ``cancel`` (with a ``reason``; each member is told, quota kept).
    The worker generates the new hours' slots (or ``generate-slots``)."""
    with audited("schedule", "write", object_id=doctor_id) as ctx:
        data = TEMPLATE.read()
        with database().transaction() as s:
            body = schedules.set_template(
                s,
                ctx["actor"],
                doctor_id,
                data,
                now=now(),
                default_zone=current_app.config["CLINIC_TIMEZONE"],
                on_booked=data["on_booked"],
                reason=data["reason"],
            )
    deliver_outbox()
    return jsonify(body)


@api.post("/admin/doctors/<int:doctor_id>/exceptions")
@documented(json_response(ref("ScheduleChange"), "Created"), status=201, errors=(403, 409), body=EXCEPTION)
def admin_add_exception(doctor_id: int):
    """Admins: days off (vacation, sick day, other; ``first_day`` to ``last_day`` inclusive) with a
    ``reason``. Their free slots are deleted; booked ones as for the template (``on_booked``; a
    cancellation's reason is the exception's)."""
    with audited("schedule", "write", object_id=doctor_id) as ctx:
        data = EXCEPTION.read()
        with database().transaction() as s:
            body = schedules.add_exception(
                s,
                ctx["actor"],
                doctor_id,
                first_day=_day(data["first_day"], "first_day"),
                last_day=_day(data["last_day"], "last_day"),
                kind=data["kind"],
                reason=data["reason"],
                now=now(),
                on_booked=data["on_booked"],
            )
    deliver_outbox()
    return jsonify(body), 201


@api.post("/admin/doctors/<int:doctor_id>/generate-slots")
@documented(json_response(ref("SlotsGenerated")), errors=(403, 409), body=GENERATE)
def admin_generate_slots(doctor_id: int):
    """Admins: create the doctor's slots from the template for ``days`` ahead (default 28), minus
    the exceptions; existing slots stay. 200 ``{created}``; 409 without a template."""
    with audited("schedule", "write", object_id=doctor_id) as ctx:
        data = GENERATE.read()
        days = data["days"]
        if days is None:
            days = schedule_rules.HORIZON_DAYS
        if isinstance(days, bool) or not isinstance(days, int):
            days = -1  # refused by the service with the field named
        with database().transaction() as s:
            created = schedules.generate_for(s, ctx["actor"], doctor_id, now=now(), days=days)
    return jsonify({"created": created})


@api.put("/admin/doctors/<int:doctor_id>/photo")
@documented(json_response(ref("AdminDoctor")), errors=(403, 413, 415, 503), multipart=True)
def admin_put_photo(doctor_id: int):
    """Admins: the doctor's photo (multipart ``file``): PNG or JPEG, at most 2 MB, the type
    decided from the bytes; it replaces the previous one."""
    with audited("doctor", "write", object_id=doctor_id) as ctx:
        reader = file_reader(photos.MAX_PHOTO)
        doctor = photos.set_photo(
            database(), current_app.extensions["telemed.storage"], ctx["actor"], doctor_id, reader
        )
        body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body)


@api.get("/doctors/<int:doctor_id>/photo")
@documented(PHOTO_BYTES, errors=(503,))
def doctor_photo(doctor_id: int):
    """A doctor's photo, for anyone logged in (404 without one)."""
    current_actor()
    key, content_type, sha256 = photos.photo_of(database(), doctor_id)
    chunks = current_app.extensions["telemed.storage"].open(key, expected_sha256=sha256 or None)
    response = Response(stream_with_context(chunks), mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# --- the urgent duty roster ----------------------------------------------------------------------

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


@api.get("/admin/roster/coverage")
@documented(json_response(ref("RosterCoverage")), errors=(403,))
def admin_roster_coverage():
    """Admins: the next 7 days hour by hour per urgent specialty: doctors planned, and the gaps
    (hours nobody is planned for: the service is 24/7)."""
    with audited("roster", "read") as ctx:
        body = roster.coverage(db_session(), ctx["actor"], now=now())
    return jsonify(body)


# --- staff users ---------------------------------------------------------------------------------

STAFF_USER = Body(
    "StaffUserRequest",
    (
        Text("username", 64, required=True),
        Text("full_name", users.NAME_MAX, required=True),
        Raw("role", {"type": "string", "enum": list(users.STAFF_ROLES)}, required=True),
        Text("email", users.EMAIL_MAX, required=True),
    ),
    closed=True,
)


@api.post("/admin/users")
@documented(json_response(ref("StaffUser"), "Created"), status=201, errors=(403, 409), body=STAFF_USER)
def admin_create_user():
    """Admins: create a staff account (doctor, records, admin, curator); it is invited by e-mail to
    set its own password (no password is ever sent) and enrols an authenticator at first login."""
    with audited("staff_user", "write") as ctx:
        data = STAFF_USER.read()
        with database().transaction() as s:
            user, invited = users.create_staff(
                s,
                current_app.extensions["telemed.passwords"],
                ctx["actor"],
                username=data["username"],
                full_name=data["full_name"],
                role=data["role"],
                email=data["email"],
                now=now(),
            )
            ctx["object_id"] = user.id
            body = users.user_json(user, invited=invited)
    deliver_outbox()
    return jsonify(body), 201


@api.post("/admin/users/<int:user_id>/reset-second-factor")
@documented(json_response(ref("StaffUser")), errors=(403,))
def admin_reset_second_factor(user_id: int):
    """Admins: delete a user's authenticator and recovery codes; staff enrol again at next login."""
    with audited("staff_user", "reset_2fa", object_id=user_id) as ctx, database().transaction() as s:
        body = users.user_json(users.reset_second_factor(s, ctx["actor"], user_id))
    return jsonify(body)


# ``POST /admin/users/{id}/deactivate`` exists already (``api/account.py``, ``account.service.deactivate``).

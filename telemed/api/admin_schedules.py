"""API of the admin area: a doctor's schedule (weekly template, exceptions, slot generation).
Admins only: anyone else gets 403 ``forbidden``; every call is audited (``schedule``)."""

from __future__ import annotations

from datetime import date

from flask import current_app, jsonify

from telemed.admin import doctors, schedule_rules, schedules
from telemed.api import api
from telemed.api.admin_doctors import DAY
from telemed.api.contract import Body, Raw, Text, documented
from telemed.api.openapi_parts import json_response, ref
from telemed.records.audit_web import audited
from telemed.web import database, deliver_outbox, now

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
        Raw("first_day", DAY, required=True),
        Raw("last_day", DAY, required=True),
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


def _day(value, field: str) -> date:
    return doctors.parse_day(value, field)


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

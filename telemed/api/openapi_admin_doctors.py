"""Response schemas of the admin area's doctors, schedules, roster and users (``api/openapi.py``
merges them in; the requests are declared beside their handlers: ``api/admin_doctors.py``,
``admin_schedules.py``, ``admin_roster.py``, ``admin_users.py``)."""

from __future__ import annotations

from telemed.api.contract import DATE_TIME

_HOURS = {
    "type": "object",
    "properties": {
        "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
        "start": {"type": "string"},
        "end": {"type": "string"},
    },
}
_TEMPLATE = {
    "type": "object",
    "properties": {
        "slot_minutes": {"type": "integer"},
        "timezone": {"type": "string"},
        "days": {"type": "array", "items": _HOURS},
    },
}
_EXCEPTION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "first_day": {"type": "string", "format": "date"},
        "last_day": {"type": "string", "format": "date"},
        "kind": {"type": "string"},
        "reason": {"type": "string"},
    },
}

SCHEMAS: dict = {
    "AdminDoctor": {
        "type": "object",
        "required": ["id", "full_name", "specialty", "career_start", "education", "is_active"],
        "properties": {
            "id": {"type": "integer"},
            "full_name": {"type": "string"},
            "specialty": {"type": "string"},
            "career_start": {"type": "string", "format": "date"},
            "experience_years": {"type": "integer"},
            "education": {"type": "string"},
            "degree": {"type": ["string", "null"]},
            "bio": {"type": ["string", "null"]},
            "is_active": {"type": "boolean"},
            "user_id": {"type": ["integer", "null"]},
            "has_photo": {"type": "boolean"},
            "template": {"oneOf": [_TEMPLATE, {"type": "null"}], "description": "GET of one doctor only"},
            "exceptions": {"type": "array", "items": _EXCEPTION, "description": "GET of one doctor only"},
        },
    },
    "ScheduleChange": {
        "type": "object",
        "description": "a template or an exception saved, and what it removed",
        "properties": {
            "template": _TEMPLATE,
            "exception": _EXCEPTION,
            "removed_slots": {"type": "integer", "description": "free slots deleted"},
            "cancelled": {"type": "array", "items": {"type": "integer"}, "description": "consultation ids"},
            "kept": {"type": "array", "items": {"type": "integer"}, "description": "consultation ids"},
        },
    },
    "SlotsGenerated": {
        "type": "object",
        "required": ["created"],
        "properties": {"created": {"type": "integer", "minimum": 0}},
    },
    "RosterShift": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "doctor_id": {"type": "integer"},
            "doctor_name": {"type": "string"},
            "specialty": {"type": "string", "enum": ["therapist", "pediatrician"]},
            "starts_at": DATE_TIME,
            "ends_at": DATE_TIME,
        },
    },
    "RosterCoverage": {
        "type": "object",
        "description": "each hour of the next days per urgent specialty: how many doctors are planned",
        "properties": {
            "from": DATE_TIME,
            "hours": {"type": "integer"},
            "specialties": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "planned": {"type": "array", "items": {"type": "integer"}, "description": "per hour"},
                        "gaps": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"starts_at": DATE_TIME, "ends_at": DATE_TIME},
                            },
                        },
                    },
                },
            },
        },
    },
    "StaffUser": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "full_name": {"type": "string"},
            "role": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "is_active": {"type": "boolean"},
            "invited": {
                "type": "boolean",
                "description": "an unused, unexpired invitation link is open (on creation: one was sent)",
            },
        },
    },
}

"""The urgent queue's response schemas in the OpenAPI document (``api/openapi.py`` merges them in;
the requests are declared beside their handlers in ``api/urgent.py``)."""

from __future__ import annotations

from telemed.api.contract import DATE_TIME
from telemed.api.openapi_parts import ref

_NULLABLE_DT = {"type": ["string", "null"], "format": "date-time"}
_DOCTOR = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "specialty": {"type": "string"}},
}

SCHEMAS: dict = {
    "Queue": {
        "type": "object",
        "description": "A waiting urgent request's place (present while its status is 'waiting')",
        "required": ["position", "estimate_minutes", "doctors_on_duty", "escalation_level", "alternative"],
        "properties": {
            "position": {"type": "integer", "minimum": 1, "description": "1: the next to be taken"},
            "estimate_minutes": {
                "type": ["object", "null"],
                "description": "the estimated wait; null while no doctor of the specialty is on duty",
                "properties": {"low": {"type": "integer"}, "high": {"type": "integer"}},
            },
            "doctors_on_duty": {"type": "integer"},
            "escalation_level": {
                "type": "integer",
                "enum": [0, 1, 2],
                "description": "1: every doctor of the specialty was alerted; 2: a planned slot is offered",
            },
            "coverage_gap": {
                "type": ["object", "null"],
                "description": "the duty roster plans no doctor of the specialty now (null: someone is "
                "planned, or no roster is kept); until: the next planned shift's start, or null",
                "properties": {"until": {"type": ["string", "null"], "format": "date-time"}},
            },
            "alternative": {
                "type": ["object", "null"],
                "description": "from level 2: the earliest free planned slot of the specialty; book it "
                "with POST /consultations {slot_id} while keeping the place in the queue",
                "properties": {
                    "slot_id": {"type": "integer"},
                    "start": DATE_TIME,
                    "end": DATE_TIME,
                    "doctor": _DOCTOR,
                },
            },
        },
    },
    "QueueItem": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "description": "the consultation id"},
            "specialty": {"type": "string"},
            "patient": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            },
            "reason": {"type": "string"},
            "waiting_since": DATE_TIME,
            "escalation_level": {"type": "integer", "enum": [0, 1, 2]},
        },
    },
    "Duty": {
        "type": "object",
        "required": ["on_duty", "since"],
        "properties": {"on_duty": {"type": "boolean"}, "since": _NULLABLE_DT},
    },
}

#: The consultation's fields that concern urgent requests (merged into ``Consultation``).
CONSULTATION_FIELDS: dict = {
    "doctor": {
        **_DOCTOR,
        "type": ["object", "null"],
        "description": "null until a doctor takes an urgent request",
    },
    "start": {
        **_NULLABLE_DT,
        "description": "null until a doctor takes an urgent request (then: the pick-up time)",
    },
    "end": _NULLABLE_DT,
    "completed_at": _NULLABLE_DT,
    "queue": ref("Queue"),
}

"""The urgent queue's part of the OpenAPI document: its paths and schemas (``api/openapi.py``
merges them in)."""

from __future__ import annotations

from telemed.api.openapi_parts import DATE_TIME, ID_PARAM, json_response, operation, ref

_NULLABLE_DT = {"type": ["string", "null"], "format": "date-time"}
_DOCTOR = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "specialty": {"type": "string"}},
}

SCHEMAS: dict = {
    "UrgentRequest": {
        "type": "object",
        "properties": {
            "patient_id": {"type": "integer", "description": "default: the caller's own patient record"},
            "reason": {"type": "string", "maxLength": 2000},
        },
    },
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
    "DutyRequest": {
        "type": "object",
        "required": ["on_duty"],
        "properties": {"on_duty": {"type": "boolean"}},
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


def paths() -> dict:
    return {
        "/urgent": {
            "post": operation(
                "Request an urgent consultation for yourself or a child in your care: therapist from 18, "
                "pediatrician under 18; the booking's contract rules apply, no slot, no quota",
                json_response(ref("Consultation"), "Waiting in the queue (status 'waiting', with 'queue')"),
                status="201",
                errs=(401, 409, 422),
                body="UrgentRequest",
            )
        },
        "/urgent/queue": {
            "get": operation(
                "Therapists and pediatricians: the waiting requests of their specialty, oldest first",
                json_response({"type": "array", "items": ref("QueueItem")}),
                errs=(401, 403),
            )
        },
        "/urgent/{id}/claim": {
            "post": operation(
                "Take a waiting request: you become its doctor, it starts now; exactly one doctor wins "
                "(409 already_claimed to the others), 409 busy while an urgent consultation of yours is in "
                "progress, 404 for anyone but a doctor of its specialty",
                json_response(ref("Consultation")),
                errs=(401, 404, 409),
                params=[ID_PARAM],
            )
        },
        "/duty": {
            "get": operation(
                "Therapists and pediatricians: your duty as it counts now (it ends by itself when none "
                "of your sessions has been connected for the grace time)",
                json_response(ref("Duty")),
                errs=(401, 403),
            ),
            "put": operation(
                "Therapists and pediatricians: go on or off duty",
                json_response(ref("Duty")),
                errs=(401, 403, 422),
                body="DutyRequest",
            ),
        },
        "/consultations/{id}/finish": {
            "post": operation(
                "The consultation's doctor ends the visit (a dropped connection never does)",
                json_response(ref("Consultation")),
                errs=(401, 403, 404, 409),
                params=[ID_PARAM],
            )
        },
    }

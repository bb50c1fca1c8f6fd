"""Building blocks of the OpenAPI document: helpers for operations and parameters, and the
component schemas (``SCHEMAS``). ``api/openapi.py`` assembles the paths from them."""

from __future__ import annotations

from telemed.auth.roles import Role
from telemed.scheduling.status import Mode, Status


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_responses(*codes: int) -> dict:
    return {str(c): {"$ref": "#/components/responses/Error"} for c in codes}


def operation(
    summary: str,
    ok: dict,
    *,
    status: str = "200",
    errs=(401,),
    body: str | None = None,
    params: list | None = None,
    secured: bool = True,
) -> dict:
    op = {"summary": summary, "responses": {status: ok, **error_responses(*errs)}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    if params:
        op["parameters"] = params
    if not secured:
        op["security"] = []
    return op


def param(name: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


DATE_TIME = {"type": "string", "format": "date-time"}
ID_PARAM = param("id", {"type": "integer"}, where="path")

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "Credentials": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "properties": {
            "token": {"type": "string"},
            "token_type": {"type": "string"},
            "expires_in": {"type": "integer"},
            "user": ref("UserBrief"),
        },
    },
    "UserBrief": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "role": {"type": "string", "enum": [r.value for r in Role]},
            "name": {"type": "string"},
        },
    },
    "Entitlement": {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in ("limit", "used", "left")},
    },
    "Patient": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "birth_date": {"type": "string", "format": "date"},
            "is_adult": {"type": "boolean"},
            "is_self": {"type": "boolean"},
            "policy": {"type": ["object", "null"]},
            "psychologist": ref("Entitlement"),
        },
    },
    "Me": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": {"type": "string"},
            "name": {"type": "string"},
            "patients": {"type": "array", "items": ref("Patient")},
            "policy": {"type": ["object", "null"]},
            "entitlements": {"type": "object"},
            "consent": {
                "type": "object",
                "properties": {"current_version": {"type": "string"}, "accepted": {"type": "boolean"}},
            },
            "doctor": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "specialty": {"type": "string"}},
            },
        },
    },
    "ConsentRequest": {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "string"}},
    },
    "Specialty": {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "name_en": {"type": "string"},
            "modes": {"type": "array", "items": {"type": "string", "enum": [m.value for m in Mode]}},
            "adult_only": {"type": "boolean"},
        },
    },
    "Doctor": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "specialty": {"type": "string"},
            "experience_years": {"type": "integer"},
            "education": {"type": "string"},
            "degree": {"type": ["string", "null"]},
            "bio": {"type": ["string", "null"]},
            "next_free_slot": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Slot": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "start": DATE_TIME, "end": DATE_TIME},
    },
    "BookingRequest": {
        "type": "object",
        "required": ["slot_id"],
        "properties": {
            "slot_id": {"type": "integer"},
            "patient_id": {"type": "integer"},
            "reason": {"type": "string", "maxLength": 2000},
        },
    },
    "Attachment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
        },
    },
    "Message": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "consultation_id": {"type": "integer"},
            "author": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "role": {"type": "string"},
                },
            },
            "text": {"type": "string"},
            "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}},
            "created_at": DATE_TIME,
        },
    },
    "IceConfig": {
        "type": "object",
        "required": ["iceServers", "ttl", "iceTransportPolicy"],
        "properties": {
            "iceServers": {
                "type": "array",
                "description": "RTCIceServer entries: STUN, then TURN with credentials",
                "items": {
                    "type": "object",
                    "required": ["urls"],
                    "properties": {
                        "urls": {"type": "array", "items": {"type": "string"}},
                        "username": {"type": "string"},
                        "credential": {"type": "string"},
                    },
                },
            },
            "ttl": {"type": "integer", "description": "seconds the TURN credentials stay valid"},
            "iceTransportPolicy": {
                "type": "string",
                "enum": ["all", "relay"],
                "description": "RTCConfiguration.iceTransportPolicy; 'relay': only TURN candidates, so the "
                "peers never learn each other's IP addresses",
            },
        },
    },
    "MessageRequest": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": 4000},
            "attachment_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 10},
        },
    },
    "Diagnosis": {
        "type": "object",
        "properties": {"icd10": {"type": ["string", "null"]}, "text": {"type": "string"}},
    },
    "ConclusionContent": {
        "type": "object",
        "properties": {
            **{
                k: {"type": "string"}
                for k in ("complaints", "anamnesis", "objective", "recommendations", "follow_up")
            },
            "diagnosis": {"$ref": "#/components/schemas/Diagnosis"},
            "referrals": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Conclusion": {
        "allOf": [
            {"$ref": "#/components/schemas/ConclusionContent"},
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "consultation_id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["draft", "signed"]},
                    "signed_at": {"type": ["string", "null"]},
                    "signed_by": {"type": ["object", "null"]},
                    "content_sha256": {"type": ["string", "null"]},
                    "addenda": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
    "SignRequest": {
        "type": "object",
        "required": ["password"],
        "properties": {"password": {"type": "string"}},
    },
    "AddendumRequest": {
        "type": "object",
        "required": ["text", "reason"],
        "properties": {"text": {"type": "string"}, "reason": {"type": "string"}},
    },
    "VisitRequest": {
        "type": "object",
        "required": ["date", "clinic", "doctor_name"],
        "properties": {
            "date": {"type": "string"},
            "clinic": {"type": "string"},
            "doctor_name": {"type": "string"},
            "specialty": {"type": "string"},
            "diagnosis": {"$ref": "#/components/schemas/Diagnosis"},
            "notes": {"type": "string"},
        },
    },
    "RecordEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["conclusion", "visit", "document"]},
            "object_id": {"type": "integer"},
            "date": DATE_TIME,
            "title": {"type": "string"},
            "author": {"type": "string"},
            "summary": {"type": "string"},
            "specialty": {"type": ["string", "null"]},
            "consultation_id": {"type": ["integer", "null"]},
            "diagnosis": {"$ref": "#/components/schemas/Diagnosis"},
        },
    },
    "Consultation": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": [s.value for s in Status],
            },
            "mode": {"type": "string", "enum": [m.value for m in Mode]},
            "specialty": {"type": "string"},
            "doctor": {"type": "object"},
            "patient": {"type": "object"},
            "start": DATE_TIME,
            "end": DATE_TIME,
            "reason": {"type": "string"},
            "created_at": DATE_TIME,
            "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
            "cancel_reason": {"type": ["string", "null"]},
        },
    },
    "CancelRequest": {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 2000}},
        "description": "'reason' is required when the consultation's doctor cancels",
    },
}

"""Building blocks of the OpenAPI document: helpers, non-JSON responses, and the component schemas
of the core responses (``SCHEMAS``; those of a feature area in ``openapi_<area>.py``). Request
bodies are declared beside their handlers (``api/contract.py``); ``api/openapi.py`` assembles the
document."""

from __future__ import annotations

from telemed.api.contract import DATE_TIME, TEXT_PATTERN
from telemed.auth.roles import Role
from telemed.inputs import SPACE_CHARS
from telemed.records.conclusions import DIAGNOSIS_TEXT_MAX
from telemed.records.icd10 import LOOSE_CODE_PATTERN
from telemed.scheduling.status import Mode, Status


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_responses(*codes: int) -> dict:
    return {str(c): {"$ref": "#/components/responses/Error"} for c in codes}


def array_of(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


def param(name: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


#: What ``icd10.normalize_code`` reads as a code (trimmed, any case), or nothing.
ICD10_PATTERN = f"^$|^[{SPACE_CHARS}]*{LOOSE_CODE_PATTERN}[{SPACE_CHARS}]*$"
PDF = {
    "description": "The PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}
FHIR_BUNDLE = {
    "description": "A FHIR R4 Bundle of type document",
    "content": {"application/fhir+json": {"schema": {"type": "object", "required": ["resourceType"]}}},
}
ATTACHMENT_BYTES = {
    "description": "The bytes as a download, in the content type sniffed at upload",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


SCHEMAS: dict[str, dict] = {
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
    "Token": {
        "type": "object",
        "properties": {
            "token": {"type": "string"},
            "token_type": {"type": "string"},
            "expires_in": {"type": "integer"},
            "user": ref("UserBrief"),
        },
    },
    "Login": {
        "type": "object",
        "description": "An active login: a browser session or an API token",
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "kind": {"type": "string", "enum": ["session", "token"]},
            "created_at": {"type": "string", "format": "date-time"},
            "last_seen_at": {"type": ["string", "null"], "format": "date-time"},
            "user_agent": {"type": ["string", "null"]},
            "ip": {"type": ["string", "null"]},
            "current": {"type": "boolean"},
        },
        "required": ["id", "kind", "created_at", "last_seen_at", "user_agent", "ip", "current"],
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
    "Diagnosis": {
        "type": ["object", "null"],
        "properties": {
            "icd10": {
                "type": ["string", "null"],
                "pattern": ICD10_PATTERN,
                "description": "A code of the ICD-10 list (see /icd10), e.g. J06.9 or j069; 422 for any other",
            },
            "text": {"type": ["string", "null"], "maxLength": DIAGNOSIS_TEXT_MAX, "pattern": TEXT_PATTERN},
        },
    },
    "Consent": {
        "type": "object",
        "required": ["current_version", "accepted"],
        "properties": {
            "current_version": {"type": "string"},
            "accepted": {"type": "boolean"},
            "accepted_at": {"type": "string", "format": "date-time"},
        },
    },
    "PatientMatch": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "birth_date": {"type": "string", "format": "date"},
            "policies": {"type": "array", "items": {"type": "string"}},
        },
    },
    "AccessLogEntry": {
        "type": "object",
        "properties": {
            "at": DATE_TIME,
            "actor": {
                "type": "object",
                "properties": {
                    "id": {"type": ["integer", "null"]},
                    "role": {"type": ["string", "null"]},
                    "name": {"type": ["string", "null"], "description": "null for the system's own steps"},
                },
            },
            "object_type": {"type": "string"},
            "object_id": {"type": ["string", "integer", "null"]},
            "action": {"type": "string"},
            "outcome": {"type": "string"},
        },
    },
    "Icd10Entry": {
        "type": "object",
        "required": ["code", "title"],
        "properties": {"code": {"type": "string"}, "title": {"type": "string"}},
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
    "RecordEntry": {
        "type": "object",
        "description": (
            "An e-card entry. A psychologist's entry the reader may not see (need-to-know: not the "
            "patient, a guardian, records staff or the psychologist who held it, and not shared) is "
            "only {kind, date, specialty, restricted: true}; one the reader sees carries "
            "need_to_know: true and whether the patient shared it with doctors."
        ),
        "required": ["kind", "date", "specialty"],
        "properties": {
            "restricted": {"type": "boolean", "enum": [True]},
            "need_to_know": {"type": "boolean"},
            "shared": {"type": "boolean"},
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
}

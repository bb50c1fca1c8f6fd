"""Building blocks of the OpenAPI document: helpers, non-JSON responses, and the component schemas
of responses (``SCHEMAS``). Request bodies are declared beside their handlers (``api/contract.py``);
``api/openapi.py`` assembles the document."""

from __future__ import annotations

from telemed.api.contract import DATE_TIME, TEXT_PATTERN
from telemed.auth.roles import Role
from telemed.catalog.specialties import BY_CODE
from telemed.inputs import SPACE_CHARS
from telemed.notifications.kinds import CHANNELS, CHOOSABLE, KINDS
from telemed.records import referral_catalogue, referrals
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
    "AdminContract": {
        "type": "object",
        "required": [
            "id",
            "number",
            "client",
            "starts_on",
            "ends_on",
            "telemedicine",
            "urgent",
            "covered_specialties",
            "psychologist_limit",
        ],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "client": {"type": "string"},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "telemedicine": {"type": "boolean"},
            "urgent": {"type": "boolean"},
            "covered_specialties": {"type": "array", "items": {"type": "string"}},
            "psychologist_limit": {"type": "integer"},
        },
    },
    "InsuredImport": {
        "type": "object",
        "required": ["applied", "rows", "created", "updated", "unchanged", "errors"],
        "properties": {
            "applied": {"type": "boolean"},
            "rows": {"type": "integer"},
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["line", "reason"],
                    "properties": {
                        "line": {"type": "integer"},
                        "reason": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
            },
        },
    },
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
    "ReferralItem": {
        "type": "object",
        "description": "A referral: 'test' needs a 'code' of the catalogue (GET /referral-catalogue), "
        "'specialist' a 'specialty'; 'in_person' may name a specialty. 'title' is read-only.",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": list(referrals.KINDS)},
            "code": {
                "type": ["string", "null"],
                "enum": [*(s.code for s in referral_catalogue.all_services()), None],
            },
            "specialty": {"type": ["string", "null"], "enum": [*BY_CODE, None]},
            "note": {"type": ["string", "null"], "maxLength": referrals.NOTE_MAX, "pattern": TEXT_PATTERN},
            "title": {"type": ["string", "null"], "readOnly": True},
        },
    },
    "Referral": {
        "type": "object",
        "required": ["id", "patient", "kind", "status", "issued_at", "valid_until"],
        "properties": {
            "id": {"type": "integer"},
            "patient": {"type": "object"},
            "consultation_id": {"type": "integer"},
            "conclusion_id": {"type": "integer"},
            "kind": {"type": "string", "enum": list(referrals.KINDS)},
            "code": {"type": ["string", "null"]},
            "specialty": {"type": ["string", "null"]},
            "note": {"type": ["string", "null"]},
            "title": {"type": ["string", "null"]},
            "issued_at": DATE_TIME,
            "valid_until": DATE_TIME,
            "status": {"type": "string", "enum": [s.value for s in referrals.Status]},
            "booked_consultation_id": {"type": ["integer", "null"]},
        },
    },
    "ReferralList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Referral"}}},
    },
    "ReferralCatalogue": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "kind", "title"],
                    "properties": {
                        "code": {"type": "string"},
                        "kind": {"type": "string", "enum": list(referral_catalogue.KINDS)},
                        "title": {"type": "string"},
                        "title_ru": {"type": "string"},
                        "title_en": {"type": "string"},
                    },
                },
            }
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
    "Rating": {
        "type": "object",
        "description": "A consultation's details and the member's confirmation and rating of it.",
        "properties": {
            "consultation": {"type": "object"},
            "happened": {
                "type": ["string", "null"],
                "enum": ["yes", "doctor_absent", "connection_failed", None],
            },
            "credible": {"type": ["boolean", "null"]},
            "doctor_score": {"type": ["integer", "null"]},
            "service_score": {"type": ["integer", "null"]},
            "comment": {"type": "string"},
            "rated_at": {"type": ["string", "null"]},
            "editable_until": {"type": ["string", "null"]},
            "can_rate": {"type": "boolean"},
            "complaint": {"type": ["object", "null"]},
        },
    },
    "SecondOpinion": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "patient": {"type": "object"},
            "icd10": {"type": "string"},
            "condition": {"type": "string"},
            "question": {"type": "string"},
            "contact": {"type": "object"},
            "status": {
                "type": "string",
                "enum": ["submitted", "contacted", "in_review", "report_issued", "closed"],
            },
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "contact_due_at": DATE_TIME,
            "contacted_at": {"type": ["string", "null"]},
            "overdue": {"type": "boolean"},
            "escalated_at": {"type": ["string", "null"]},
            "documents": {"type": "array", "items": {"type": "object"}},
            "report": {"type": ["object", "null"]},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Notification": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": list(KINDS)},
            "title": {"type": "string"},
            "created_at": DATE_TIME,
            "read_at": {"type": ["string", "null"]},
            "consultation_id": {"type": ["integer", "null"]},
        },
        "required": ["id", "kind", "title", "created_at", "read_at", "consultation_id"],
    },
    "NotificationsMarked": {"type": "object", "properties": {"marked": {"type": "integer"}}},
    "NotificationPreferences": {
        "type": "object",
        "description": "For each kind, whether it comes in the app and by e-mail.",
        "properties": {
            kind: {
                "type": "object",
                "properties": {channel: {"type": "boolean"} for channel in CHANNELS},
            }
            for kind in CHOOSABLE
        },
    },
    "DoctorRating": {
        "type": "object",
        "properties": {"average": {"type": ["number", "null"]}, "count": {"type": "integer"}},
    },
    "Complaint": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "in_progress", "closed"]},
            "reason": {"type": "string", "enum": ["low_score", "doctor_absent", "connection_failed"]},
            "opened_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "closed_at": {"type": ["string", "null"]},
            "note": {"type": "string"},
            "curator": {"type": ["object", "null"]},
            "consultation": {"type": "object"},
            "patient": {"type": "object"},
            "rating": {"type": ["object", "null"]},
        },
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

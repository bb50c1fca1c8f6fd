"""Response schemas of what follows a visit: referrals and their catalogue, the rating and the
complaints it opens, second opinions, notifications (``api/openapi.py`` merges them in)."""

from __future__ import annotations

from telemed.api.contract import DATE_TIME, TEXT_PATTERN
from telemed.catalog.specialties import BY_CODE
from telemed.notifications.kinds import CHANNELS, CHOOSABLE, KINDS
from telemed.records import referral_catalogue, referrals

SCHEMAS: dict[str, dict] = {
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
}

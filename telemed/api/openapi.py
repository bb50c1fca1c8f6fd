"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from flask import jsonify

from telemed.api import api
from telemed.auth.roles import Role
from telemed.scheduling.status import Mode, Status


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(c): {"$ref": "#/components/responses/Error"} for c in codes}


def _op(
    summary: str,
    ok: dict,
    *,
    status: str = "200",
    errs=(401,),
    body: str | None = None,
    params: list | None = None,
    secured: bool = True,
) -> dict:
    op = {"summary": summary, "responses": {status: ok, **_errors(*errs)}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if params:
        op["parameters"] = params
    if not secured:
        op["security"] = []
    return op


def _q(name: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


_DT = {"type": "string", "format": "date-time"}
_ID = _q("id", {"type": "integer"}, where="path")

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
            "user": _ref("UserBrief"),
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
            "psychologist": _ref("Entitlement"),
        },
    },
    "Me": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": {"type": "string"},
            "name": {"type": "string"},
            "patients": {"type": "array", "items": _ref("Patient")},
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
    "Slot": {"type": "object", "properties": {"id": {"type": "integer"}, "start": _DT, "end": _DT}},
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
            "created_at": _DT,
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
            "date": _DT,
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
            "start": _DT,
            "end": _DT,
            "reason": {"type": "string"},
            "created_at": _DT,
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


def document() -> dict:
    arr = lambda name: {"type": "array", "items": _ref(name)}  # noqa: E731
    paths = {
        "/auth/token": {
            "post": _op(
                "Log in and get a bearer token",
                _json(_ref("Token")),
                errs=(401, 422, 429),
                body="Credentials",
                secured=False,
            ),
            "delete": _op("Revoke the token used", {"description": "Revoked"}, status="204"),
        },
        "/me": {"get": _op("The current user", _json(_ref("Me")))},
        "/me/consent": {
            "post": _op(
                "Accept the personal-data consent",
                _json({"type": "object"}),
                errs=(401, 422),
                body="ConsentRequest",
            ),
            "delete": _op("Withdraw the consent", _json({"type": "object"})),
        },
        "/specialties": {"get": _op("Specialties", _json(arr("Specialty")))},
        "/doctors": {
            "get": _op(
                "Doctors of a specialty, most experienced first",
                _json(arr("Doctor")),
                errs=(401, 422),
                params=[_q("specialty", {"type": "string"}, True)],
            )
        },
        "/doctors/{id}/slots": {
            "get": _op(
                "Free slots",
                _json(arr("Slot")),
                errs=(401, 404, 422),
                params=[_ID, _q("from", _DT), _q("to", _DT), _q("limit", {"type": "integer"})],
            )
        },
        "/consultations": {
            "get": _op(
                "My consultations",
                _json(arr("Consultation")),
                errs=(401, 422),
                params=[
                    _q("when", {"type": "string", "enum": ["upcoming", "past"]}),
                    _q("limit", {"type": "integer"}),
                    _q("offset", {"type": "integer"}),
                ],
            ),
            "post": _op(
                "Book a planned consultation",
                _json(_ref("Consultation"), "Booked"),
                status="201",
                errs=(401, 409, 422),
                body="BookingRequest",
            ),
        },
        "/consultations/{id}": {
            "get": _op("One consultation", _json(_ref("Consultation")), errs=(401, 404), params=[_ID])
        },
        "/consultations/{id}/messages": {
            "get": _op(
                "Chat history (last 50, or after a message id)",
                _json(arr("Message")),
                errs=(401, 404, 422),
                params=[_ID, _q("after", {"type": "integer"}), _q("limit", {"type": "integer"})],
            ),
            "post": _op(
                "Send a chat message (also broadcast to the room)",
                _json(_ref("Message"), "Sent"),
                status="201",
                errs=(401, 404, 409, 422),
                body="MessageRequest",
                params=[_ID],
            ),
        },
        "/consultations/{id}/attachments": {
            "post": {
                "summary": "Upload a document (multipart field 'file'): PDF, JPEG, PNG, HEIC/HEIF, DICOM, plain text",
                "parameters": [_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("Attachment"), "Stored"),
                    **_errors(401, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/consultations/{id}/ice-servers": {
            "get": _op(
                "ICE servers for the call: STUN, and TURN with time-limited credentials (coturn REST scheme)",
                _json(_ref("IceConfig")),
                errs=(401, 404),
                params=[_ID],
            )
        },
        "/consultations/{id}/conclusion": {
            "get": _op(
                "The conclusion (doctor: also the draft; patient: once signed)",
                _json(_ref("Conclusion")),
                errs=(401, 404),
                params=[_ID],
            ),
            "put": _op(
                "Save the draft (the consultation's doctor only)",
                _json(_ref("Conclusion")),
                errs=(401, 403, 404, 409, 422),
                body="ConclusionContent",
                params=[_ID],
            ),
        },
        "/consultations/{id}/conclusion/sign": {
            "post": _op(
                "Sign with the doctor's password; the consultation becomes completed",
                _json(_ref("Conclusion")),
                errs=(401, 403, 404, 409, 422),
                body="SignRequest",
                params=[_ID],
            )
        },
        "/consultations/{id}/conclusion/addenda": {
            "post": _op(
                "Add a correction to the signed conclusion",
                _json(_ref("Conclusion"), "Added"),
                status="201",
                errs=(401, 403, 404, 409, 422),
                body="AddendumRequest",
                params=[_ID],
            )
        },
        "/consultations/{id}/conclusion.pdf": {
            "get": {
                "summary": "The signed conclusion as a PDF",
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "PDF", "content": {"application/pdf": {}}},
                    **_errors(401, 404, 409),
                },
            }
        },
        "/patients": {
            "get": _op(
                "Records staff: search patients by name, birth date or policy number",
                _json({"type": "array", "items": {"type": "object"}}),
                errs=(401, 403, 422),
                params=[_q("q", {"type": "string"}, True), _q("limit", {"type": "integer"})],
            )
        },
        "/patients/{id}/record": {
            "get": _op(
                "The e-card: entries of every kind, newest first",
                _json(arr("RecordEntry")),
                errs=(401, 404, 422),
                params=[
                    _ID,
                    _q("kind", {"type": "string", "enum": ["conclusion", "visit", "document"]}),
                    _q("from", _DT),
                    _q("to", _DT),
                    _q("specialty", {"type": "string"}),
                    _q("text", {"type": "string"}),
                    _q("limit", {"type": "integer"}),
                    _q("offset", {"type": "integer"}),
                ],
            )
        },
        "/patients/{id}/record/visits": {
            "post": _op(
                "Records staff: add an in-person visit",
                _json(_ref("RecordEntry"), "Added"),
                status="201",
                errs=(401, 403, 404, 422),
                body="VisitRequest",
                params=[_ID],
            )
        },
        "/patients/{id}/record/visits/{visit_id}/documents": {
            "post": {
                "summary": "Records staff: attach a document to an in-person visit (multipart field 'file')",
                "parameters": [_ID, _q("visit_id", {"type": "integer"}, where="path")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("Attachment"), "Stored"),
                    **_errors(401, 403, 404, 413, 415, 422, 503),
                },
            }
        },
        "/patients/{id}/record/access-log": {
            "get": _op(
                "Who looked at this record (patient, guardian, records staff)",
                _json({"type": "array", "items": {"type": "object"}}),
                errs=(401, 404),
                params=[_ID],
            )
        },
        "/patients/{id}/record/fhir": {
            "get": {
                "summary": "The e-card as a FHIR R4 Bundle",
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "Bundle", "content": {"application/fhir+json": {}}},
                    **_errors(401, 404),
                },
            }
        },
        "/icd10": {
            "get": _op(
                "Search the ICD-10 list (doctors, records staff)",
                _json({"type": "array", "items": {"type": "object"}}),
                errs=(401, 403, 422),
                params=[_q("q", {"type": "string"}, True), _q("lang", {"type": "string"})],
            )
        },
        "/attachments/{id}": {
            "get": {
                "summary": "Download an attachment",
                "parameters": [_ID],
                "responses": {"200": {"description": "The bytes, as an attachment"}, **_errors(401, 404)},
            }
        },
        "/consultations/{id}/cancel": {
            "post": {
                **_op(
                    "Cancel before the start; the doctor must give a reason, which the member reads",
                    _json(_ref("Consultation")),
                    errs=(401, 404, 409, 422),
                    params=[_ID],
                ),
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("CancelRequest")}},
                },
            }
        },
        "/asyncapi.json": {
            "get": _op(
                "The AsyncAPI 3.0 document of the Socket.IO events: payloads with their limits, acks with "
                "their error codes, and what the server sends",
                _json({"type": "object"}, "The AsyncAPI document"),
                errs=(),
                secured=False,
            )
        },
        "/media-check/offer": {
            "post": {
                "summary": "Pre-call device check: send a WebRTC offer (complete ICE, no trickle); the server "
                "peer answers and echoes camera and microphone back until hang-up or the time limit",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["sdp", "type"],
                                "properties": {
                                    "sdp": {"type": "string", "maxLength": 20480},
                                    "type": {"type": "string", "enum": ["offer"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "sdp": {"type": "string"},
                                "type": {"type": "string", "enum": ["answer"]},
                            },
                        },
                        "The answer",
                    ),
                    **_errors(400, 401, 403, 422, 429, 503),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "telemed API",
            "version": "1.0.0",
            "description": "Teleconsultations for insured members. Errors: {error: {code, message}}.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": _json(_ref("Error"), "Error")},
        },
    }


@api.get("/openapi.json")
def openapi_json():
    """This API's OpenAPI document."""
    return jsonify(document())

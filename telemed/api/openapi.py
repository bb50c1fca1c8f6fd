"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import cast

from flask import jsonify

from telemed.api import api, openapi_urgent
from telemed.api.openapi_parts import (
    DATE_TIME,
    ID_PARAM,
    SCHEMAS,
    error_responses,
    json_response,
    operation,
    param,
    ref,
)


def document() -> dict:
    arr = lambda name: {"type": "array", "items": ref(name)}  # noqa: E731
    paths = {
        "/auth/token": {
            "post": operation(
                "Log in and get a bearer token",
                json_response(ref("Token")),
                errs=(401, 422, 429),
                body="Credentials",
                secured=False,
            ),
            "delete": operation("Revoke the token used", {"description": "Revoked"}, status="204"),
        },
        "/me": {"get": operation("The current user", json_response(ref("Me")))},
        "/me/consent": {
            "post": operation(
                "Accept the personal-data consent",
                json_response({"type": "object"}),
                errs=(401, 422),
                body="ConsentRequest",
            ),
            "delete": operation("Withdraw the consent", json_response({"type": "object"})),
        },
        "/specialties": {"get": operation("Specialties", json_response(arr("Specialty")))},
        "/doctors": {
            "get": operation(
                "Doctors of a specialty, most experienced first",
                json_response(arr("Doctor")),
                errs=(401, 422),
                params=[param("specialty", {"type": "string"}, True)],
            )
        },
        "/doctors/{id}/slots": {
            "get": operation(
                "Free slots",
                json_response(arr("Slot")),
                errs=(401, 404, 422),
                params=[
                    ID_PARAM,
                    param("from", DATE_TIME),
                    param("to", DATE_TIME),
                    param("limit", {"type": "integer"}),
                ],
            )
        },
        "/consultations": {
            "get": operation(
                "My consultations",
                json_response(arr("Consultation")),
                errs=(401, 422),
                params=[
                    param("when", {"type": "string", "enum": ["upcoming", "past"]}),
                    param("limit", {"type": "integer"}),
                    param("offset", {"type": "integer"}),
                ],
            ),
            "post": operation(
                "Book a planned consultation",
                json_response(ref("Consultation"), "Booked"),
                status="201",
                errs=(401, 409, 422),
                body="BookingRequest",
            ),
        },
        "/consultations/{id}": {
            "get": operation(
                "One consultation", json_response(ref("Consultation")), errs=(401, 404), params=[ID_PARAM]
            )
        },
        "/consultations/{id}/messages": {
            "get": operation(
                "Chat history (last 50, or after a message id)",
                json_response(arr("Message")),
                errs=(401, 404, 422),
                params=[ID_PARAM, param("after", {"type": "integer"}), param("limit", {"type": "integer"})],
            ),
            "post": operation(
                "Send a chat message (also broadcast to the room)",
                json_response(ref("Message"), "Sent"),
                status="201",
                errs=(401, 404, 409, 422),
                body="MessageRequest",
                params=[ID_PARAM],
            ),
        },
        "/consultations/{id}/attachments": {
            "post": {
                "summary": "Upload a document (multipart field 'file'): PDF, JPEG, PNG, HEIC/HEIF, DICOM, plain text",
                "parameters": [ID_PARAM],
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
                    "201": json_response(ref("Attachment"), "Stored"),
                    **error_responses(401, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/consultations/{id}/ice-servers": {
            "get": operation(
                "ICE servers for the call: STUN, and TURN with time-limited credentials (coturn REST scheme)",
                json_response(ref("IceConfig")),
                errs=(401, 404),
                params=[ID_PARAM],
            )
        },
        "/consultations/{id}/conclusion": {
            "get": operation(
                "The conclusion (doctor: also the draft; patient: once signed)",
                json_response(ref("Conclusion")),
                errs=(401, 404),
                params=[ID_PARAM],
            ),
            "put": operation(
                "Save the draft (the consultation's doctor only)",
                json_response(ref("Conclusion")),
                errs=(401, 403, 404, 409, 422),
                body="ConclusionContent",
                params=[ID_PARAM],
            ),
        },
        "/consultations/{id}/conclusion/sign": {
            "post": operation(
                "Sign with the doctor's password; the consultation becomes completed",
                json_response(ref("Conclusion")),
                errs=(401, 403, 404, 409, 422),
                body="SignRequest",
                params=[ID_PARAM],
            )
        },
        "/consultations/{id}/conclusion/addenda": {
            "post": operation(
                "Add a correction to the signed conclusion",
                json_response(ref("Conclusion"), "Added"),
                status="201",
                errs=(401, 403, 404, 409, 422),
                body="AddendumRequest",
                params=[ID_PARAM],
            )
        },
        "/consultations/{id}/conclusion.pdf": {
            "get": {
                "summary": "The signed conclusion as a PDF",
                "parameters": [ID_PARAM],
                "responses": {
                    "200": {"description": "PDF", "content": {"application/pdf": {}}},
                    **error_responses(401, 404, 409),
                },
            }
        },
        "/patients": {
            "get": operation(
                "Records staff: search patients by name, birth date or policy number",
                json_response({"type": "array", "items": {"type": "object"}}),
                errs=(401, 403, 422),
                params=[param("q", {"type": "string"}, True), param("limit", {"type": "integer"})],
            )
        },
        "/patients/{id}/record": {
            "get": operation(
                "The e-card: entries of every kind, newest first",
                json_response(arr("RecordEntry")),
                errs=(401, 404, 422),
                params=[
                    ID_PARAM,
                    param("kind", {"type": "string", "enum": ["conclusion", "visit", "document"]}),
                    param("from", DATE_TIME),
                    param("to", DATE_TIME),
                    param("specialty", {"type": "string"}),
                    param("text", {"type": "string"}),
                    param("limit", {"type": "integer"}),
                    param("offset", {"type": "integer"}),
                ],
            )
        },
        "/patients/{id}/record/visits": {
            "post": operation(
                "Records staff: add an in-person visit",
                json_response(ref("RecordEntry"), "Added"),
                status="201",
                errs=(401, 403, 404, 422),
                body="VisitRequest",
                params=[ID_PARAM],
            )
        },
        "/patients/{id}/record/visits/{visit_id}/documents": {
            "post": {
                "summary": "Records staff: attach a document to an in-person visit (multipart field 'file')",
                "parameters": [ID_PARAM, param("visit_id", {"type": "integer"}, where="path")],
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
                    "201": json_response(ref("Attachment"), "Stored"),
                    **error_responses(401, 403, 404, 413, 415, 422, 503),
                },
            }
        },
        "/patients/{id}/record/access-log": {
            "get": operation(
                "Who looked at this record (patient, guardian, records staff)",
                json_response({"type": "array", "items": {"type": "object"}}),
                errs=(401, 404),
                params=[ID_PARAM],
            )
        },
        "/patients/{id}/record/fhir": {
            "get": {
                "summary": "The e-card as a FHIR R4 Bundle",
                "parameters": [ID_PARAM],
                "responses": {
                    "200": {"description": "Bundle", "content": {"application/fhir+json": {}}},
                    **error_responses(401, 404),
                },
            }
        },
        "/icd10": {
            "get": operation(
                "Search the ICD-10 list (doctors, records staff)",
                json_response({"type": "array", "items": {"type": "object"}}),
                errs=(401, 403, 422),
                params=[param("q", {"type": "string"}, True), param("lang", {"type": "string"})],
            )
        },
        "/attachments/{id}": {
            "get": {
                "summary": "Download an attachment",
                "parameters": [ID_PARAM],
                "responses": {
                    "200": {"description": "The bytes, as an attachment"},
                    **error_responses(401, 404),
                },
            }
        },
        "/consultations/{id}/cancel": {
            "post": {
                **operation(
                    "Cancel before the start; the doctor must give a reason, which the member reads",
                    json_response(ref("Consultation")),
                    errs=(401, 404, 409, 422),
                    params=[ID_PARAM],
                ),
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": ref("CancelRequest")}},
                },
            }
        },
        "/asyncapi.json": {
            "get": operation(
                "The AsyncAPI 3.0 document of the Socket.IO events: payloads with their limits, acks with "
                "their error codes, and what the server sends",
                json_response({"type": "object"}, "The AsyncAPI document"),
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
                    "200": json_response(
                        {
                            "type": "object",
                            "properties": {
                                "sdp": {"type": "string"},
                                "type": {"type": "string", "enum": ["answer"]},
                            },
                        },
                        "The answer",
                    ),
                    **error_responses(400, 401, 403, 422, 429, 503),
                },
            }
        },
    }
    paths.update(openapi_urgent.paths())
    consultation = cast(dict, SCHEMAS["Consultation"])
    schemas = {
        **SCHEMAS,
        **openapi_urgent.SCHEMAS,
        "Consultation": {
            **consultation,
            "properties": {**consultation["properties"], **openapi_urgent.CONSULTATION_FIELDS},
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
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": json_response(ref("Error"), "Error")},
        },
    }


@api.get("/openapi.json")
def openapi_json():
    """This API's OpenAPI document."""
    return jsonify(document())

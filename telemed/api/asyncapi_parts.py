"""Building blocks of the AsyncAPI document (``api/asyncapi.py`` assembles it): the error codes
each client event's ack may carry (``REFUSALS``), schema helpers, the component schemas, and the
ack schema of an event."""

from __future__ import annotations

from telemed import errors
from telemed.api import openapi_urgent
from telemed.auth.roles import Role
from telemed.chat import service as chat
from telemed.db import ID_MAX
from telemed.video import service as video

# Every event may be refused with these: the event data is not an object or the packet is not JSON
# (bad_request), a field is invalid (validation_error), the connection's login ended
# (not_authenticated), the event is over EVENT_MAX (payload_too_large), the consultation is not the
# user's (not_found, exactly as if it did not exist), or the server failed (internal_error).
COMMON_REFUSALS = (
    errors.BadRequest.code,
    errors.ValidationFailed.code,
    errors.NotAuthenticated.code,
    errors.NotFound.code,
    errors.PayloadTooLarge.code,
    errors.InternalError.code,
)
#: The error codes each client event's ack may carry: the documented list, in one place.
REFUSALS: dict[str, tuple[str, ...]] = {
    "join": COMMON_REFUSALS,
    "leave": COMMON_REFUSALS,
    "message": (*COMMON_REFUSALS, errors.ChatReadOnly.code),
    "typing": COMMON_REFUSALS,
    "read": COMMON_REFUSALS,
    "signal": (
        *COMMON_REFUSALS,
        errors.RoomClosed.code,
        errors.ConsultationCancelled.code,
        errors.NotJoined.code,
    ),
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    return {"type": "object", "required": list(required), "properties": properties, **extra}


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def without(chars: str) -> dict:
    """Schema keywords for a string holding none of the regular-expression range ``chars`` (null passes)."""
    return {"not": {"type": "string", "pattern": f"[{chars}]"}}


ID = {
    "type": "integer",
    "minimum": 1,
    "description": f"A positive integer; an id above {ID_MAX} (the 32-bit id columns' largest) "
    "is answered as one that does not exist.",
}
CONSULTATION = {"consultation_id": ID}
DT = {"type": "string", "format": "date-time"}
ONE_LINE = without(video.CONTROL_CHARS + r"\r\n")


def schemas() -> dict:
    return {
        "ConsultationId": obj(CONSULTATION, ("consultation_id",)),
        "Person": obj(
            {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
            },
            ("id", "name", "role"),
        ),
        "Attachment": obj(
            {
                "id": {"type": "integer"},
                "filename": {"type": "string"},
                "content_type": {"type": "string"},
                "size": {"type": "integer"},
            },
            ("id", "filename", "content_type", "size"),
        ),
        "ChatMessage": obj(
            {
                "id": {"type": "integer"},
                "consultation_id": {"type": "integer"},
                "author": ref("Person"),
                "text": {"type": "string", "maxLength": chat.TEXT_MAX},
                "attachments": {
                    "type": "array",
                    "items": ref("Attachment"),
                    "maxItems": chat.ATTACHMENTS_MAX,
                },
                "created_at": DT,
            },
            ("id", "consultation_id", "author", "text", "attachments", "created_at"),
        ),
        "IceCandidate": obj(
            {
                "candidate": {
                    "type": "string",
                    "maxLength": video.CANDIDATE_MAX,
                    **ONE_LINE,
                    "description": "An a=candidate line's value ('candidate:...'), or '' for the end of candidates.",
                },
                "sdpMid": {"type": ["string", "null"], "maxLength": video.SDP_MID_MAX, **ONE_LINE},
                "sdpMLineIndex": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": video.SDP_MLINE_INDEX_MAX,
                },
                "usernameFragment": {
                    "type": ["string", "null"],
                    "maxLength": video.UFRAG_MAX,
                    **ONE_LINE,
                },
            },
            ("candidate",),
            additionalProperties=False,
        ),
        "Signal": obj(
            {
                "type": {"type": "string", "enum": list(video.SIGNAL_TYPES)},
                "sdp": {
                    "type": ["string", "null"],
                    "maxLength": video.SDP_MAX,
                    "pattern": "^v=0",
                    **without(video.CONTROL_CHARS),
                    "description": "offer and answer: the SDP (no control characters but CR, LF and tab); "
                    "read for offer and answer only, refused on restart.",
                },
                "candidate": {"oneOf": [{"type": "null"}, ref("IceCandidate")]},
                "pc": {"type": ["string", "null"], "pattern": video.PC_ID_RE.pattern},
                "to_pc": {"type": ["string", "null"], "pattern": video.PC_ID_RE.pattern},
            },
            ("type",),
        ),
        "Queue": openapi_urgent.SCHEMAS["Queue"],
        "QueueItem": openapi_urgent.SCHEMAS["QueueItem"],
        "Doctor": obj(
            {"id": {"type": "integer"}, "name": {"type": "string"}, "specialty": {"type": "string"}},
            ("id", "name", "specialty"),
        ),
        "Error": obj(
            {
                "code": {"type": "string", "enum": sorted({c for codes in REFUSALS.values() for c in codes})},
                "message": {"type": "string", "description": "In the connection's language."},
                "details": {"type": "object", "description": "e.g. {field} for validation_error"},
            },
            ("code", "message"),
        ),
    }


def refused(event: str) -> dict:
    error = {"allOf": [ref("Error"), {"properties": {"code": {"enum": list(REFUSALS[event])}}}]}
    return obj({"ok": {"const": False}, "error": error}, ("ok", "error"), additionalProperties=False)


def ack(event: str, ok_fields: dict, required: tuple[str, ...] = ()) -> dict:
    ok = obj({"ok": {"const": True}, **ok_fields}, ("ok", *required), additionalProperties=False)
    return {"oneOf": [ok, refused(event)]}

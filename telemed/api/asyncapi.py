"""The AsyncAPI 3.0 document of the Socket.IO events, served at ``/api/v1/asyncapi.json``.

The default namespace's events as the server sees them: what clients send (``join``, ``leave``,
``message``, ``typing``, ``read``, ``signal``) with the ack each gets, and what the server sends
(``message``, ``typing``, ``read``, ``presence``, ``signal``, and the urgent queue's
``urgent_queue`` and ``urgent_status``). Payload schemas (JSON Schema draft 07,
AsyncAPI's default schema format) carry the limits the handlers enforce, taken from the same
constants; ``REFUSALS`` lists the error codes each event may answer.
"""

from __future__ import annotations

from flask import jsonify, request

from telemed import errors, inputs
from telemed.api import api, openapi_urgent
from telemed.api.contract import documented
from telemed.api.openapi_parts import json_response
from telemed.auth.roles import Role
from telemed.chat import service as chat
from telemed.db import ID_MAX
from telemed.scheduling.status import Mode, Status
from telemed.sockets import EVENT_MAX, TRANSPORT_MAX
from telemed.urgent.notices import QUEUE_EVENT, STATUS_EVENT, Action
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


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    return {"type": "object", "required": list(required), "properties": properties, **extra}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _without(chars: str) -> dict:
    """Schema keywords for a string holding none of the regular-expression range ``chars`` (null passes)."""
    return {"not": {"type": "string", "pattern": f"[{chars}]"}}


_ID = {
    "type": "integer",
    "minimum": 1,
    "description": f"A positive integer; an id above {ID_MAX} (the 32-bit id columns' largest) "
    "is answered as one that does not exist.",
}
_CONSULTATION = {"consultation_id": _ID}
_DT = {"type": "string", "format": "date-time"}
_ONE_LINE = _without(video.CONTROL_CHARS + r"\r\n")


def _schemas() -> dict:
    return {
        "ConsultationId": _object(_CONSULTATION, ("consultation_id",)),
        "Person": _object(
            {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
            },
            ("id", "name", "role"),
        ),
        "Attachment": _object(
            {
                "id": {"type": "integer"},
                "filename": {"type": "string"},
                "content_type": {"type": "string"},
                "size": {"type": "integer"},
            },
            ("id", "filename", "content_type", "size"),
        ),
        "ChatMessage": _object(
            {
                "id": {"type": "integer"},
                "consultation_id": {"type": "integer"},
                "author": _ref("Person"),
                "text": {"type": "string", "maxLength": chat.TEXT_MAX},
                "attachments": {
                    "type": "array",
                    "items": _ref("Attachment"),
                    "maxItems": chat.ATTACHMENTS_MAX,
                },
                "created_at": _DT,
            },
            ("id", "consultation_id", "author", "text", "attachments", "created_at"),
        ),
        "IceCandidate": _object(
            {
                "candidate": {
                    "type": "string",
                    "maxLength": video.CANDIDATE_MAX,
                    **_ONE_LINE,
                    "description": "An a=candidate line's value ('candidate:...'), or '' for the end of candidates.",
                },
                "sdpMid": {"type": ["string", "null"], "maxLength": video.SDP_MID_MAX, **_ONE_LINE},
                "sdpMLineIndex": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": video.SDP_MLINE_INDEX_MAX,
                },
                "usernameFragment": {
                    "type": ["string", "null"],
                    "maxLength": video.UFRAG_MAX,
                    **_ONE_LINE,
                },
            },
            ("candidate",),
            additionalProperties=False,
        ),
        "Signal": _object(
            {
                "type": {"type": "string", "enum": list(video.SIGNAL_TYPES)},
                "sdp": {
                    "type": ["string", "null"],
                    "maxLength": video.SDP_MAX,
                    "pattern": "^v=0",
                    **_without(video.CONTROL_CHARS),
                    "description": "offer and answer: the SDP (no control characters but CR, LF and tab); "
                    "read for offer and answer only, refused on restart.",
                },
                "candidate": {"oneOf": [{"type": "null"}, _ref("IceCandidate")]},
                "pc": {"type": ["string", "null"], "pattern": video.PC_ID_RE.pattern},
                "to_pc": {"type": ["string", "null"], "pattern": video.PC_ID_RE.pattern},
            },
            ("type",),
        ),
        "Queue": openapi_urgent.SCHEMAS["Queue"],
        "QueueItem": openapi_urgent.SCHEMAS["QueueItem"],
        "Doctor": _object(
            {"id": {"type": "integer"}, "name": {"type": "string"}, "specialty": {"type": "string"}},
            ("id", "name", "specialty"),
        ),
        "Error": _object(
            {
                "code": {"type": "string", "enum": sorted({c for codes in REFUSALS.values() for c in codes})},
                "message": {"type": "string", "description": "In the connection's language."},
                "details": {"type": "object", "description": "e.g. {field} for validation_error"},
            },
            ("code", "message"),
        ),
    }


def _refused(event: str) -> dict:
    error = {"allOf": [_ref("Error"), {"properties": {"code": {"enum": list(REFUSALS[event])}}}]}
    return _object({"ok": {"const": False}, "error": error}, ("ok", "error"), additionalProperties=False)


def _ack(event: str, ok_fields: dict, required: tuple[str, ...] = ()) -> dict:
    ok = _object({"ok": {"const": True}, **ok_fields}, ("ok", *required), additionalProperties=False)
    return {"oneOf": [ok, _refused(event)]}


def _client_events() -> dict[str, tuple[str, dict, dict]]:
    """name → (summary, payload schema, ack schema)."""
    sdp_types = [t for t in video.SIGNAL_TYPES if t in ("offer", "answer")]
    return {
        "join": (
            "Enter a consultation's room (its chat and call): the history, read marks and state; the room "
            "gets presence. after: catch up on the messages after that id (at most "
            f"{chat.HISTORY_MAX}), else the last {chat.HISTORY_DEFAULT}.",
            _object({**_CONSULTATION, "after": _nullable(_ID)}, ("consultation_id",)),
            _ack(
                "join",
                {
                    "messages": {"type": "array", "items": _ref("ChatMessage"), "maxItems": chat.HISTORY_MAX},
                    "read_marks": {
                        "type": "object",
                        "description": "user id → the id of the last message that user read",
                        "propertyNames": {"pattern": "^[0-9]+$"},
                        "additionalProperties": {"type": "integer"},
                    },
                    "chat_open": {"type": "boolean"},
                    "room_open": {"type": "boolean"},
                    "consultation": _object(
                        {
                            "id": {"type": "integer"},
                            "status": {"type": "string", "enum": [s.value for s in Status]},
                            "mode": {"type": "string", "enum": [m.value for m in Mode]},
                            "start": _nullable(_DT),
                            "end": _nullable(_DT),
                            "queue": _ref("Queue"),
                        },
                        ("id", "status", "mode", "start", "end"),
                        description="start and end are null until a doctor takes an urgent request; "
                        "queue is there while it waits",
                    ),
                },
                ("messages", "read_marks", "chat_open", "room_open", "consultation"),
            ),
        ),
        "leave": (
            "Leave a consultation's room; the room gets presence.",
            _ref("ConsultationId"),
            _ack("leave", {}),
        ),
        "message": (
            "Send a chat message: stored, then sent to the room as message. Text (trimmed, at most "
            f"{chat.TEXT_MAX} characters) and/or up to {chat.ATTACHMENTS_MAX} of the sender's own unsent "
            "uploads of this consultation.",
            _object(
                {
                    **_CONSULTATION,
                    "text": {
                        "type": ["string", "null"],
                        "maxLength": chat.TEXT_MAX,
                        **_without(inputs.CONTROL_CHARS),
                    },
                    "attachment_ids": {
                        "type": ["array", "null"],
                        "items": _ID,
                        "maxItems": chat.ATTACHMENTS_MAX,
                    },
                },
                ("consultation_id",),
            ),
            _ack("message", {"id": {"type": "integer"}}, ("id",)),
        ),
        "typing": (
            "Tell the others in the room that this user is typing (typing: false: stopped).",
            _object({**_CONSULTATION, "typing": {"type": ["boolean", "null"]}}, ("consultation_id",)),
            _ack("typing", {}),
        ),
        "read": (
            "Move this user's read mark up to a message of the chat; the room gets read.",
            _object({**_CONSULTATION, "up_to_id": _ID}, ("consultation_id", "up_to_id")),
            _ack("read", {"up_to_id": {"type": "integer"}}, ("up_to_id",)),
        ),
        "signal": (
            "WebRTC signaling, relayed to the other participant only, in the order sent, acked after the "
            "relay; only while the room is open and after join.",
            {
                "allOf": [
                    _ref("ConsultationId"),
                    _ref("Signal"),
                    {"if": {"properties": {"type": {"enum": sdp_types}}}, "then": {"required": ["sdp"]}},
                    {
                        "if": {"properties": {"type": {"const": "restart"}}},
                        "then": {"properties": {"sdp": {"type": "null"}}},
                    },
                ]
            },
            _ack("signal", {"delivered": {"type": "integer", "minimum": 0}}, ("delivered",)),
        ),
    }


def _server_events() -> dict[str, tuple[str, dict]]:
    return {
        "message": (
            "A chat message stored in a consultation whose room this connection joined.",
            _ref("ChatMessage"),
        ),
        "typing": (
            "Someone else in the room is typing (or stopped).",
            _object(
                {**_CONSULTATION, "user": _ref("Person"), "typing": {"type": "boolean"}},
                ("consultation_id", "user", "typing"),
            ),
        ),
        "read": (
            "A user's read mark moved.",
            _object(
                {**_CONSULTATION, "user_id": {"type": "integer"}, "up_to_id": {"type": "integer"}},
                ("consultation_id", "user_id", "up_to_id"),
            ),
        ),
        "presence": (
            "Who is in the room now, in order of arrival.",
            _object(
                {**_CONSULTATION, "participants": {"type": "array", "items": _ref("Person")}},
                ("consultation_id", "participants"),
            ),
        ),
        "signal": (
            "A signal from the other participant.",
            {
                "allOf": [
                    _ref("Signal"),
                    _object({**_CONSULTATION, "from": _ref("Person")}, ("consultation_id", "from")),
                ]
            },
        ),
        QUEUE_EVENT: (
            "To therapists and pediatricians (all their connections): a request of their specialty was "
            "added, claimed, cancelled or escalated. Doctors on duty hear of every change; once a request "
            "has escalated (level 1 and 2), every doctor of the specialty does.",
            _object(
                {
                    "action": {"type": "string", "enum": [a.value for a in Action]},
                    "request": _ref("QueueItem"),
                },
                ("action", "request"),
            ),
        ),
        STATUS_EVENT: (
            "To a consultation's room (its member's page after join): an urgent request's place, estimate "
            "or status changed. queue is null once it no longer waits; doctor is who took it.",
            _object(
                {
                    **_CONSULTATION,
                    "status": {"type": "string", "enum": [s.value for s in Status]},
                    "queue": {"oneOf": [{"type": "null"}, _ref("Queue")]},
                    "doctor": {"oneOf": [{"type": "null"}, _ref("Doctor")]},
                },
                ("consultation_id", "status", "queue", "doctor"),
            ),
        ),
    }


def document(host: str = "localhost", secure: bool = False) -> dict:
    messages: dict = {}
    operations: dict = {}
    channel_messages: dict = {}
    for name, (summary, payload, ack) in _client_events().items():
        messages[name] = {"name": name, "title": name, "summary": summary, "payload": payload}
        messages[f"{name}Ack"] = {"title": f"{name} ack", "summary": f"The ack of {name}.", "payload": ack}
        for key in (name, f"{name}Ack"):
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        operations[f"on_{name}"] = {
            "action": "receive",
            "title": f"{name} (client → server)",
            "summary": summary,
            "channel": {"$ref": "#/channels/default"},
            "messages": [{"$ref": f"#/channels/default/messages/{name}"}],
            "reply": {
                "channel": {"$ref": "#/channels/default"},
                "messages": [{"$ref": f"#/channels/default/messages/{name}Ack"}],
            },
        }
    for name, (summary, payload) in _server_events().items():
        key = f"{name}Event"
        messages[key] = {
            "name": name,
            "title": f"{name} (server → client)",
            "summary": summary,
            "payload": payload,
        }
        channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        operations[f"emit_{name}"] = {
            "action": "send",
            "title": f"{name} (server → client)",
            "summary": summary,
            "channel": {"$ref": "#/channels/default"},
            "messages": [{"$ref": f"#/channels/default/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "telemed Socket.IO events",
            "version": "1.0.0",
            "description": (
                "Socket.IO 5 (Engine.IO 4) on the default path /socket.io/, default namespace. Pages connect "
                'with their session cookie, API clients with auth={"token": "<bearer token>"}; a refused '
                "connection's connect_error carries {message, data: {code, message}}. Every client event "
                'is acknowledged with {"ok": true, ...} or {"ok": false, "error": {"code", "message"}} '
                "(the codes each event may answer are in its ack schema). An event whose packet is longer "
                f"than {EVENT_MAX} characters is answered payload_too_large; a WebSocket message or "
                f"long-polling request over {TRANSPORT_MAX} bytes closes the connection unanswered. Any other "
                "event name is answered bad_request; unknown fields are ignored."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "telemed": {
                "host": host,
                "pathname": "/socket.io/",
                "protocol": "wss" if secure else "ws",
                "description": "This server (Socket.IO over WebSocket, or HTTP long-polling).",
            }
        },
        "channels": {
            "default": {
                "address": "/",
                "title": "The default namespace",
                "description": "Events of the consultations whose rooms the connection joined.",
                "messages": channel_messages,
            }
        },
        "operations": operations,
        "components": {"schemas": _schemas(), "messages": messages},
    }


@api.get("/asyncapi.json")
@documented(json_response({"type": "object"}, "The AsyncAPI document"), public=True)
def asyncapi_json():
    """The AsyncAPI 3.0 document of the Socket.IO events: payloads with their limits, acks with their
    error codes, and what the server sends. Anyone may read it."""
    return jsonify(document(request.host, request.is_secure))

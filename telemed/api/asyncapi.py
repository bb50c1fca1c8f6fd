"""The AsyncAPI 3.0 document of the Socket.IO events, served at ``/api/v1/asyncapi.json``.

The default namespace's events as the server sees them: what clients send (``join``, ``leave``,
``message``, ``typing``, ``read``, ``signal``) with the ack each gets, and what the server sends
(``message``, ``typing``, ``read``, ``presence``, ``signal``, and the urgent queue's
``urgent_queue`` and ``urgent_status``, and ``notification`` to a user's connections). Payload schemas (JSON Schema draft 07,
AsyncAPI's default schema format) carry the limits the handlers enforce, taken from the same
constants; ``REFUSALS`` (``api/asyncapi_parts.py``) lists the error codes each event may answer.
"""

from __future__ import annotations

from flask import jsonify, request

from telemed import inputs
from telemed.api import api
from telemed.api.asyncapi_parts import (
    CONSULTATION,
    DT,
    ID,
    ack,
    nullable,
    obj,
    ref,
    schemas,
    without,
)
from telemed.api.contract import documented
from telemed.api.openapi_parts import json_response
from telemed.chat import service as chat
from telemed.notifications.kinds import KINDS
from telemed.scheduling.status import Mode, Status
from telemed.sockets import EVENT_MAX, TRANSPORT_MAX
from telemed.urgent.notices import QUEUE_EVENT, STATUS_EVENT, Action
from telemed.video import service as video


def _client_events() -> dict[str, tuple[str, dict, dict]]:
    """name → (summary, payload schema, ack schema)."""
    sdp_types = [t for t in video.SIGNAL_TYPES if t in ("offer", "answer")]
    return {
        "join": (
            "Enter a consultation's room (its chat and call): the history, read marks and state; the room "
            "gets presence. after: catch up on the messages after that id (at most "
            f"{chat.HISTORY_MAX}), else the last {chat.HISTORY_DEFAULT}.",
            obj({**CONSULTATION, "after": nullable(ID)}, ("consultation_id",)),
            ack(
                "join",
                {
                    "messages": {"type": "array", "items": ref("ChatMessage"), "maxItems": chat.HISTORY_MAX},
                    "read_marks": {
                        "type": "object",
                        "description": "user id → the id of the last message that user read",
                        "propertyNames": {"pattern": "^[0-9]+$"},
                        "additionalProperties": {"type": "integer"},
                    },
                    "chat_open": {"type": "boolean"},
                    "room_open": {"type": "boolean"},
                    "consultation": obj(
                        {
                            "id": {"type": "integer"},
                            "status": {"type": "string", "enum": [s.value for s in Status]},
                            "mode": {"type": "string", "enum": [m.value for m in Mode]},
                            "start": nullable(DT),
                            "end": nullable(DT),
                            "queue": ref("Queue"),
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
            ref("ConsultationId"),
            ack("leave", {}),
        ),
        "message": (
            "Send a chat message: stored, then sent to the room as message. Text (trimmed, at most "
            f"{chat.TEXT_MAX} characters) and/or up to {chat.ATTACHMENTS_MAX} of the sender's own unsent "
            "uploads of this consultation.",
            obj(
                {
                    **CONSULTATION,
                    "text": {
                        "type": ["string", "null"],
                        "maxLength": chat.TEXT_MAX,
                        **without(inputs.CONTROL_CHARS),
                    },
                    "attachment_ids": {
                        "type": ["array", "null"],
                        "items": ID,
                        "maxItems": chat.ATTACHMENTS_MAX,
                    },
                },
                ("consultation_id",),
            ),
            ack("message", {"id": {"type": "integer"}}, ("id",)),
        ),
        "typing": (
            "Tell the others in the room that this user is typing (typing: false: stopped).",
            obj({**CONSULTATION, "typing": {"type": ["boolean", "null"]}}, ("consultation_id",)),
            ack("typing", {}),
        ),
        "read": (
            "Move this user's read mark up to a message of the chat; the room gets read.",
            obj({**CONSULTATION, "up_to_id": ID}, ("consultation_id", "up_to_id")),
            ack("read", {"up_to_id": {"type": "integer"}}, ("up_to_id",)),
        ),
        "signal": (
            "WebRTC signaling, relayed to the other participant only, in the order sent, acked after the "
            "relay; only while the room is open and after join.",
            {
                "allOf": [
                    ref("ConsultationId"),
                    ref("Signal"),
                    {"if": {"properties": {"type": {"enum": sdp_types}}}, "then": {"required": ["sdp"]}},
                    {
                        "if": {"properties": {"type": {"const": "restart"}}},
                        "then": {"properties": {"sdp": {"type": "null"}}},
                    },
                ]
            },
            ack("signal", {"delivered": {"type": "integer", "minimum": 0}}, ("delivered",)),
        ),
    }


def _server_events() -> dict[str, tuple[str, dict]]:
    return {
        "message": (
            "A chat message stored in a consultation whose room this connection joined.",
            ref("ChatMessage"),
        ),
        "typing": (
            "Someone else in the room is typing (or stopped).",
            obj(
                {**CONSULTATION, "user": ref("Person"), "typing": {"type": "boolean"}},
                ("consultation_id", "user", "typing"),
            ),
        ),
        "read": (
            "A user's read mark moved.",
            obj(
                {**CONSULTATION, "user_id": {"type": "integer"}, "up_to_id": {"type": "integer"}},
                ("consultation_id", "user_id", "up_to_id"),
            ),
        ),
        "presence": (
            "Who is in the room now, in order of arrival.",
            obj(
                {**CONSULTATION, "participants": {"type": "array", "items": ref("Person")}},
                ("consultation_id", "participants"),
            ),
        ),
        "signal": (
            "A signal from the other participant.",
            {
                "allOf": [
                    ref("Signal"),
                    obj({**CONSULTATION, "from": ref("Person")}, ("consultation_id", "from")),
                ]
            },
        ),
        QUEUE_EVENT: (
            "To therapists and pediatricians (all their connections): a request of their specialty was "
            "added, claimed, cancelled or escalated. Doctors on duty hear of every change; once a request "
            "has escalated (level 1 and 2), every doctor of the specialty does.",
            obj(
                {
                    "action": {"type": "string", "enum": [a.value for a in Action]},
                    "request": ref("QueueItem"),
                },
                ("action", "request"),
            ),
        ),
        STATUS_EVENT: (
            "To a consultation's room (its member's page after join): an urgent request's place, estimate "
            "or status changed. queue is null once it no longer waits; doctor is who took it.",
            obj(
                {
                    **CONSULTATION,
                    "status": {"type": "string", "enum": [s.value for s in Status]},
                    "queue": {"oneOf": [{"type": "null"}, ref("Queue")]},
                    "doctor": {"oneOf": [{"type": "null"}, ref("Doctor")]},
                },
                ("consultation_id", "status", "queue", "doctor"),
            ),
        ),
        "notification": (
            "To all of a user's connections: a new notification (the bell), as GET "
            "/api/v1/notifications lists it, its title in the user's profile language.",
            obj(
                {
                    "id": {"type": "integer"},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "title": {"type": "string"},
                    "created_at": DT,
                    "read_at": {"type": "null"},
                    "consultation_id": {"type": ["integer", "null"]},
                },
                ("id", "kind", "title", "created_at", "read_at", "consultation_id"),
            ),
        ),
    }


def document(host: str = "localhost", secure: bool = False) -> dict:
    messages: dict = {}
    operations: dict = {}
    channel_messages: dict = {}
    for name, (summary, payload, answer) in _client_events().items():
        messages[name] = {"name": name, "title": name, "summary": summary, "payload": payload}
        messages[f"{name}Ack"] = {"title": f"{name} ack", "summary": f"The ack of {name}.", "payload": answer}
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
        "components": {"schemas": schemas(), "messages": messages},
    }


@api.get("/asyncapi.json")
@documented(json_response({"type": "object"}, "The AsyncAPI document"), public=True)
def asyncapi_json():
    """The AsyncAPI 3.0 document of the Socket.IO events: payloads with their limits, acks with their
    error codes, and what the server sends. Anyone may read it."""
    return jsonify(document(request.host, request.is_secure))

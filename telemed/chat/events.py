"""Socket.IO chat events: ``message``, ``typing``, ``read``. Every handler authorizes again (``telemed.sockets``).

Joining a consultation's room (``join``, ``leave``) is ``video.events``: one room for chat and call.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_socketio import emit

from telemed import errors
from telemed.chat import service as chat
from telemed.chat.writer import MessageWriter, Outgoing
from telemed.extensions import socketio
from telemed.redisconn import batched_emits
from telemed.sockets import (
    CREDENTIAL_KEY,
    LOCALE_KEY,
    acked,
    consultation_id,
    event_data,
    event_handler,
    optional_bool,
    positive_int,
    room,
)
from telemed.web import database, now

log = logging.getLogger(__name__)


def _open_hours() -> int:
    return current_app.config["CHAT_OPEN_HOURS"]


def broadcast_messages(payloads: list[dict]) -> None:
    """Send stored messages, in order, each to everyone in its consultation's room (the
    ``MessageWriter``'s broadcast). Over Redis they leave for the other processes in one round trip.
    A message that cannot be sent is logged and skipped: it is stored, and the room catches up
    through history."""
    with batched_emits(socketio.server.manager):
        for payload in payloads:
            try:
                socketio.emit("message", payload, to=room(payload["consultation_id"]))
            except Exception:
                log.exception("broadcasting chat message %s failed", payload.get("id"))


def register_message_handler(app) -> None:
    """Handle ``message`` on the app's python-socketio server directly, without a Flask context.

    ``{consultation_id, text, attachment_ids?}``: stored first, then sent to the room; ack ``{id}``.
    The sender's credential (kept at connect) and access are checked again by the app's
    ``MessageWriter``, which stores concurrent messages in one transaction (group commit) before
    broadcasting them. This is the chat's hot path: a Flask request context per event would cost
    more than the rest of the work (see ``bench/bench_chat.py``).
    """
    server, writer = socketio.server, app.extensions["telemed.chat_writer"]

    def on_message(sid, data=None, *_extra):
        environ = server.get_environ(sid) or {}
        credential = environ.get(CREDENTIAL_KEY)
        return acked(
            "message", lambda: _send_message(writer, credential, data), environ.get(LOCALE_KEY, "en")
        )

    server.on("message", on_message)


def _send_message(writer: MessageWriter, credential, data) -> dict:
    data = event_data(data)
    if credential is None:
        raise errors.NotAuthenticated()
    cid = consultation_id(data)
    return {"id": writer.send(Outgoing(credential, cid, data.get("text"), data.get("attachment_ids")))["id"]}


def message_writer() -> MessageWriter:
    """The app's group-commit writer of chat messages (see ``telemed.chat.writer``)."""
    return current_app.extensions["telemed.chat_writer"]


def make_message_writer(app) -> MessageWriter:
    """One per app."""
    return MessageWriter(
        app.extensions["telemed.db"],
        broadcast=broadcast_messages,
        clock=now,
        open_hours=lambda: app.config["CHAT_OPEN_HOURS"],
        consent_version=lambda: app.config["CONSENT_VERSION"],
    )


@socketio.on("typing")
@event_handler
def on_typing(actor, data):
    """``{consultation_id, typing?}``: tells the others in the room that this user is typing
    (``typing: false``: stopped); ``typing`` is true or false when present."""
    cid = consultation_id(data)
    typing = optional_bool(data, "typing")
    with database().session() as s:
        chat.consultation_for_chat(s, actor, cid)
    emit(
        "typing",
        {
            "consultation_id": cid,
            "user": {"id": actor.id, "name": actor.name, "role": actor.role},
            "typing": typing is not False,
        },
        to=room(cid),
        include_self=False,
    )


@socketio.on("read")
@event_handler
def on_read(actor, data):
    """``{consultation_id, up_to_id}``: moves this user's read mark; the room gets ``read``."""
    cid = consultation_id(data)
    up_to = positive_int(data, "up_to_id")
    with database().transaction() as s:
        mark = chat.mark_read(s, actor, cid, up_to, now=now())
    emit("read", {"consultation_id": cid, "user_id": actor.id, "up_to_id": mark}, to=room(cid))
    return {"up_to_id": mark}

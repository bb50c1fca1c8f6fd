"""Socket.IO chat events. Every handler authorizes again; see ``telemed.socket_auth``."""

from __future__ import annotations

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room

from telemed import errors
from telemed.chat import service as chat
from telemed.chat.writer import MessageWriter, Outgoing
from telemed.extensions import socketio
from telemed.socket_auth import (
    CREDENTIAL_KEY,
    acked,
    event_data,
    event_handler,
    positive_int,
    remember_token,
    socket_actor,
    socket_credential,
)
from telemed.video import service as video
from telemed.web import database, now


def room(consultation_id: int) -> str:
    return f"consultation:{consultation_id}"


def _open_hours() -> int:
    return current_app.config["CHAT_OPEN_HOURS"]


def broadcast_message(payload: dict) -> None:
    """Send a stored message to everyone in its consultation's room (the ``MessageWriter``'s broadcast)."""
    socketio.emit("message", payload, to=room(payload["consultation_id"]))


@socketio.on("connect")
def on_connect(auth=None):
    """Sent by clients on connecting: session cookie or ``auth={"token": ...}``; refused otherwise."""
    remember_token(auth)
    try:
        socket_actor()
        request.environ[CREDENTIAL_KEY] = socket_credential()
    except errors.NotAuthenticated as exc:
        raise ConnectionRefusedError(exc.to_dict()["error"]) from None


def broadcast_presence(session, consultation_id: int) -> None:
    emit(
        "presence",
        {"consultation_id": consultation_id, "participants": video.participants(session, consultation_id)},
        to=room(consultation_id),
    )


@socketio.on("join")
@event_handler
def on_join(actor, data):
    """``{consultation_id, after?}`` → ``{messages, read_marks, chat_open, room_open, consultation}``.

    Messages are the last 50, or those after id ``after`` (catch-up after a reconnect). The room is
    joined before the history is read, so nothing sent in between is missed (clients de-duplicate
    by message id). The room then gets ``presence``; the doctor joining an open room marks the
    consultation ``in_progress``.
    """
    cid = positive_int(data, "consultation_id")
    after = positive_int(data, "after", required=False)
    with database().transaction() as s:
        c = chat.consultation_for_chat(s, actor, cid, lock=True)
        join_room(room(cid))
        room_is_open = video.enter(
            s, actor, c, request.sid, now=now(), early_minutes=current_app.config["ROOM_EARLY_JOIN_MINUTES"]
        )
        limit = chat.HISTORY_MAX if after is not None else chat.HISTORY_DEFAULT
        messages = [chat.message_json(m) for m in chat.history(s, actor, cid, after=after, limit=limit)]
        ack = {
            "messages": messages,
            "read_marks": {str(k): v for k, v in chat.read_marks(s, cid).items()},
            "chat_open": chat.chat_open(c, now(), _open_hours()),
            "room_open": room_is_open,
            "consultation": {
                "id": c.id,
                "status": c.status,
                "start": c.starts_at.isoformat(timespec="seconds"),
                "end": c.ends_at.isoformat(timespec="seconds"),
            },
        }
    with database().session() as s:
        broadcast_presence(s, cid)
    return ack


@socketio.on("leave")
@event_handler
def on_leave(actor, data):
    """``{consultation_id}``: stop receiving this consultation's events; the room gets ``presence``."""
    cid = positive_int(data, "consultation_id")
    leave_room(room(cid))
    with database().transaction() as s:
        video.leave(s, request.sid, cid)
    with database().session() as s:
        broadcast_presence(s, cid)


@socketio.on("disconnect")
def on_disconnect(*_args):
    """A dropped or closed connection leaves every room it was in; each room gets ``presence``."""
    with database().transaction() as s:
        left = video.leave(s, request.sid)
    with database().session() as s:
        for cid in left:
            broadcast_presence(s, cid)


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
        credential = (server.get_environ(sid) or {}).get(CREDENTIAL_KEY)
        return acked("message", lambda: _send_message(writer, credential, data))

    server.on("message", on_message)


def _send_message(writer: MessageWriter, credential, data) -> dict:
    data = event_data(data)
    if credential is None:
        raise errors.NotAuthenticated()
    cid = positive_int(data, "consultation_id")
    return {"id": writer.send(Outgoing(credential, cid, data.get("text"), data.get("attachment_ids")))["id"]}


def message_writer() -> MessageWriter:
    """The app's group-commit writer of chat messages (see ``telemed.chat.writer``)."""
    return current_app.extensions["telemed.chat_writer"]


def make_message_writer(app) -> MessageWriter:
    """One per app."""
    return MessageWriter(
        app.extensions["telemed.db"],
        broadcast=broadcast_message,
        clock=now,
        open_hours=lambda: app.config["CHAT_OPEN_HOURS"],
    )


@socketio.on("typing")
@event_handler
def on_typing(actor, data):
    """``{consultation_id, typing?}``: tells the others in the room that this user is typing."""
    cid = positive_int(data, "consultation_id")
    with database().session() as s:
        chat.consultation_for_chat(s, actor, cid)
    emit(
        "typing",
        {
            "consultation_id": cid,
            "user": {"id": actor.id, "name": actor.name, "role": actor.role},
            "typing": data.get("typing", True) is not False,
        },
        to=room(cid),
        include_self=False,
    )


@socketio.on("read")
@event_handler
def on_read(actor, data):
    """``{consultation_id, up_to_id}``: moves this user's read mark; the room gets ``read``."""
    cid = positive_int(data, "consultation_id")
    up_to = positive_int(data, "up_to_id")
    with database().transaction() as s:
        mark = chat.mark_read(s, actor, cid, up_to, now=now())
    emit("read", {"consultation_id": cid, "user_id": actor.id, "up_to_id": mark}, to=room(cid))
    return {"up_to_id": mark}

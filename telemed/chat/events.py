"""Socket.IO chat events. Every handler authorizes again; see ``telemed.socket_auth``."""

from __future__ import annotations

from flask import current_app
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room

from telemed import errors
from telemed.chat import service as chat
from telemed.extensions import socketio
from telemed.socket_auth import event_handler, positive_int, remember_token, socket_actor
from telemed.web import database, now


def room(consultation_id: int) -> str:
    return f"consultation:{consultation_id}"


def _open_hours() -> int:
    return current_app.config["CHAT_OPEN_HOURS"]


def broadcast_message(payload: dict) -> None:
    """Send a stored message to everyone in its consultation's room (also used by the REST twin)."""
    socketio.emit("message", payload, to=room(payload["consultation_id"]))


@socketio.on("connect")
def on_connect(auth=None):
    """Sent by clients on connecting: session cookie or ``auth={"token": ...}``; refused otherwise."""
    remember_token(auth)
    try:
        socket_actor()
    except errors.NotAuthenticated as exc:
        raise ConnectionRefusedError(exc.to_dict()["error"]) from None


@socketio.on("join")
@event_handler
def on_join(actor, data):
    """``{consultation_id, after?}`` → ``{messages, read_marks, chat_open}``: the last 50 or those after ``after``.

    The room is joined before the history is read, so nothing sent in between is missed (clients
    de-duplicate by message id).
    """
    cid = positive_int(data, "consultation_id")
    after = positive_int(data, "after", required=False)
    with database().session() as s:
        chat.consultation_for_chat(s, actor, cid)
    join_room(room(cid))
    with database().session() as s:
        c = chat.consultation_for_chat(s, actor, cid)
        limit = chat.HISTORY_MAX if after is not None else chat.HISTORY_DEFAULT
        messages = [chat.message_json(m) for m in chat.history(s, actor, cid, after=after, limit=limit)]
        return {"messages": messages, "read_marks": {str(k): v for k, v in chat.read_marks(s, cid).items()},
                "chat_open": chat.chat_open(c, now(), _open_hours()),
                "consultation": {"id": c.id, "status": c.status}}


@socketio.on("leave")
@event_handler
def on_leave(actor, data):
    """``{consultation_id}``: stop receiving this consultation's events."""
    leave_room(room(positive_int(data, "consultation_id")))


@socketio.on("message")
@event_handler
def on_message(actor, data):
    """``{consultation_id, text, attachment_ids?}``: stored first, then sent to the room; ack ``{id}``."""
    cid = positive_int(data, "consultation_id")
    with database().transaction() as s:
        m = chat.post_message(s, actor, cid, text=data.get("text"), attachment_ids=data.get("attachment_ids"),
                              now=now(), open_hours=_open_hours())
        payload = chat.message_json(m)
    broadcast_message(payload)
    return {"id": payload["id"]}


@socketio.on("typing")
@event_handler
def on_typing(actor, data):
    """``{consultation_id, typing?}``: tells the others in the room that this user is typing."""
    cid = positive_int(data, "consultation_id")
    with database().session() as s:
        chat.consultation_for_chat(s, actor, cid)
    emit("typing", {"consultation_id": cid, "user": {"id": actor.id, "name": actor.name, "role": actor.role},
                    "typing": data.get("typing", True) is not False}, to=room(cid), include_self=False)


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

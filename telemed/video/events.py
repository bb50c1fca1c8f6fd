"""Socket.IO events of a consultation's room: ``join``, ``leave`` and presence, and the video signaling
(offers, answers and candidates relayed between the two participants).

Joining also catches the chat up (the room carries both the chat and the call). Every handler
authorizes again (``telemed.sockets``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app
from flask_socketio import emit, join_room, leave_room

from telemed import errors
from telemed.auth import service as auth_service
from telemed.chat import access as chat_access
from telemed.chat import service as chat
from telemed.extensions import socketio
from telemed.sockets import (
    consultation_id,
    disconnected,
    event_handler,
    live_connections,
    optional_int,
    process_id,
    room,
    sid,
)
from telemed.video import access, presence, service
from telemed.video.models import RoomPresence
from telemed.web import database, now

log = logging.getLogger(__name__)

#: ``app.extensions`` key of extra fields of ``join``'s ``consultation``: ``{name: build(session, actor,
#: consultation, now) -> dict}``. Features above this one register theirs (``urgent`` adds ``queue``
#: while a request waits), so a client that (re)joins learns their state at once.
JOIN_EXTRAS = "telemed.join_extras"
#: ``app.extensions`` key of ``audit(actor, consultation_id, outcome)``, called after each ``join``
#: ("allowed"; "denied" when refused): a join reads the chat history, so features above this one
#: (``records``) log it without this package importing them.
JOIN_AUDIT = "telemed.join_audit"


@socketio.on("signal")
@event_handler
def on_signal(actor, data):
    """``{consultation_id, type: offer|answer|candidate|bye|restart, sdp?, candidate?, pc?, to_pc?}``.

    Validated, never stored, and relayed only to the other participant's connections in the room
    (as ``signal`` with ``from``). Refused with ``room_closed`` outside the room window and
    ``consultation_cancelled`` for a cancelled consultation. Ack: ``{delivered: n}``, sent after
    the relay. A connection's events are handled in order (``async_handlers=False``); the pages
    still send each signal after the previous one's ack, which keeps the order across a reconnect
    and across server processes.
    """
    cid = consultation_id(data)
    payload = service.clean_signal(data)
    with database().session() as s:
        c = chat.consultation_for_chat(s, actor, cid)
        access.require_room_open(
            status=c.status,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            now=now(),
            early_minutes=current_app.config["ROOM_EARLY_JOIN_MINUTES"],
        )
        if s.get(RoomPresence, (sid(), cid)) is None:
            raise errors.NotJoined()
        targets = service.peer_sids(s, cid, actor.id)
    message = {
        **payload,
        "consultation_id": cid,
        "from": {"id": actor.id, "role": actor.role, "name": actor.name},
    }
    for target in targets:
        emit("signal", message, to=target)
    return {"delivered": len(targets)}


def init_app(app: Flask) -> None:
    """Have the app's relay refresh this process's room presence (while the relay runs)."""
    every = presence.heartbeat_seconds(presence.ttl_of(app.config))
    app.extensions["telemed.relay"].every(every, lambda: heartbeat(app))


def heartbeat(app: Flask) -> int:
    """This process still holds its connections: refresh their presence rows. Being in the room of a
    consultation in progress counts as activity of the page's login session (a doctor in a long call
    is not idle; ``auth.service.touch_login_session`` writes at most once a minute)."""
    moment, idle = now(), timedelta(minutes=app.config["STAFF_IDLE_MINUTES"])
    with app.extensions["telemed.db"].transaction() as s:
        refreshed = presence.heartbeat(s, process_id=process_id(app), now=moment)
        credentials = live_connections(app)
        for connection in presence.in_call(s, process_id=process_id(app)):
            credential = credentials.get(connection)
            if credential is not None and credential.kind == "login_session":
                auth_service.touch_login_session(s, credential.value, now=moment, idle=idle)
        return refreshed


def broadcast_presence(session, consultation_id: int) -> None:
    emit(presence.EVENT, presence.payload(session, consultation_id), to=room(consultation_id))


@socketio.on("join")
@event_handler
def on_join(actor, data):
    """``{consultation_id, after?}`` → ``{messages, read_marks, chat_open, room_open, consultation}``
    (``consultation``: ``{id, status, mode, start, end}``, start and end null for an urgent request
    nobody has taken yet, and the fields of ``JOIN_EXTRAS``).

    Messages are the last 50, or those after id ``after`` (catch-up after a reconnect). The room is
    joined before the history is read, so nothing sent in between is missed (clients de-duplicate
    by message id). The room then gets ``presence``; the doctor joining an open room marks the
    consultation ``in_progress``.
    """
    cid = consultation_id(data)
    after = optional_int(data, "after")
    audit = current_app.extensions.get(JOIN_AUDIT)
    try:
        ack = _join(actor, cid, after)
    except (errors.NotFound, errors.NotPermitted):
        if audit:
            audit(actor, cid, "denied")
        raise
    if audit:
        audit(actor, cid, "allowed")
    with database().session() as s:
        broadcast_presence(s, cid)
    return ack


def _join(actor, cid: int, after: int | None) -> dict:
    with database().transaction() as s:
        c = chat.consultation_for_chat(s, actor, cid, lock=True)
        auth_service.require_consent(s, actor, current_app.config["CONSENT_VERSION"])
        join_room(room(cid))
        room_is_open = service.enter(
            s,
            actor,
            c,
            sid(),
            process_id=process_id(),
            now=now(),
            early_minutes=current_app.config["ROOM_EARLY_JOIN_MINUTES"],
        )
        limit = chat.HISTORY_MAX if after is not None else chat.HISTORY_DEFAULT
        messages = [chat.message_json(m) for m in chat.history(s, actor, cid, after=after, limit=limit)]
        consultation: dict = {
            "id": c.id,
            "status": c.status,
            "mode": c.mode,
            # an urgent request nobody has taken has no start yet
            "start": c.starts_at.isoformat(timespec="seconds") if c.doctor_id else None,
            "end": c.ends_at.isoformat(timespec="seconds") if c.doctor_id else None,
        }
        for extra in current_app.extensions.get(JOIN_EXTRAS, {}).values():
            consultation.update(extra(s, actor, c, now()))
        ack = {
            "messages": messages,
            "read_marks": {str(k): v for k, v in chat.read_marks(s, cid).items()},
            "chat_open": chat_access.chat_open(c, now(), current_app.config["CHAT_OPEN_HOURS"]),
            "room_open": room_is_open,
            "consultation": consultation,
        }
    return ack


@socketio.on("leave")
@event_handler
def on_leave(actor, data):
    """``{consultation_id}``: stop receiving this consultation's events; the room gets ``presence``.

    Authorized like ``join``: anyone but a party gets ``not_found`` and the room hears nothing.
    """
    cid = consultation_id(data)
    with database().transaction() as s:
        chat.consultation_for_chat(s, actor, cid)
        service.leave(s, sid(), cid)
    leave_room(room(cid))
    with database().session() as s:
        broadcast_presence(s, cid)


@disconnected.connect
def on_disconnect(connection_sid: str, **_kw) -> None:
    """A dropped or closed connection leaves every room it was in; each room gets ``presence``."""
    try:
        with database().transaction() as s:
            left = service.leave(s, connection_sid)
        with database().session() as s:
            for cid in left:
                broadcast_presence(s, cid)
    except Exception:
        log.exception("leaving the rooms of a closed connection failed")

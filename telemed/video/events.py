"""Socket.IO video signaling: offers, answers and candidates relayed between the two participants."""

from __future__ import annotations

from flask import current_app, request
from flask_socketio import emit

from telemed import errors
from telemed.chat import service as chat
from telemed.extensions import socketio
from telemed.socket_auth import event_handler, positive_int
from telemed.video import rules
from telemed.video import service as video
from telemed.video.models import RoomPresence
from telemed.web import database, now


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
    cid = positive_int(data, "consultation_id")
    payload = video.clean_signal(data)
    with database().session() as s:
        c = chat.consultation_for_chat(s, actor, cid)
        rules.require_room_open(
            status=c.status,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            now=now(),
            early_minutes=current_app.config["ROOM_EARLY_JOIN_MINUTES"],
        )
        if s.get(RoomPresence, (request.sid, cid)) is None:
            raise errors.NotJoined()
        targets = video.peer_sids(s, cid, actor.id)
    message = {
        **payload,
        "consultation_id": cid,
        "from": {"id": actor.id, "role": actor.role, "name": actor.name},
    }
    for sid in targets:
        emit("signal", message, to=sid)
    return {"delivered": len(targets)}

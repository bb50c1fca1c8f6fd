"""Presence that no dead process leaves behind.

A room presence row (``RoomPresence``) stands for a live Socket.IO connection held by one serving
process. That process refreshes the ``seen_at`` of its rows every quarter of the TTL
(``PRESENCE_TTL_SECONDS``, default 60; its relay runs ``heartbeat``); a process that crashed or was
killed stops refreshing, and ``telemed worker`` deletes rows not seen for the TTL (``expire``) and tells each room who is still there
(``presence``, through the outbox, which every serving process relays to its clients).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from telemed.notify import outbox
from telemed.scheduling.models import Consultation, Status
from telemed.sockets import room
from telemed.video.models import RoomPresence
from telemed.video.service import participants

EVENT = "presence"
TTL = timedelta(seconds=60)  # a row not refreshed for this long belongs to a process that is gone


def ttl_of(config: Mapping[str, Any]) -> timedelta:
    """The app's presence TTL (``PRESENCE_TTL_SECONDS``)."""
    return timedelta(seconds=int(config.get("PRESENCE_TTL_SECONDS") or TTL.total_seconds()))


def heartbeat_seconds(ttl: timedelta) -> float:
    """How often a serving process refreshes its rows: well within the TTL."""
    return max(0.5, ttl.total_seconds() / 4)


def payload(session: Session, consultation_id: int) -> dict:
    """``presence``: the room's distinct participants, in order of arrival."""
    return {"consultation_id": consultation_id, "participants": participants(session, consultation_id)}


def heartbeat(session: Session, *, process_id: str, now: datetime) -> int:
    """The serving process ``process_id`` still holds its connections: refresh their rows."""
    result = session.execute(
        update(RoomPresence)
        .where(RoomPresence.process_id == process_id)
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def in_call(session: Session, *, process_id: str) -> list[str]:
    """The connections of ``process_id`` present in the room of a consultation in progress (a call)."""
    return list(
        session.scalars(
            select(RoomPresence.sid)
            .join(Consultation, Consultation.id == RoomPresence.consultation_id)
            .where(RoomPresence.process_id == process_id, Consultation.status == Status.IN_PROGRESS)
        )
    )


def anything_stale(session: Session, *, now: datetime, ttl: timedelta = TTL) -> bool:
    """Whether ``expire`` has work (a read: an idle worker run takes no write lock)."""
    return bool(session.scalar(select(exists().where(RoomPresence.seen_at < now - ttl))))


def expire(session: Session, *, now: datetime, ttl: timedelta = TTL) -> list[int]:
    """Delete the rows not refreshed within ``ttl`` and write each room's new ``presence`` to the
    outbox; returns those rooms' consultation ids. Two workers at once delete each row once (the
    DELETE returns what it removed) and a room hears at most its current participants twice."""
    gone = session.execute(
        delete(RoomPresence)
        .where(RoomPresence.seen_at < now - ttl)
        .returning(RoomPresence.consultation_id)
        .execution_options(synchronize_session=False)
    ).all()
    rooms = sorted({cid for (cid,) in gone})
    for cid in rooms:
        outbox.write(session, EVENT, room(cid), payload(session, cid), now=now)
    return rooms

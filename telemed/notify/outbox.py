"""Write Socket.IO events to the outbox in the transaction that causes them; deliver them after.

Why: an event must reach clients only if its cause committed, and a process that has no clients
(``telemed worker``) must still reach the clients of the ``telemed serve`` processes. So causes
write ``OutboxEvent`` rows (``write``), and a serving process sends them (``deliver_pending``):
right after its own transactions (the API handlers call it) and every half second in its
background relay (``notify.relay``), which catches what other processes wrote.

Delivery is at most once across processes: a process first claims a batch with one conditional
UPDATE (``claimed_by`` = its token, only rows nobody claimed), then sends what it claimed, in id
order. With several ``telemed serve`` processes and a Socket.IO message queue (Redis), the one
that claims an event sends it to every process's clients. An event that waited longer than
``max_age`` (no serving process was running) is dropped unsent: it would be stale, and clients
read the current state again when they (re)connect. Delivered rows are pruned by the worker.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from telemed.db import Database
from telemed.notify.models import OutboxEvent

Emit = Callable[[str, dict[str, Any], str], None]  # (event, payload, room)

MAX_AGE = timedelta(seconds=60)
BATCH = 500
KEEP = timedelta(hours=1)


def write(session: Session, event: str, room: str, payload: dict[str, Any], *, now: datetime) -> None:
    """Add an event for ``room`` to the caller's transaction (sent once it commits)."""
    session.add(OutboxEvent(created_at=now, event=event, room=room, payload=payload))


def write_many(
    session: Session, event: str, messages: list[tuple[str, dict[str, Any]]], *, now: datetime
) -> None:
    """``write`` for many ``(room, payload)`` at once, in one INSERT (in that order, after what the
    session already holds: it is flushed first, so the events keep the order they were written in)."""
    if not messages:
        return
    session.flush()
    session.execute(
        insert(OutboxEvent),
        [{"created_at": now, "event": event, "room": r, "payload": payload} for r, payload in messages],
    )


def deliver_pending(
    db: Database, emit: Emit, *, now: datetime, max_age: timedelta = MAX_AGE, limit: int = BATCH
) -> int:
    """Claim the events nobody has claimed (oldest first, at most ``limit``) and send those not
    older than ``max_age`` with ``emit``; returns how many were sent.

    The claim is one conditional ``UPDATE ... RETURNING``, so two processes never send one event;
    on PostgreSQL the rows another process is claiming are skipped, not waited for."""
    pending = (
        select(OutboxEvent.id).where(OutboxEvent.delivered_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    )
    with db.session() as s:  # a read first: polling an empty outbox takes no write lock
        if s.scalar(pending.limit(1)) is None:
            return 0
    if not db.is_sqlite:
        pending = pending.with_for_update(skip_locked=True)
    token = secrets.token_hex(16)
    with db.transaction() as s:
        claimed = s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(pending.scalar_subquery()), OutboxEvent.delivered_at.is_(None))
            .values(delivered_at=now, claimed_by=token)
            .returning(
                OutboxEvent.id,
                OutboxEvent.event,
                OutboxEvent.room,
                OutboxEvent.payload,
                OutboxEvent.created_at,
            )
            .execution_options(synchronize_session=False)
        ).all()
    sent = 0
    for _, event, room, payload, created_at in sorted(claimed, key=lambda row: row[0]):
        if now - created_at <= max_age:
            emit(event, payload, room)
            sent += 1
    return sent


def prunable(session: Session, *, now: datetime, keep: timedelta = KEEP) -> bool:
    """Whether ``prune`` has work."""
    old = select(OutboxEvent.id).where(OutboxEvent.delivered_at < now - keep).limit(1)
    return session.scalar(old) is not None


def prune(session: Session, *, now: datetime, keep: timedelta = KEEP) -> int:
    """Delete events delivered more than ``keep`` ago; returns how many."""
    result = session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_not(None), OutboxEvent.delivered_at < now - keep)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

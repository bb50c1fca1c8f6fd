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

A fan-out event is one row that stands for many events computed when it is sent, not when it is
written: e.g. "the queue moved" becomes every waiting member's new place. Its cause writes one
small row (``write``), the sender expands it with the function registered for its name (``FanOut``,
see ``Relay.fan_out``), reading the state current then; of several such rows with one name and
room in a batch, only the last is expanded (they would all say the same).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from telemed.db import Database
from telemed.notify.models import OutboxEvent

Emit = Callable[[str, dict[str, Any], str], None]  # (event, payload, room)
Message = tuple[str, str, dict[str, Any]]  # (event, room, payload)
FanOut = Callable[[Session, dict[str, Any], datetime], list[Message]]  # (session, payload, now)

MAX_AGE = timedelta(seconds=60)
BATCH = 500
KEEP = timedelta(hours=1)


def write(session: Session, event: str, room: str, payload: dict[str, Any], *, now: datetime) -> None:
    """Add an event for ``room`` to the caller's transaction (sent once it commits)."""
    session.add(OutboxEvent(created_at=now, event=event, room=room, payload=payload))


def deliver_pending(
    db: Database,
    emit: Emit,
    *,
    now: datetime,
    max_age: timedelta = MAX_AGE,
    limit: int = BATCH,
    fan_outs: Mapping[str, FanOut] | None = None,
) -> int:
    """Claim the events nobody has claimed (oldest first, at most ``limit``) and send those not
    older than ``max_age`` with ``emit``, in id order, expanding fan-out events (``fan_outs``:
    event name -> its expansion); returns how many events were sent.

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
    fan_outs = fan_outs or {}
    fresh = [row for row in sorted(claimed, key=lambda row: row[0]) if now - row[4] <= max_age]
    last_of = {(event, room): i for i, (_, event, room, _, _) in enumerate(fresh) if event in fan_outs}
    sent = 0
    for i, (_, event, room, payload, _) in enumerate(fresh):
        if event not in fan_outs:
            emit(event, payload, room)
            sent += 1
        elif last_of[event, room] == i:
            with db.session() as s:
                messages = fan_outs[event](s, payload, now)
            for each_event, each_room, each_payload in messages:
                emit(each_event, each_payload, each_room)
            sent += len(messages)
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

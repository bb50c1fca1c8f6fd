"""Doctors on duty: the switch, the live connections that keep it on, and its end by itself.

A doctor's duty counts (``live``) while they chose it (``Duty.on_duty``) and one of their sessions
is connected, or was within the grace time: a ``DutyConnection`` seen within the grace time, or
``Duty.last_seen`` (the last disconnect, or switching on) within it. So the estimate never counts a
doctor who closed the laptop: the Socket.IO connection drops within a minute, and the grace time
after that ends the duty. Everything is in the database (several serving processes agree); the
worker's ``expire`` switches stale duty off for good, and readers never need it to have run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from telemed.catalog.models import Doctor
from telemed.catalog.specialties import URGENT_CODES
from telemed.scheduling.models import Consultation, Mode, Status
from telemed.urgent.models import Duty, DutyConnection


@dataclass(frozen=True)
class DutyState:
    on_duty: bool
    since: datetime | None


def live(now: datetime, grace: timedelta) -> ColumnElement[bool]:
    """SQL condition on ``Duty``: the doctor's duty counts at ``now``."""
    recent = now - grace
    connected = exists().where(DutyConnection.doctor_id == Duty.doctor_id, DutyConnection.seen_at >= recent)
    return and_(Duty.on_duty, or_(Duty.last_seen >= recent, connected))


def urgent_doctor(session: Session, user_id: int) -> Doctor | None:
    """The active doctor row of a therapist's or pediatrician's account, else None."""
    return session.scalar(
        select(Doctor).where(
            Doctor.user_id == user_id, Doctor.is_active, Doctor.specialty_code.in_(URGENT_CODES)
        )
    )


def state(session: Session, doctor_id: int, *, now: datetime, grace: timedelta) -> DutyState:
    """Whether the doctor's duty counts now, and since when."""
    row = session.execute(select(Duty.since, live(now, grace)).where(Duty.doctor_id == doctor_id)).first()
    if row is None or not row[1]:
        return DutyState(False, None)
    return DutyState(True, row[0])


def switch(session: Session, doctor_id: int, on: bool, *, now: datetime, grace: timedelta) -> bool:
    """Switch the doctor's duty on or off; returns whether its counting changed. Switching on
    is itself a sign of life (``last_seen``); ``since`` is kept while the duty goes on."""
    before = state(session, doctor_id, now=now, grace=grace)
    row = session.get(Duty, doctor_id, with_for_update=True)
    if row is None:
        row = Duty(doctor_id=doctor_id, on_duty=False)
        session.add(row)
    if on:
        row.since = before.since if before.on_duty else now
        row.on_duty, row.last_seen = True, now
    else:
        row.on_duty, row.since = False, None
    session.flush()
    return before.on_duty != on


def counts(session: Session, specialty: str, *, now: datetime, grace: timedelta) -> tuple[int, int]:
    """``(on duty, busy)``: doctors of the specialty whose duty counts now, and how many of them have
    an urgent consultation in progress."""
    busy = exists().where(
        Consultation.doctor_id == Duty.doctor_id,
        Consultation.mode == Mode.URGENT,
        Consultation.status == Status.IN_PROGRESS,
    )
    row = session.execute(
        select(func.count(), func.count().filter(busy))
        .select_from(Duty)
        .join(Doctor, Doctor.id == Duty.doctor_id)
        .where(Doctor.specialty_code == specialty, Doctor.is_active, live(now, grace))
    ).one()
    return int(row[0]), int(row[1])


def on_duty_users(session: Session, specialty: str, *, now: datetime, grace: timedelta) -> list[int]:
    """The user ids of the doctors of the specialty whose duty counts now."""
    return list(
        session.scalars(
            select(Doctor.user_id)
            .join(Duty, Duty.doctor_id == Doctor.id)
            .where(
                Doctor.specialty_code == specialty,
                Doctor.is_active,
                Doctor.user_id.is_not(None),
                live(now, grace),
            )
        )
    )


def connect(session: Session, user_id: int, sid: str, *, process_id: str, now: datetime) -> bool:
    """A session of a user opened: remember it if they are a therapist or pediatrician."""
    doctor = urgent_doctor(session, user_id)
    if doctor is None:
        return False
    if session.get(DutyConnection, sid) is None:
        session.add(DutyConnection(sid=sid, doctor_id=doctor.id, process_id=process_id, seen_at=now))
    session.execute(update(Duty).where(Duty.doctor_id == doctor.id).values(last_seen=now))
    return True


def disconnect(session: Session, sid: str, *, now: datetime) -> None:
    """A session closed or dropped: forget it; its doctor was last seen now (the grace starts)."""
    doctor_id = session.scalar(select(DutyConnection.doctor_id).where(DutyConnection.sid == sid))
    if doctor_id is None:
        return
    session.execute(delete(DutyConnection).where(DutyConnection.sid == sid))
    session.execute(update(Duty).where(Duty.doctor_id == doctor_id).values(last_seen=now))


def heartbeat(session: Session, *, process_id: str, now: datetime) -> int:
    """The serving process ``process_id`` still holds its connections: refresh them."""
    result = session.execute(
        update(DutyConnection)
        .where(DutyConnection.process_id == process_id)
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def anything_stale(session: Session, *, now: datetime, grace: timedelta) -> bool:
    """Whether ``expire`` has work: a connection not refreshed, or a duty that no longer counts."""
    recent = now - grace
    stale_connection = exists().where(DutyConnection.seen_at < recent)
    stale_duty = exists().where(Duty.on_duty, ~live(now, grace))
    return bool(session.scalar(select(or_(stale_connection, stale_duty))))


def expire(session: Session, *, now: datetime, grace: timedelta) -> list[str]:
    """Switch off the duty of doctors not seen within the grace time, and forget connections of
    processes that stopped refreshing them; returns the specialties whose duty changed.

    Each switch-off is a conditional UPDATE (still on, still stale), so two workers never both do it.
    """
    recent = now - grace
    session.execute(
        delete(DutyConnection)
        .where(DutyConnection.seen_at < recent)
        .execution_options(synchronize_session=False)
    )
    stale = list(
        session.execute(
            select(Duty.doctor_id, Doctor.specialty_code)
            .join(Doctor, Doctor.id == Duty.doctor_id)
            .where(Duty.on_duty, ~live(now, grace))
        )
    )
    changed: set[str] = set()
    for doctor_id, specialty in stale:
        result = session.execute(
            update(Duty)
            .where(Duty.doctor_id == doctor_id, ~live(now, grace))
            .values(on_duty=False, since=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            changed.add(specialty)
    return sorted(changed)

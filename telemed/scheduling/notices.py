"""What a consultation tells its member, and when: booked, cancelled, reminders, the doctor late.

Recipients are the member who booked and the patient's own account when it is another (a teenager
booked by a parent): ``recipients``. Timed notices (``send_timed``, run by ``telemed worker``) are
claimed per consultation and kind in ``consultation_reminders`` (INSERT … ON CONFLICT DO NOTHING),
so two workers never send one twice, and each goes out only inside its window:

* ``reminder_24h``: from 24 h before the start until 15 min before, for bookings made before
  that window opened (a booking made later has just been confirmed);
* ``reminder_15m``: from 15 min before until the start, likewise; both carry the link to the
  pre-call check;
* ``doctor_late``: from the start for 30 min, while the doctor is still in another consultation
  that started earlier (the previous one runs over) and has not entered this room.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from telemed.catalog.models import Doctor
from telemed.members.models import Patient
from telemed.notifications import service as notifications
from telemed.notifications.service import Notice, Reader
from telemed.scheduling.models import Consultation, Mode, ReminderMark, Status

CHECK_PATH = "/check"
BATCH = 1000
LATE_WINDOW = timedelta(minutes=30)


class Window:
    """A timed notice's window relative to the start: ``[start - opens, start - closes)``."""

    def __init__(self, kind: str, opens: timedelta, closes: timedelta) -> None:
        self.kind, self.opens, self.closes = kind, opens, closes


REMINDERS = (
    Window("reminder_24h", timedelta(hours=24), timedelta(minutes=15)),
    Window("reminder_15m", timedelta(minutes=15), timedelta(0)),
)


def params_of(c: Consultation, doctor_name: str | None = None, **extra: Any) -> dict[str, object]:
    """The language-neutral facts a consultation's notice shows: time, specialty, doctor."""
    return {
        "consultation_id": c.id,
        "starts_at": c.starts_at.isoformat(),
        "ends_at": c.ends_at.isoformat(),
        "specialty": c.specialty_code,
        "doctor": doctor_name if doctor_name is not None else (c.doctor.full_name if c.doctor else ""),
        **extra,
    }


def recipients(session: Session, c: Consultation) -> list[int]:
    """The users a consultation's news goes to: who booked it, and the patient if another."""
    patient_user = session.scalar(select(Patient.user_id).where(Patient.id == c.patient_id))
    return notifications.recipients(c.booked_by_id, patient_user)


def tell_member(
    session: Session,
    c: Consultation,
    kind: str,
    *,
    now: datetime,
    once: bool = False,
    default: Reader | None = None,
    **extra: Any,
) -> list[int]:
    """Notify the consultation's member(s) of ``kind``; ``once``: at most once per consultation."""
    params = params_of(c, **extra)
    notices = [
        Notice(
            user_id=user_id,
            kind=kind,
            params=params,
            consultation_id=c.id,
            dedupe_key=f"{kind}:{c.id}:{user_id}" if once else None,
        )
        for user_id in recipients(session, c)
    ]
    return notifications.notify(session, notices, now=now, default=default)


def booked(session: Session, c: Consultation, *, now: datetime) -> list[int]:
    return tell_member(session, c, "booked", now=now, once=True)


def cancelled(session: Session, c: Consultation, *, now: datetime) -> list[int]:
    """The members hear of a cancellation (with the doctor's reason), unless they cancelled it."""
    users = [u for u in recipients(session, c) if u != c.cancelled_by_id]
    params = params_of(c, reason=c.cancel_reason or "")
    notices = [
        Notice(
            user_id=u,
            kind="cancelled",
            params=params,
            consultation_id=c.id,
            dedupe_key=f"cancelled:{c.id}:{u}",
        )
        for u in users
    ]
    return notifications.notify(session, notices, now=now)


def _claim(session: Session, ids: Sequence[int], kind: str, now: datetime) -> list[int]:
    """Mark ``kind`` sent for the consultations ``ids``; returns those this call marked."""
    if not ids:
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ReminderMark)
        .on_conflict_do_nothing(index_elements=["consultation_id", "kind"])
        .returning(ReminderMark.consultation_id)
    )
    rows = [{"consultation_id": i, "kind": kind, "sent_at": now} for i in ids]
    return [r[0] for r in session.execute(statement, rows).all()]


def _unmarked(kind: str):
    return ~exists().where(ReminderMark.consultation_id == Consultation.id, ReminderMark.kind == kind)


def due_reminders(session: Session, window: Window, *, now: datetime, limit: int = BATCH) -> list[int]:
    """Consultations whose ``window`` reminder is due and not yet handled (a booking made inside
    the window is handled without a reminder by ``send_timed``)."""
    query = (
        select(Consultation.id)
        .where(
            Consultation.status == Status.SCHEDULED,
            Consultation.starts_at > now + window.closes,
            Consultation.starts_at <= now + window.opens,
            _unmarked(window.kind),
        )
        .order_by(Consultation.starts_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def due_late(session: Session, *, now: datetime, limit: int = BATCH) -> list[int]:
    """Planned consultations whose doctor is still in an earlier consultation past this one's start."""
    earlier = aliased(Consultation)
    query = (
        select(Consultation.id)
        .where(
            Consultation.mode == Mode.PLANNED,
            Consultation.status == Status.SCHEDULED,
            Consultation.starts_at <= now,
            Consultation.starts_at > now - LATE_WINDOW,
            _unmarked("doctor_late"),
            exists().where(
                and_(
                    earlier.doctor_id == Consultation.doctor_id,
                    earlier.id != Consultation.id,
                    earlier.status == Status.IN_PROGRESS,
                    earlier.starts_at < Consultation.starts_at,
                )
            ),
        )
        .limit(limit)
    )
    return list(session.scalars(query))


def anything_due(session: Session, *, now: datetime) -> bool:
    """Whether ``send_timed`` has work (a read: an idle worker takes no write lock)."""
    return any(due_reminders(session, w, now=now, limit=1) for w in REMINDERS) or bool(
        due_late(session, now=now, limit=1)
    )


def _send(
    session: Session,
    ids: list[int],
    kind: str,
    now: datetime,
    default: Reader | None,
    booked_before: timedelta | None = None,
    **extra,
) -> int:
    """Claim ``ids`` for ``kind`` and notify their members; ``booked_before``: only consultations
    booked at least that long before their start (the others are claimed in silence)."""
    claimed = _claim(session, ids, kind, now)
    if not claimed:
        return 0
    rows = session.execute(
        select(Consultation, Doctor.full_name, Patient.user_id)
        .join(Patient, Patient.id == Consultation.patient_id)
        .outerjoin(Doctor, Doctor.id == Consultation.doctor_id)
        .where(Consultation.id.in_(claimed))
    ).all()
    notices = []
    for c, doctor_name, patient_user in rows:
        if booked_before is not None and c.created_at > c.starts_at - booked_before:
            continue
        params = params_of(c, doctor_name or "", **extra)
        for user_id in notifications.recipients(c.booked_by_id, patient_user):
            key = f"{kind}:{c.id}:{user_id}"
            notices.append(
                Notice(user_id=user_id, kind=kind, params=params, consultation_id=c.id, dedupe_key=key)
            )
    notifications.notify(session, notices, now=now, default=default)
    return len(claimed)


def send_timed(session: Session, *, now: datetime, default: Reader | None = None) -> int:
    """Send one batch of every due timed notice in the caller's transaction; returns how many
    consultations were handled (0: nothing is due)."""
    handled = 0
    for window in REMINDERS:
        due = due_reminders(session, window, now=now)
        handled += _send(session, due, window.kind, now, default, window.opens, check_url=CHECK_PATH)
    handled += _send(session, due_late(session, now=now), "doctor_late", now, default)
    return handled

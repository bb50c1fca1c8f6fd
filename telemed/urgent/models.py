"""The urgent queue's rows: a request's escalation, doctors' duty and their live connections.

An urgent request is a ``Consultation`` (mode urgent, no slot) with an ``UrgentRequest`` beside
it. Two rules of the queue are partial unique indexes on ``consultations``, so concurrent
requests and claims cannot break them on SQLite or PostgreSQL:

* ``uq_consultations_urgent_open_patient``: one urgent consultation per patient that is waiting
  or in progress;
* ``uq_consultations_urgent_busy_doctor``: one urgent consultation in progress per doctor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.catalog.models import Doctor
from telemed.db import Base, UTCDateTime
from telemed.scheduling.models import Consultation

_OPEN = "mode = 'urgent' AND status IN ('waiting', 'in_progress')"
_BUSY = "mode = 'urgent' AND status = 'in_progress'"
_WAITING = "status = 'waiting'"
_consultations = Consultation.__table__.c

Index(
    "uq_consultations_urgent_open_patient",
    _consultations.patient_id,
    unique=True,
    sqlite_where=text(_OPEN),
    postgresql_where=text(_OPEN),
)
Index(
    "uq_consultations_urgent_busy_doctor",
    _consultations.doctor_id,
    unique=True,
    sqlite_where=text(_BUSY),
    postgresql_where=text(_BUSY),
)
Index(  # the queue: waiting requests of a specialty, oldest first
    "ix_consultations_waiting",
    _consultations.specialty_code,
    _consultations.created_at,
    sqlite_where=text(_WAITING),
    postgresql_where=text(_WAITING),
)


class UrgentRequest(Base):
    """The queue's state of an urgent consultation: how far it has escalated, and when."""

    __tablename__ = "urgent_requests"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    escalation_level: Mapped[int] = mapped_column(default=0)  # 0, 1 (all doctors alerted), 2 (slot offered)
    level1_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level2_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Duty(Base):
    """A therapist's or pediatrician's duty switch (one row per doctor who ever used it).

    ``on_duty`` is what the doctor chose; it counts only while one of their sessions is connected,
    or was within the grace time (``last_seen``, ``DutyConnection``): see ``urgent.duty``.
    """

    __tablename__ = "duty"

    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), primary_key=True)
    on_duty: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the current duty began
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a session last known connected


class DutyConnection(Base):
    """A connected Socket.IO session of a doctor of an urgent specialty.

    Added at connect, removed at disconnect; the serving process refreshes ``seen_at`` of its own
    connections (``process_id``) periodically, so the connections of a process that died stop
    counting after the grace time instead of forever.
    """

    __tablename__ = "duty_connections"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[str] = mapped_column(String(32), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlannedShift(Base):
    """The duty roster: a doctor expected on urgent duty for ``specialty`` from ``starts_at`` to
    ``ends_at`` (UTC). Planned, not live: live duty is ``Duty``."""

    __tablename__ = "roster_shifts"
    __table_args__ = (Index("ix_roster_shifts_specialty_start", "specialty_code", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), index=True)
    specialty_code: Mapped[str] = mapped_column(ForeignKey("specialties.code"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    doctor: Mapped[Doctor] = relationship()

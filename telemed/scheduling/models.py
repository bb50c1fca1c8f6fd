"""Schedule slots and consultations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.catalog.models import Doctor
from telemed.db import Base, UTCDateTime, utcnow
from telemed.members.models import Patient
from telemed.scheduling.status import Mode, Status

__all__ = ["Consultation", "Mode", "ReminderMark", "Slot", "Status"]


class Slot(Base):
    """A bookable interval of a doctor's schedule (UTC)."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("doctor_id", "starts_at", name="uq_slots_doctor_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())

    doctor: Mapped[Doctor] = relationship()


class Consultation(Base):
    """A teleconsultation: planned (on a slot) or urgent (from the queue).

    At most one non-cancelled consultation may hold a slot: a partial unique
    index enforces it in the database, so concurrent bookings cannot both win.

    An urgent request has no slot, and no doctor while it waits (``doctor_id`` is None). Until a
    doctor takes it, ``starts_at`` is the time of the request and ``ends_at`` that time plus the
    planned length (the API shows neither); taking it sets both from the pick-up time. The
    urgent queue's own rules (one open request per patient, one urgent consultation in progress
    per doctor) are partial unique indexes declared in ``telemed.urgent.models``.
    """

    __tablename__ = "consultations"
    __table_args__ = (
        Index(
            "uq_consultations_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
        Index("ix_consultations_patient_contract", "patient_id", "contract_id", "specialty_code"),
        Index("ix_consultations_doctor_start", "doctor_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"))  # None: urgent, waiting
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    specialty_code: Mapped[str] = mapped_column(ForeignKey("specialties.code"))
    mode: Mapped[str] = mapped_column(String(16), default=Mode.PLANNED)
    status: Mapped[str] = mapped_column(String(16), default=Status.SCHEDULED)
    reason: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)  # required when the doctor cancels
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the visit really ended
    #: The member confirmed the doctor did not come, and no doctor entered the room: a
    #: psychologist consultation then no longer counts against the contract's limit.
    doctor_absent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()
    doctor: Mapped[Doctor | None] = relationship()
    slot: Mapped[Slot | None] = relationship()


class ReminderMark(Base):
    """A timed notice of a consultation (``kind``: a reminder, or "the doctor is running late")
    that was sent: the primary key makes it once, whichever worker gets there first."""

    __tablename__ = "consultation_reminders"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())

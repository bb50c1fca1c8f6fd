"""Ratings of consultations and the complaints they open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telemed.db import Base, UTCDateTime, utcnow


class Rating(Base):
    """The member's confirmation of one consultation («Оценка обращения») and their scores.

    ``happened``: ``yes``, ``doctor_absent`` or ``connection_failed``; ``credible``: for
    ``doctor_absent``, whether the room's join records agree (no doctor entered), else None.
    """

    __tablename__ = "consultation_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), index=True)
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    happened: Mapped[str] = mapped_column(String(20))
    credible: Mapped[bool | None] = mapped_column()
    doctor_score: Mapped[int | None] = mapped_column(Integer)
    service_score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Complaint(Base):
    """A case for the curator service, opened by a rating: ``open`` → ``in_progress`` → ``closed``."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_opened_at", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # low_score | doctor_absent | connection_failed
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")  # the curator's handling and outcome

"""Doctors' weekly schedule templates and their exceptions (vacation, sick days)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telemed.db import Base, UTCDateTime


class ScheduleTemplate(Base):
    """A doctor's weekly hours: ``days`` is a list of ``{weekday: 0-6, start: "HH:MM", end: "HH:MM"}``
    in ``timezone`` (local wall-clock times; slots are generated in UTC from them)."""

    __tablename__ = "schedule_templates"

    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64))
    days: Mapped[list[dict]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Slots exist up to this moment (UTC); the worker extends the horizon when it falls short.
    generated_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScheduleException(Base):
    """Days a doctor does not work (``first_day`` to ``last_day`` inclusive, the template's zone)."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (Index("ix_schedule_exceptions_doctor_days", "doctor_id", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # vacation | sick | other
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

"""Specialties and doctors."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.db import Base


class Specialty(Base):
    """A medical specialty; rows are kept in step with ``catalog.specialties``."""

    __tablename__ = "specialties"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    urgent: Mapped[bool] = mapped_column(default=False)
    min_age: Mapped[int | None] = mapped_column()
    max_age: Mapped[int | None] = mapped_column()  # exclusive upper bound (pediatrician: 18)
    position: Mapped[int] = mapped_column(default=0)


class Doctor(Base):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    specialty_code: Mapped[str] = mapped_column(ForeignKey("specialties.code"), index=True)
    career_start: Mapped[date] = mapped_column(Date)
    education: Mapped[str] = mapped_column(Text)
    degree: Mapped[str | None] = mapped_column(String(200))
    bio: Mapped[str | None] = mapped_column(Text)
    photo_key: Mapped[str | None] = mapped_column(String(64))  # in ``telemed.storage``; None: no photo
    photo_type: Mapped[str | None] = mapped_column(String(32))  # image/png | image/jpeg
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)

    specialty: Mapped[Specialty] = relationship()

"""Patients, guardianship, insurance contracts and policies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.db import Base, UTCDateTime, utcnow


def fold(text: str) -> str:
    """Case- and ё-insensitive form used for searching (SQLite's lower() is ASCII-only)."""
    return " ".join(text.casefold().replace("ё", "е").split())


class Patient(Base):
    """An insured person: a member's own record or a dependant (child)."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_full_name", "full_name"),
        Index("ix_patients_birth_date", "birth_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), default="", index=True)  # folded, see fold()
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))  # "female" | "male" | None
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    policies: Mapped[list[Policy]] = relationship(back_populates="patient", order_by="Policy.valid_from")


class Guardianship(Base):
    """A member who may act for a patient (a parent for a child)."""

    __tablename__ = "guardianships"

    guardian_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32), default="parent")


class Contract(Base):
    """A voluntary health-insurance contract and its programme."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    client: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    telemedicine: Mapped[bool] = mapped_column(default=True)
    covered_specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    psychologist_limit: Mapped[int] = mapped_column(default=3)
    urgent: Mapped[bool] = mapped_column(default=True)  # urgent (on-demand) consultations included


class Policy(Base):
    """A patient's insurance policy under a contract, valid for a date range."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="policies")
    contract: Mapped[Contract] = relationship()


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _fold_name(_mapper, _connection, target: Patient) -> None:
    target.name_search = fold(target.full_name or "")

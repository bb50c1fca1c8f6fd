"""Medical conclusions (signed, then read-only), their addenda, and in-person visits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.auth.models import User
from telemed.db import Base, UTCDateTime, utcnow


class Conclusion(Base):
    """The doctor's structured conclusion of one consultation.

    A draft is saved as the doctor types; signing stores who, when and the SHA-256 of the
    content, after which the row never changes again (corrections are ``Addendum`` rows).
    """

    __tablename__ = "conclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    complaints: Mapped[str] = mapped_column(Text, default="")
    anamnesis: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    diagnosis_icd10: Mapped[str | None] = mapped_column(String(10))
    diagnosis_text: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[str] = mapped_column(Text, default="")
    #: ``[{kind, code?, specialty?, note?}]`` (``records.referrals``); rows signed before referrals
    #: were structured hold plain strings, kept as signed (the content hash covers them).
    referrals: Mapped[list[dict | str]] = mapped_column(JSON, default=list)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased, for the e-card filter
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content_sha256: Mapped[str | None] = mapped_column(String(64))

    signed_by: Mapped[User | None] = relationship()
    addenda: Mapped[list[Addendum]] = relationship(order_by="Addendum.id", back_populates="conclusion")


class Addendum(Base):
    __tablename__ = "conclusion_addenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    conclusion_id: Mapped[int] = mapped_column(ForeignKey("conclusions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()
    conclusion: Mapped[Conclusion] = relationship(back_populates="addenda")


class Referral(Base):
    """One referral of a signed conclusion, issued when it is signed (``referrals.issue_for``): to a
    test or study (``code`` of ``referral_catalogue``), a specialist (``specialty_code``) or an
    in-person visit. Its status is computed on read (``referrals.status_of``)."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("kind IN ('test', 'specialist', 'in_person')", name="kind"),
        UniqueConstraint("conclusion_id", "position"),
        Index("ix_referrals_patient_id_issued_at", "patient_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    conclusion_id: Mapped[int] = mapped_column(ForeignKey("conclusions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # its place in the conclusion's list, from 0
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32))
    specialty_code: Mapped[str | None] = mapped_column(ForeignKey("specialties.code"))
    note: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Visit(Base):
    """An in-person visit entered by records staff."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_patient_id_visited_at", "patient_id", "visited_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clinic: Mapped[str] = mapped_column(String(200))
    doctor_name: Mapped[str] = mapped_column(String(200))
    specialty_code: Mapped[str | None] = mapped_column(ForeignKey("specialties.code"))
    diagnosis_icd10: Mapped[str | None] = mapped_column(String(10))
    diagnosis_text: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecordShare(Base):
    """The patient (or a guardian) shows a need-to-know entry to the doctors caring for them
    («Показать врачам»): a psychologist consultation (its conclusion and documents) or an
    in-person visit (and its documents). Withdrawing the share deletes the row."""

    __tablename__ = "record_shares"
    __table_args__ = (CheckConstraint("(consultation_id IS NULL) != (visit_id IS NULL)", name="one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    shared_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

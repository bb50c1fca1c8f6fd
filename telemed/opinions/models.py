"""Second medical opinion requests, the e-card documents chosen for them, and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telemed.db import Base, UTCDateTime, utcnow


class SecondOpinion(Base):
    """One request: once per condition (ICD-10 three-character category) per patient per contract."""

    __tablename__ = "second_opinions"
    __table_args__ = (
        UniqueConstraint("patient_id", "contract_id", "icd10_category"),  # once per condition
        Index("ix_second_opinions_status_due", "status", "contact_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    icd10: Mapped[str] = mapped_column(String(10))
    icd10_category: Mapped[str] = mapped_column(String(3))
    condition: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text)
    contact: Mapped[dict] = mapped_column(JSON, default=dict)  # {channel, phone?, time?}
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    contact_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # overdue: the worker raised it
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # its documents: uploads carry ``Attachment.opinion_id`` (a curator's upload is the expert's
    # report); documents chosen from the e-card are ``OpinionDocument`` rows


class OpinionDocument(Base):
    """A document of the patient's e-card chosen for the request (uploads carry ``opinion_id``)."""

    __tablename__ = "second_opinion_documents"

    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("second_opinions.id", ondelete="CASCADE"), primary_key=True
    )
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )


class OpinionEvent(Base):
    """A step of the request: each status it entered (who, when, the curator's note), and escalations."""

    __tablename__ = "second_opinion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("second_opinions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # a status, or "escalated"
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the worker
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

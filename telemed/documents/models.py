"""Stored documents: the row that describes an object in storage (who, whose, size, checksum, type)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from telemed.db import Base, UTCDateTime, utcnow


class Attachment(Base):
    """An uploaded document: bytes in object storage under a random key, facts on the row.

    It belongs to the patient (a document of their e-card): either uploaded in a consultation's
    chat (and, once sent, part of one message) or attached by records staff to an in-person visit.
    """

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_patient_id_created_at", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )  # None: a document of an in-person visit
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    opinion_id: Mapped[int | None] = mapped_column(
        ForeignKey("second_opinions.id", ondelete="CASCADE"), index=True
    )  # a document of a second medical opinion request (``opinions``)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )  # set when sent in a chat message
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

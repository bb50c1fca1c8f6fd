"""Chat messages and read marks (the documents sent with messages are ``documents.models.Attachment``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.auth.models import User
from telemed.db import Base, UTCDateTime, utcnow
from telemed.documents.models import Attachment


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_consultation_id_id", "consultation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by=Attachment.id)


class ReadMark(Base):
    """How far a participant has read a consultation's chat."""

    __tablename__ = "read_marks"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

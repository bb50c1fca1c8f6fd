"""Who is in a consultation's video room right now (one row per Socket.IO connection).

Kept in the database, not in process memory, so that several app processes behind a sticky load
balancer agree on who is present. The serving process that holds the connection (``process_id``)
refreshes ``seen_at`` periodically, so the rows of a process that died expire (``video.presence``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from telemed.db import Base, UTCDateTime, utcnow


class RoomPresence(Base):
    __tablename__ = "room_presence"
    __table_args__ = (Index("ix_room_presence_consultation_id", "consultation_id"),)

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    process_id: Mapped[str] = mapped_column(String(32), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class RoomJoin(Base):
    """Who entered a consultation's room, and when first: kept after they leave (the member's
    confirmation that the visit happened is checked against it: ``feedback``)."""

    __tablename__ = "room_joins"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""The count of ended logins that serving processes poll (``models.CredentialEndings``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemed.auth.models import CredentialEndings
from telemed.db import utcnow

_ROW = 1


def note_ending(session: Session, *, now: datetime | None = None) -> None:
    """Record, in the caller's write transaction, that a login ended: the generation grows by one
    when the transaction commits (the row is created on first use)."""
    values = {"generation": CredentialEndings.generation + 1, "changed_at": now or utcnow()}
    bump = update(CredentialEndings).where(CredentialEndings.id == _ROW).values(**values)
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():  # another transaction may be creating it right now
                session.execute(insert(CredentialEndings).values(id=_ROW, generation=0))
        except IntegrityError:
            pass  # it did: bump that row
        session.execute(bump)


def generation(session: Session) -> int:
    """The current generation (0 before any ending): one primary-key read."""
    return session.scalar(select(CredentialEndings.generation).where(CredentialEndings.id == _ROW)) or 0

"""Whose record an audited object belongs to (no Flask here): so that a denied attempt on an
object is listed in that patient's access log even though the caller never got the object.

Object ids as the audit log writes them: a consultation's id for ``conclusion``, ``pdf``,
``chat`` and ``consultation``; an attachment's id, or ``consultation:<id>`` / ``visit:<id>`` for
an upload to one, for ``attachment``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.db import ID_MAX
from telemed.documents.models import Attachment
from telemed.records.models import Visit
from telemed.scheduling.models import Consultation

_BY_CONSULTATION = frozenset({"conclusion", "pdf", "chat", "consultation"})


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= ID_MAX else None


def patient_of(session: Session, object_type: str, object_id: object) -> int | None:
    """The patient the object belongs to, or None (unknown kind, malformed or unknown id)."""
    if object_id is None:
        return None
    text = str(object_id)
    kind, _, rest = text.partition(":") if ":" in text else ("", "", text)
    number = _id(rest)
    if number is None:
        return None
    if object_type in _BY_CONSULTATION or (object_type == "attachment" and kind == "consultation"):
        return session.scalar(select(Consultation.patient_id).where(Consultation.id == number))
    if object_type == "attachment" and kind == "visit":
        return session.scalar(select(Visit.patient_id).where(Visit.id == number))
    if object_type == "attachment" and not kind:
        return session.scalar(select(Attachment.patient_id).where(Attachment.id == number))
    return None

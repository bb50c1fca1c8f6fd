"""Documents uploaded to a consultation's chat (stored by ``documents.store``; sent with a message later).

Access is checked before a byte is read (``check_can_upload``) and again in the row's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.chat import access
from telemed.chat import service as chat
from telemed.db import Database
from telemed.documents.models import Attachment
from telemed.documents.store import Owner, store_document
from telemed.storage import Readable, Storage


def check_can_upload(
    db: Database,
    actor: Actor,
    consultation_id: int,
    *,
    now: datetime,
    open_hours: int,
    consent_version: str | None = None,
) -> None:
    """Raise unless the actor may upload to this consultation's chat now (call before reading the
    body); with ``consent_version`` a member needs a standing consent to it (``ConsentRequired``)."""
    with db.session() as s:
        _writable(s, actor, consultation_id, now, open_hours, consent_version)


def _writable(
    s: Session,
    actor: Actor,
    consultation_id: int,
    now: datetime,
    open_hours: int,
    consent_version: str | None,
) -> Owner:
    c = chat.consultation_for_chat(s, actor, consultation_id)
    if consent_version is not None:
        auth_service.require_consent(s, actor, consent_version)
    access.require_writable(c, now, open_hours)
    return {"consultation_id": c.id, "patient_id": c.patient_id}


def upload(
    db: Database,
    storage: Storage,
    actor: Actor,
    consultation_id: int,
    *,
    stream: Readable,
    filename: str,
    now: datetime,
    open_hours: int,
    max_size: int,
    consent_version: str | None = None,
) -> Attachment:
    """Store a document in the consultation's chat; the actor may send it in a message afterwards
    (``check_can_upload``'s rules, checked again as it is stored)."""
    check_can_upload(
        db, actor, consultation_id, now=now, open_hours=open_hours, consent_version=consent_version
    )
    return store_document(
        db,
        storage,
        stream=stream,
        filename=filename,
        max_size=max_size,
        uploaded_by=actor.id,
        now=now,
        owner=lambda s: _writable(s, actor, consultation_id, now, open_hours, consent_version),
    )

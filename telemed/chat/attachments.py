"""Uploading and reading attachments: object storage first, the row second, nothing half-done.

``upload`` checks access before reading a byte, decides the type from the bytes, streams to
storage (hashing on the way) and only then writes the row; if the row cannot be written the
stored object is deleted again. A storage failure leaves neither row nor object.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select

from telemed import errors
from telemed.auth.actor import Actor
from telemed.chat import service as chat
from telemed.chat.filetypes import safe_filename, sniff_stream
from telemed.chat.models import Attachment
from telemed.db import Database
from telemed.storage import Storage

log = logging.getLogger(__name__)


def check_can_upload(
    db: Database, actor: Actor, consultation_id: int, *, now: datetime, open_hours: int
) -> None:
    """Raise unless the actor may upload to this consultation's chat now (call before reading the body)."""
    with db.session() as s:
        c = chat.consultation_for_chat(s, actor, consultation_id)
        chat.require_writable(c, now, open_hours)


def upload(
    db: Database,
    storage: Storage,
    actor: Actor,
    consultation_id: int,
    *,
    stream: BinaryIO,
    filename: str,
    now: datetime,
    open_hours: int,
    max_size: int,
) -> Attachment:
    check_can_upload(db, actor, consultation_id, now=now, open_hours=open_hours)
    content_type, replay = sniff_stream(stream)
    stored = storage.put_stream(replay, content_type=content_type, max_size=max_size)
    try:
        with db.transaction() as s:
            c = chat.consultation_for_chat(s, actor, consultation_id)
            chat.require_writable(c, now, open_hours)
            row = Attachment(
                consultation_id=c.id,
                patient_id=c.patient_id,
                uploaded_by_id=actor.id,
                filename=safe_filename(filename or "file"),
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                created_at=now,
            )
            s.add(row)
        return row
    except BaseException:
        try:
            storage.delete(stored.key)
        except Exception:
            log.error("could not delete orphan object %s", stored.key)
        raise


def attachment_for(db: Database, actor: Actor, attachment_id: int, *, now: datetime) -> Attachment:
    """The attachment if the actor may see it, otherwise ``NotFound``.

    A chat document: the consultation's participants. A visit document: whoever may read the
    patient's e-card.
    """
    from telemed.records.ecard import patient_for_record  # records builds on chat, not the reverse

    with db.session() as s:
        a = s.get(Attachment, attachment_id)
        if a is None:
            raise errors.NotFound("Attachment not found.")
        try:
            if a.consultation_id is not None:
                chat.consultation_for_chat(s, actor, a.consultation_id)
            else:
                patient_for_record(s, actor, a.patient_id, now=now)
        except errors.NotFound:
            raise errors.NotFound("Attachment not found.") from None
        return a


def upload_visit_document(
    db: Database,
    storage: Storage,
    actor: Actor,
    patient_id: int,
    visit_id: int,
    *,
    stream: BinaryIO,
    filename: str,
    now: datetime,
    max_size: int,
) -> Attachment:
    """Records staff attach a document (scan, results) to an in-person visit; same guarantees as ``upload``."""
    from telemed.records.models import Visit

    if not actor.is_staff:
        raise errors.NotPermitted("Only records staff add documents to in-person visits.")
    with db.session() as s:
        visit = s.get(Visit, visit_id)
        if visit is None or visit.patient_id != patient_id:
            raise errors.NotFound("Visit not found.")
    content_type, replay = sniff_stream(stream)
    stored = storage.put_stream(replay, content_type=content_type, max_size=max_size)
    try:
        with db.transaction() as s:
            row = Attachment(
                consultation_id=None,
                visit_id=visit_id,
                patient_id=patient_id,
                uploaded_by_id=actor.id,
                filename=safe_filename(filename or "file"),
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                created_at=now,
            )
            s.add(row)
        return row
    except BaseException:
        try:
            storage.delete(stored.key)
        except Exception:
            log.error("could not delete orphan object %s", stored.key)
        raise


def patient_documents(db: Database, patient_id: int) -> list[Attachment]:
    """All documents of a patient, newest first (the e-card lists them through ``records.ecard``)."""
    with db.session() as s:
        return list(
            s.scalars(
                select(Attachment)
                .where(Attachment.patient_id == patient_id)
                .order_by(Attachment.created_at.desc())
            )
        )

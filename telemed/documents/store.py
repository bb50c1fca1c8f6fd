"""Storing a document: object storage first, the row second, nothing half-done.

``store_document`` decides the type from the bytes, checks the whole content (``content``: plain
text throughout, PDFs without scripts), streams it to storage (hashing on the way), gives the file
name an extension of its type, and only then writes the row, in one transaction with the caller's own checks; if the row cannot
be written the stored object is deleted again. A storage failure leaves neither row nor object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypedDict

from sqlalchemy.orm import Session

from telemed.db import Database
from telemed.documents.content import checked
from telemed.documents.filetypes import filename_for, sniff_stream
from telemed.documents.models import Attachment
from telemed.storage import Readable, Storage

log = logging.getLogger(__name__)


class Owner(TypedDict, total=False):
    """Whose document it is: always the patient; a chat document has a consultation, a visit document
    a visit, a second opinion's document (the member's or the expert's report) the request."""

    patient_id: int
    consultation_id: int | None
    visit_id: int | None
    opinion_id: int | None


def store_document(
    db: Database,
    storage: Storage,
    *,
    stream: Readable,
    filename: str,
    max_size: int,
    uploaded_by: int,
    now: datetime,
    owner: Callable[[Session], Owner],
) -> Attachment:
    """Store ``stream`` and write its ``Attachment`` row; returns the row (detached, committed).

    ``owner(session)`` runs inside the row's transaction, after the bytes are stored: it checks
    again that the upload is still allowed (raising the refusal) and names the owner. Raises
    ``UnsupportedType``/``EmptyFile`` (sniffing, text), ``UnsafeDocument`` (a PDF with scripts),
    ``FileTooLarge``/``StorageUnavailable`` (storage).
    """
    content_type, replay = sniff_stream(stream)
    with checked(content_type, replay, max_size=max_size) as body:
        stored = storage.put_stream(body, content_type=content_type, max_size=max_size)
    try:
        with db.transaction() as s:
            row = Attachment(
                **owner(s),
                uploaded_by_id=uploaded_by,
                filename=filename_for(filename or "file", stored.content_type),
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
        except Exception:  # the original error matters more; the key is logged for cleanup
            log.error("could not delete orphan object %s", stored.key)
        raise


def attachment_json(a: Attachment, *, with_hash: bool = False) -> dict:
    """The wire shape of a document (in chat messages, upload answers and the e-card)."""
    body = {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
    if with_hash:
        body["sha256"] = a.sha256
    return body

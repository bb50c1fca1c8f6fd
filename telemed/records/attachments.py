"""Documents as part of the e-card: who may download one, and records staff's visit documents.

A chat document is seen by the consultation's parties; a visit document by whoever may read the
patient's e-card (``ecard.record_for``) and sees the visit's entry in it (a psychologist's visit
is need-to-know: ``access.sees_entry``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth.actor import Actor
from telemed.db import Database
from telemed.documents.models import Attachment
from telemed.documents.store import store_document
from telemed.records import access
from telemed.records.ecard import entry_by_id, record_for
from telemed.records.models import Visit
from telemed.scheduling import service as scheduling
from telemed.storage import Readable, Storage
from telemed.translatable import _l


def attachment_for(
    db: Database,
    actor: Actor,
    attachment_id: int,
    *,
    now: datetime,
    also: Callable[[Session, Actor, Attachment], bool] | None = None,
) -> Attachment:
    """The attachment if the actor may see it, otherwise ``NotFound``. ``also``: a feature above
    this one that lets others read some documents too (curators, a second opinion's)."""
    with db.session() as s:
        a = s.get(Attachment, attachment_id)
        if a is None:
            raise errors.NotFound(_l("Attachment not found."))
        if also is not None and also(s, actor, a):
            return a
        try:
            if a.consultation_id is not None:
                scheduling.get_for(s, actor, a.consultation_id)
            else:
                _patient, reader = record_for(s, actor, a.patient_id, now=now)
                if entry_by_id(s, a.patient_id, f"document-{a.id}", reader).get("restricted"):
                    raise errors.NotFound()
        except errors.NotFound:
            raise errors.NotFound(_l("Attachment not found.")) from None
        return a


def upload_visit_document(
    db: Database,
    storage: Storage,
    actor: Actor,
    patient_id: int,
    visit_id: int,
    *,
    stream: Readable,
    filename: str,
    now: datetime,
    max_size: int,
) -> Attachment:
    """Records staff attach a document (scan, results) to an in-person visit (``documents.store``)."""
    if not access.may_add_visit(actor):
        raise errors.NotPermitted(_l("Only records staff add documents to in-person visits."))
    with db.session() as s:
        visit = s.get(Visit, visit_id)
        if visit is None or visit.patient_id != patient_id:
            raise errors.NotFound(_l("Visit not found."))
    return store_document(
        db,
        storage,
        stream=stream,
        filename=filename,
        max_size=max_size,
        uploaded_by=actor.id,
        now=now,
        owner=lambda _s: {"consultation_id": None, "visit_id": visit_id, "patient_id": patient_id},
    )

"""«Показать врачам»: the patient shows a need-to-know (psychologist) entry to the doctors caring
for them, or hides it again.

A share covers what the entry belongs to: a consultation (its conclusion and every document of its
chat) or an in-person visit (and its documents). Only the patient or a guardian decides
(``access.may_share_entry``); records staff and doctors get ``NotPermitted``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.catalog.specialties import NEED_TO_KNOW_CODES
from telemed.documents.models import Attachment
from telemed.members import service as members
from telemed.records import access
from telemed.records.ecard import entry_by_id, record_for
from telemed.records.models import Conclusion, RecordShare
from telemed.translatable import _l


def _subject(session: Session, entry: dict) -> tuple[int | None, int | None]:
    """``(consultation_id, visit_id)`` the entry belongs to."""
    kind, object_id = entry["kind"], entry["object_id"]
    if kind == "visit":
        return None, object_id
    if kind == "conclusion":
        return session.scalar(select(Conclusion.consultation_id).where(Conclusion.id == object_id)), None
    attachment = session.get(Attachment, object_id)
    if attachment is None:  # entry_by_id has just found it
        raise errors.NotFound(_l("There is no such entry in the medical record."))
    return attachment.consultation_id, attachment.visit_id


def set_shared(
    session: Session,
    actor: Actor,
    patient_id: int,
    entry_id: str,
    shared: bool,
    *,
    now: datetime,
    consent_version: str,
) -> dict:
    """Show (``shared``) or hide a need-to-know entry; the entry as the patient now sees it.

    ``NotFound`` when the actor may not read the e-card or there is no such entry;
    ``NotPermitted`` unless the actor is the patient or a guardian; ``Conflict`` for an entry that
    every doctor caring for the patient already sees (it is not need-to-know); ``ConsentRequired``
    to show one without a standing consent (hiding is always allowed). Idempotent.
    """
    patient, reader = record_for(session, actor, patient_id, now=now)
    entry = entry_by_id(session, patient_id, entry_id, reader)
    if entry.get("restricted"):  # what the reader may not see, they cannot name either
        raise errors.NotFound(_l("There is no such entry in the medical record."))
    if not access.may_share_entry(acts_for_patient=members.may_act_for(session, actor.id, patient)):
        raise errors.NotPermitted(_l("Only the patient decides whom to show this entry."))
    if entry["specialty"] not in NEED_TO_KNOW_CODES:
        raise errors.Conflict(
            _l("This entry is not restricted: every doctor caring for the patient sees it."),
            details={"field": "entry_id"},
        )
    if shared:
        auth_service.require_consent(session, actor, consent_version)
    consultation_id, visit_id = _subject(session, entry)
    if consultation_id is not None:
        where = RecordShare.consultation_id == consultation_id
    else:
        where = RecordShare.visit_id == visit_id
    existing = session.scalar(select(RecordShare).where(where))
    if shared and existing is None:
        try:
            with session.begin_nested():  # a concurrent share of the same entry is not an error
                session.add(
                    RecordShare(
                        patient_id=patient.id,
                        consultation_id=consultation_id,
                        visit_id=visit_id if consultation_id is None else None,
                        shared_by_id=actor.id,
                        shared_at=now,
                    )
                )
        except IntegrityError:
            pass
    elif not shared and existing is not None:
        session.execute(delete(RecordShare).where(where))
    session.flush()
    return entry_by_id(session, patient_id, entry_id, reader)

"""The unified e-medical record (e-card): who may read it and its entries, as each reader may see them.

Who may read a patient's e-card: the patient, a guardian, records staff and admins, and a doctor
who has a consultation with the patient (from booking until 30 days after it). Anyone else gets
``NotFound``, exactly as if the patient did not exist. A doctor reads a psychologist's entry only
when they held it or the patient shared it (``access.sees_entry``); otherwise it is listed as
``{kind, date, specialty, restricted: true}``. In-person visits are entered in ``visits``; records
staff find patients with ``patient_search``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, false, func, literal, not_, or_, select, true, union_all
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import NEED_TO_KNOW_CODES
from telemed.dates import rfc3339
from telemed.documents.models import Attachment
from telemed.members import service as members
from telemed.members.models import Patient, fold
from telemed.records import access
from telemed.records.models import Conclusion, RecordShare, Visit
from telemed.scheduling.models import Consultation, Status
from telemed.translatable import _l

CARE_WINDOW = timedelta(days=30)
KINDS = ("conclusion", "visit", "document")


def doctor_cares_for(session: Session, actor: Actor, patient_id: int, now: datetime) -> bool:
    """A consultation with the patient that is booked and not more than 30 days past."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Consultation.patient_id == patient_id,
                    Consultation.status != Status.CANCELLED,
                    Consultation.ends_at >= now - CARE_WINDOW,
                    Consultation.doctor_id.in_(select(Doctor.id).where(Doctor.user_id == actor.id)),
                )
            )
        )
    )


@dataclass(frozen=True)
class Reader:
    """Who reads an e-card, as need-to-know sees them: ``sees_all`` (``access.sees_whole_record``):
    the patient, a guardian, records staff and admins; otherwise a doctor caring for the patient,
    who sees a psychologist's entries only when they held the consultation or the patient shared it."""

    user_id: int
    sees_all: bool


def record_for(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> tuple[Patient, Reader]:
    """The patient and the actor as a reader if the actor may read the e-card
    (``access.may_read_record``), else ``NotFound``."""
    patient = session.get(Patient, patient_id)
    acts_for = patient is not None and members.may_act_for(session, actor.id, patient)
    if patient is None or not access.may_read_record(
        actor,
        acts_for_patient=acts_for,
        doctor_cares=actor.is_doctor and doctor_cares_for(session, actor, patient_id, now),
    ):
        raise errors.NotFound(_l("Patient not found."))
    return patient, Reader(actor.id, access.sees_whole_record(actor, acts_for_patient=acts_for))


def patient_for_record(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> Patient:
    """The patient if the actor may read the e-card (``access.may_read_record``), else ``NotFound``."""
    return record_for(session, actor, patient_id, now=now)[0]


def patient_for_access_log(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> Patient:
    """The patient if the actor may see who read the record (``access.may_read_access_log``), else ``NotFound``."""
    patient = patient_for_record(session, actor, patient_id, now=now)
    if not access.may_read_access_log(actor, is_own_record=patient.user_id == actor.id, may_read=True):
        raise errors.NotFound(_l("Patient not found."))
    return patient


@dataclass(frozen=True)
class EntryFilter:
    kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    specialty: str | None = None
    text: str | None = None
    object_id: int | None = None  # one entry of ``kind`` (``entry_by_id``)


def _entries_query(patient_id: int):
    """Every entry of the patient's e-card with what need-to-know decides on: ``specialty``,
    ``held_by`` (the user id of the doctor who held the consultation) and ``visit_ref`` (the visit it
    belongs to); a document's are its consultation's or visit's (``_specialty``, ``_held_by``,
    ``_shared``)."""
    signer = User.__table__.alias("signer")
    conclusions = (
        select(
            literal("conclusion").label("kind"),
            Conclusion.id.label("id"),
            Conclusion.signed_at.label("date"),
            Consultation.specialty_code.label("specialty"),
            Conclusion.diagnosis_text.label("summary"),
            signer.c.full_name.label("author"),
            Conclusion.diagnosis_icd10.label("icd10"),
            Conclusion.consultation_id.label("consultation_id"),
            Conclusion.search_text.label("search"),
            Conclusion.signed_by_id.label("held_by"),  # only the consultation's doctor signs
            cast(literal(None), Visit.id.type).label("visit_ref"),
        )
        .join(Consultation, Consultation.id == Conclusion.consultation_id)
        .join(signer, signer.c.id == Conclusion.signed_by_id)
        .where(Conclusion.patient_id == patient_id, Conclusion.signed_at.is_not(None))
    )
    visits = select(
        literal("visit"),
        Visit.id,
        Visit.visited_at,
        Visit.specialty_code,
        Visit.diagnosis_text,
        Visit.doctor_name,
        Visit.diagnosis_icd10,
        cast(literal(None), Consultation.id.type),
        Visit.search_text,
        cast(literal(None), User.id.type),
        Visit.id,
    ).where(Visit.patient_id == patient_id)
    uploader = User.__table__.alias("uploader")
    documents = (
        select(
            literal("document"),
            Attachment.id,
            Attachment.created_at,
            cast(literal(None), String),  # its consultation's or visit's: ``_specialty``
            Attachment.filename,
            uploader.c.full_name,
            cast(literal(None), String),
            Attachment.consultation_id,
            Attachment.filename,
            cast(literal(None), User.id.type),  # its consultation's doctor: ``_held_by``
            Attachment.visit_id,
        )
        .join(uploader, uploader.c.id == Attachment.uploaded_by_id)
        .where(Attachment.patient_id == patient_id)
    )
    return union_all(conclusions, visits, documents).subquery("entries")


# A document's specialty, doctor and share are those of its consultation or visit. They are looked
# up row by row: for a page of entries only, unless a filter needs them for every row.


def _specialty(e):
    """SQL: the entry's specialty (a document: its consultation's, else its visit's)."""
    of_consultation = select(Consultation.specialty_code).where(Consultation.id == e.c.consultation_id)
    of_visit = select(Visit.specialty_code).where(Visit.id == e.c.visit_ref)
    return func.coalesce(e.c.specialty, of_consultation.scalar_subquery(), of_visit.scalar_subquery())


def _held_by(e):
    """SQL: the user id of the doctor who held the entry's consultation (a visit: none)."""
    doctor = (
        select(Doctor.user_id)
        .join(Consultation, Consultation.doctor_id == Doctor.id)
        .where(Consultation.id == e.c.consultation_id)
    )
    return func.coalesce(e.c.held_by, doctor.scalar_subquery())


def _shared(e):
    """SQL: the patient shared the consultation or visit the entry belongs to."""
    return exists().where(
        or_(RecordShare.consultation_id == e.c.consultation_id, RecordShare.visit_id == e.c.visit_ref)
    )


def _restricted(e, reader: Reader):
    """SQL: the entry is need-to-know and hidden from ``reader`` (``access.sees_entry``)."""
    if reader.sees_all:
        return false()
    held_by = _held_by(e)
    return and_(
        _specialty(e).in_(NEED_TO_KNOW_CODES),
        not_(_shared(e)),
        or_(held_by.is_(None), held_by != reader.user_id),
    )


def entries(
    session: Session,
    patient_id: int,
    f: EntryFilter,
    reader: Reader,
    *,
    limit: int | None = 50,
    offset: int = 0,
) -> list[dict]:
    """The patient's e-card entries as ``reader`` sees them, newest first, filtered in SQL.

    An entry hidden from the reader (``access.sees_entry``) is ``{kind, date, specialty,
    restricted: true}``; a text filter never matches it, as that would tell what it says."""
    e = _entries_query(patient_id)
    conditions = []
    if f.kind:
        conditions.append(e.c.kind == f.kind)
    if f.start:
        conditions.append(e.c.date >= f.start)
    if f.end:
        conditions.append(e.c.date < f.end)
    if f.specialty:
        conditions.append(_specialty(e) == f.specialty)
    if f.text:
        conditions.append(e.c.search.like(f"%{inputs.escape_like(fold(f.text))}%", escape="\\"))
        conditions.append(not_(_restricted(e, reader)))
    if f.object_id is not None:
        conditions.append(e.c.id == f.object_id)
    page = (
        select(e)
        .where(and_(true(), *conditions))
        .order_by(e.c.date.desc(), e.c.kind, e.c.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    columns = [c for c in page.c if c.name not in ("specialty", "held_by")]
    rows = session.execute(
        select(
            *columns,
            _specialty(page).label("specialty"),
            _held_by(page).label("held_by"),
            _shared(page).label("shared"),
        ).order_by(page.c.date.desc(), page.c.kind, page.c.id.desc())
    ).mappings()
    return [_entry_json(r, reader) for r in rows]


def entry_by_id(session: Session, patient_id: int, entry_id: str, reader: Reader) -> dict:
    """One entry (``"conclusion-12"``, ``"visit-3"``, ``"document-5"``) as ``reader`` sees it, else ``NotFound``."""
    kind, _, number = entry_id.partition("-")
    if kind not in KINDS or not number.isdigit() or len(number) > 18:
        raise errors.NotFound(_l("There is no such entry in the medical record."))
    found = entries(session, patient_id, EntryFilter(kind=kind, object_id=int(number)), reader, limit=1)
    if not found:
        raise errors.NotFound(_l("There is no such entry in the medical record."))
    return found[0]


def _entry_json(r, reader: Reader | None = None) -> dict:
    date_value = r["date"]
    if isinstance(date_value, str):  # SQLite returns text from a UNION of datetimes
        date_value = datetime.fromisoformat(date_value)
    if date_value.tzinfo is None:
        date_value = date_value.replace(tzinfo=ZoneInfo("UTC"))
    need_to_know = r["specialty"] in NEED_TO_KNOW_CODES
    shared = bool(r.get("shared"))
    if reader is not None and not access.sees_entry(
        sees_whole_record=reader.sees_all,
        need_to_know=need_to_know,
        shared=shared,
        held_by_reader=r.get("held_by") == reader.user_id,
    ):
        return {
            "kind": r["kind"],
            "date": rfc3339(date_value),
            "specialty": r["specialty"],
            "restricted": True,
        }
    titles = {"conclusion": "Medical conclusion", "visit": "In-person visit", "document": "Document"}
    entry = {
        "id": f"{r['kind']}-{r['id']}",
        "kind": r["kind"],
        "object_id": r["id"],
        "date": rfc3339(date_value),
        "title": titles[r["kind"]],
        "author": r["author"],
        "summary": r["summary"],
        "specialty": r["specialty"],
        "consultation_id": r["consultation_id"],
    }
    if r["kind"] != "document":
        entry["diagnosis"] = {"icd10": r["icd10"], "text": r["summary"]}
    if need_to_know:
        entry["need_to_know"], entry["shared"] = True, shared
    return entry


def visit_entry(v: Visit) -> dict:
    """A visit in the e-card entry shape (as ``entries`` would list it)."""
    return _entry_json(
        {
            "kind": "visit",
            "id": v.id,
            "date": v.visited_at,
            "author": v.doctor_name,
            "summary": v.diagnosis_text,
            "specialty": v.specialty_code,
            "consultation_id": None,
            "icd10": v.diagnosis_icd10,
        }
    )

"""Database rows → the pure renderers: the conclusion PDF and the FHIR R4 bundle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.documents.models import Attachment
from telemed.members.models import Patient, Policy
from telemed.records import documents as d
from telemed.records.conclusions import content_of
from telemed.records.ecard import KINDS
from telemed.records.fhir import build_bundle
from telemed.records.models import Conclusion, Visit
from telemed.scheduling.models import Consultation, Mode, Status

_ENCOUNTER_STATUS = {
    Status.WAITING: "arrived",  # an urgent request nobody took yet (a document sent while waiting)
    Status.SCHEDULED: "planned",
    Status.IN_PROGRESS: "in-progress",
    Status.COMPLETED: "finished",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "cancelled",
}
VISIT_PRACTITIONER_BASE = 1_000_000_000  # in-person doctors are names, not rows: ids above real ones


def _doctor_id(c: Consultation) -> int:
    if c.doctor_id is None:  # a signed conclusion's consultation has a doctor: they signed it
        raise ValueError(f"consultation {c.id} has no doctor")
    return c.doctor_id


def _doctor(c: Consultation) -> Doctor:
    if c.doctor is None:  # a signed conclusion has a doctor: they signed it
        raise ValueError(f"consultation {c.id} has no doctor")
    return c.doctor


def _content(c: Conclusion) -> d.ConclusionContent:
    return d.ConclusionContent.from_dict(content_of(c))


def _addenda(c: Conclusion) -> list[d.Addendum]:
    return [d.Addendum(a.author.full_name, a.created_at, a.reason, a.text) for a in c.addenda]


def conclusion_document(c: Consultation, conclusion: Conclusion, time_zone: str) -> d.ConclusionDocument:
    """The PDF's input; ``conclusion`` must be signed."""
    if conclusion.signed_at is None or conclusion.signed_by is None or conclusion.content_sha256 is None:
        raise ValueError("only a signed conclusion has a document")
    return d.ConclusionDocument(
        consultation_id=c.id,
        patient_name=c.patient.full_name,
        patient_birth_date=c.patient.birth_date,
        doctor_name=_doctor(c).full_name,
        doctor_specialty=BY_CODE[c.specialty_code].name_ru,
        started_at=c.starts_at,
        time_zone=time_zone,
        content=_content(conclusion),
        signed_at=conclusion.signed_at,
        signed_by=conclusion.signed_by.full_name,
        content_sha256=conclusion.content_sha256,
        addenda=_addenda(conclusion),
    )


def _consultation_encounter(c: Consultation) -> d.FhirEncounter:
    return d.FhirEncounter(
        id=c.id,
        practitioner_id=c.doctor_id,
        status=_ENCOUNTER_STATUS[Status(c.status)],
        remote=True,
        start=c.starts_at,
        end=c.ends_at,
        specialty=BY_CODE[c.specialty_code].name_en,
        urgent=c.mode == Mode.URGENT,
    )


def _visit_encounter(v: Visit) -> d.FhirEncounter:
    return d.FhirEncounter(
        id=VISIT_PRACTITIONER_BASE + v.id,
        practitioner_id=VISIT_PRACTITIONER_BASE + v.id,
        status="finished",
        remote=False,
        start=v.visited_at,
        reason=v.diagnosis_text or None,
        specialty=BY_CODE[v.specialty_code].name_en if v.specialty_code else None,
    )


def _rows(session: Session, model, ids: set[int]) -> list:
    return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id))) if ids else []


def fhir_bundle(session: Session, patient: Patient, entries: list[dict]) -> dict:
    """The patient's e-card as a FHIR R4 collection Bundle, made of exactly the e-card ``entries``
    the reader sees (``ecard.entries`` for the same reader, unpaginated).

    A signed conclusion is a Composition (and a Condition) of its consultation's Encounter, a
    visit an in-person Encounter, a document a DocumentReference (of its consultation's Encounter);
    a consultation is exported only as the encounter of such an entry, without its booking
    reason. An entry hidden from the reader keeps only its kind, date and specialty
    (``fhir.FhirRestricted``).
    """
    visible = [e for e in entries if not e.get("restricted")]
    ids = {kind: {e["object_id"] for e in visible if e["kind"] == kind} for kind in KINDS}
    conclusions = _rows(session, Conclusion, ids["conclusion"])
    attachments = _rows(session, Attachment, ids["document"])
    visits = _rows(session, Visit, ids["visit"])
    consultations = _rows(
        session,
        Consultation,
        {x.consultation_id for x in conclusions}
        | {a.consultation_id for a in attachments if a.consultation_id is not None},
    )
    doctor_ids = {c.doctor_id for c in consultations if c.doctor_id is not None}
    practitioners = [
        d.FhirPractitioner(
            id=doc.id, name=doc.full_name, education="; ".join(filter(None, [doc.education, doc.degree]))
        )
        for doc in _rows(session, Doctor, doctor_ids)
    ]
    practitioners += [
        d.FhirPractitioner(id=VISIT_PRACTITIONER_BASE + v.id, name=v.doctor_name) for v in visits
    ]
    encounters = [_consultation_encounter(c) for c in consultations] + [_visit_encounter(v) for v in visits]
    by_consultation = {c.id: c for c in consultations}
    fhir_conclusions = [
        d.FhirConclusion(
            id=x.id,
            encounter_id=x.consultation_id,
            practitioner_id=_doctor_id(by_consultation[x.consultation_id]),
            content=_content(x),
            signed_at=x.signed_at,
            content_sha256=x.content_sha256,
            addenda=_addenda(x),
        )
        for x in conclusions
        if x.signed_at is not None and x.content_sha256 is not None  # e-card entries are signed ones
    ]
    docs = [
        d.FhirDocument(
            id=a.id,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            sha256=a.sha256,
            created_at=a.created_at,
            encounter_id=a.consultation_id,
        )
        for a in attachments
    ]
    restricted = [
        d.FhirRestricted(
            kind=e["kind"],
            date=datetime.fromisoformat(e["date"]),
            specialty=BY_CODE[e["specialty"]].name_en if e["specialty"] in BY_CODE else None,
        )
        for e in entries
        if e.get("restricted")
    ]
    policy = session.scalar(
        select(Policy).where(Policy.patient_id == patient.id).order_by(Policy.valid_to.desc())
    )
    fhir_patient = d.FhirPatient(
        id=patient.id,
        name=patient.full_name,
        birth_date=patient.birth_date,
        gender=patient.sex,
        policy_number=policy.number if policy else None,
    )
    return build_bundle(fhir_patient, practitioners, encounters, fhir_conclusions, docs, restricted)

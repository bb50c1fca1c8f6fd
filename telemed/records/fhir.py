"""FHIR R4 export of one patient's e-card as a JSON-ready ``dict``.

Bundle type ``collection``: the export is a set of related resources gathered
for one patient, not the result of a search (``searchset`` implies search
modes and totals) nor a signed clinical document (``document`` would need one
Composition first and a signature over the whole).

Ids: every entry's ``fullUrl`` is ``urn:uuid:<uuid5(namespace, "Type/<db id>")>``,
so the same row always gets the same URL; ``resource.id`` is that UUID and all
references inside the bundle point at these URLs.

Resources: Patient, Practitioner, Encounter (class ``VR`` remote / ``AMB`` in
person), one Condition (ICD-10 + text, ``encounter-diagnosis``) and one
Composition (LOINC 11488-4 Consult note, legal attester) per signed conclusion,
one ServiceRequest per referral of a signed conclusion (``intent: order``, of its
Encounter, ``reasonCode`` its ICD-10 diagnosis, ``code`` a code of the «Номенклатура
медицинских услуг» or the specialty), one DocumentReference per uploaded file. An entry the reader may not see
(need-to-know) is an Encounter (conclusion, visit) or a DocumentReference
(document) with its date and specialty only, labelled ``meta.security`` R
(restricted, v3-Confidentiality); its id is derived from its position, not a row.

Hashes: FHIR ``Attachment.hash`` must be base64 SHA-1, but we store SHA-256
hex, so ``hash`` is omitted and SHA-256 travels in the extension
``SHA256_EXTENSION`` (``valueString``, lowercase hex) on the attachment; the
conclusion's content hash uses the same extension on the Composition.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from telemed.records.documents import (
    ConclusionContent,
    FhirConclusion,
    FhirDocument,
    FhirEncounter,
    FhirPatient,
    FhirPractitioner,
    FhirRestricted,
)
from telemed.records.fhir_base import (
    ACT_CODE_SYSTEM,
    ACT_PRIORITY_SYSTEM,
    ATTACHMENT_URL,
    CONCLUSION_SYSTEM,
    CONDITION_CATEGORY_SYSTEM,
    ICD10_SYSTEM,
    LOINC_SYSTEM,
    NAMESPACE,
    POLICY_SYSTEM,
    RESTRICTED_LABEL,
    SHA256_EXTENSION,
    Json,
    Refs,
    bundle_entry,
    full_url,
    human_name,
    instant,
    narrative,
)
from telemed.records.fhir_orders import NOMENCLATURE_SYSTEM, service_request

__all__ = [
    "ACT_CODE_SYSTEM",
    "ACT_PRIORITY_SYSTEM",
    "ATTACHMENT_URL",
    "ICD10_SYSTEM",
    "NAMESPACE",
    "NOMENCLATURE_SYSTEM",
    "POLICY_SYSTEM",
    "SHA256_EXTENSION",
    "build_bundle",
    "full_url",
]


def _patient(patient: FhirPatient) -> Json:
    resource: Json = {
        "resourceType": "Patient",
        "name": [human_name(patient.name, patient.family, patient.given)],
    }
    if patient.policy_number:
        resource["identifier"] = [{"system": POLICY_SYSTEM, "value": patient.policy_number}]
    if patient.gender:
        resource["gender"] = patient.gender
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    return resource


def _practitioner(doctor: FhirPractitioner) -> Json:
    resource: Json = {
        "resourceType": "Practitioner",
        "name": [human_name(doctor.name, doctor.family, doctor.given)],
    }
    if doctor.education:
        resource["qualification"] = [{"code": {"text": doctor.education}}]
    return resource


def _encounter(visit: FhirEncounter, refs: Refs, patient_id: int, conditions: list[Json]) -> Json:
    code, display = ("VR", "virtual") if visit.remote else ("AMB", "ambulatory")
    period = {"start": instant(visit.start)}
    if visit.end:
        period["end"] = instant(visit.end)
    resource: Json = {
        "resourceType": "Encounter",
        "status": visit.status,
        "class": {"system": ACT_CODE_SYSTEM, "code": code, "display": display},
        "subject": refs.ref("Patient", patient_id),
        "period": period,
    }
    if visit.practitioner_id is not None:
        resource["participant"] = [{"individual": refs.ref("Practitioner", visit.practitioner_id)}]
    if visit.urgent:
        resource["priority"] = {
            "coding": [{"system": ACT_PRIORITY_SYSTEM, "code": "UR", "display": "urgent"}]
        }
    if visit.specialty:
        resource["serviceType"] = {"text": visit.specialty}
    if visit.reason:
        resource["reasonCode"] = [{"text": visit.reason}]
    if conditions:
        resource["diagnosis"] = [{"condition": ref} for ref in conditions]
    return resource


def _condition(conclusion: FhirConclusion, refs: Refs, patient_id: int) -> Json | None:
    diagnosis = conclusion.content.diagnosis
    if not diagnosis.icd10 and not diagnosis.text.strip():
        return None
    code: Json = {"text": diagnosis.text.strip() or diagnosis.icd10}
    if diagnosis.icd10:
        code["coding"] = [{"system": ICD10_SYSTEM, "code": diagnosis.icd10}]
    return {
        "resourceType": "Condition",
        "category": [{"coding": [{"system": CONDITION_CATEGORY_SYSTEM, "code": "encounter-diagnosis"}]}],
        "code": code,
        "subject": refs.ref("Patient", patient_id),
        "encounter": refs.ref("Encounter", conclusion.encounter_id),
        "recordedDate": instant(conclusion.signed_at),
        "recorder": refs.ref("Practitioner", conclusion.practitioner_id),
    }


def _sections(
    content: ConclusionContent, conclusion: FhirConclusion, condition: Json | None, orders: list[Json]
) -> list[Json]:
    diagnosis = content.diagnosis
    referrals = [r.line() for r in content.referrals if r.line().strip()]
    diagnosis_line = " — ".join(p for p in (diagnosis.icd10 or "", diagnosis.text.strip()) if p)
    texts: list[tuple[str, list[str]]] = [
        ("Жалобы", content.complaints.splitlines()),
        ("Анамнез", content.anamnesis.splitlines()),
        ("Объективно", content.objective.splitlines()),
        ("Диагноз", [diagnosis_line]),
        ("Рекомендации", content.recommendations.splitlines()),
        ("Направления", [f"{i}. {r}" for i, r in enumerate(referrals, 1)]),
        ("Повторная консультация", content.follow_up.splitlines()),
        (
            "Дополнения",
            [
                f"{instant(a.created_at)}, {a.author}. Причина: {a.reason}. {a.text}"
                for a in conclusion.addenda
            ],
        ),
    ]
    sections: list[Json] = []
    for title, lines in texts:
        if not any(line.strip() for line in lines):
            continue  # cmp-1: a section needs text, entries or sub-sections
        section: Json = {"title": title, "text": narrative(lines)}
        if title == "Диагноз" and condition is not None:
            section["entry"] = [condition]
        if title == "Направления" and orders:
            section["entry"] = orders
        sections.append(section)
    return sections


def _composition(
    conclusion: FhirConclusion, refs: Refs, patient_id: int, condition: Json | None, orders: list[Json]
) -> Json:
    author = refs.ref("Practitioner", conclusion.practitioner_id)
    return {
        "resourceType": "Composition",
        "extension": [{"url": SHA256_EXTENSION, "valueString": conclusion.content_sha256}],
        "identifier": {"system": CONCLUSION_SYSTEM, "value": str(conclusion.id)},
        "status": "final",
        "type": {
            "coding": [{"system": LOINC_SYSTEM, "code": "11488-4", "display": "Consult note"}],
            "text": "Медицинское заключение",
        },
        "subject": refs.ref("Patient", patient_id),
        "encounter": refs.ref("Encounter", conclusion.encounter_id),
        "date": instant(conclusion.signed_at),
        "author": [author],
        "title": "Медицинское заключение",
        "attester": [{"mode": "legal", "time": instant(conclusion.signed_at), "party": author}],
        "section": _sections(conclusion.content, conclusion, condition, orders),
    }


def _document_reference(document: FhirDocument, refs: Refs, patient_id: int) -> Json:
    attachment: Json = {
        "extension": [{"url": SHA256_EXTENSION, "valueString": document.sha256}],
        "contentType": document.content_type,
        "url": ATTACHMENT_URL.format(id=document.id),
        "size": document.size,
        "title": document.filename,
        "creation": instant(document.created_at),
    }
    resource: Json = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": refs.ref("Patient", patient_id),
        "date": instant(document.created_at),
        "content": [{"attachment": attachment}],
    }
    if document.description:
        resource["description"] = document.description
    if document.encounter_id is not None:
        resource["context"] = {"encounter": [refs.ref("Encounter", document.encounter_id)]}
    return resource


def _restricted(entry: FhirRestricted, refs: Refs, patient_id: int) -> Json:
    if entry.kind == "document":
        resource: Json = {
            "resourceType": "DocumentReference",
            "meta": {"security": [dict(RESTRICTED_LABEL)]},
            "status": "current",
            "subject": refs.ref("Patient", patient_id),
            "date": instant(entry.date),
            "content": [{"attachment": {"creation": instant(entry.date)}}],
        }
        if entry.specialty:
            resource["context"] = {"practiceSetting": {"text": entry.specialty}}
        return resource
    code, display = ("VR", "virtual") if entry.kind == "conclusion" else ("AMB", "ambulatory")
    resource = {
        "resourceType": "Encounter",
        "meta": {"security": [dict(RESTRICTED_LABEL)]},
        "status": "finished",
        "class": {"system": ACT_CODE_SYSTEM, "code": code, "display": display},
        "subject": refs.ref("Patient", patient_id),
        "period": {"start": instant(entry.date)},
    }
    if entry.specialty:
        resource["serviceType"] = {"text": entry.specialty}
    return resource


def build_bundle(
    patient: FhirPatient,
    practitioners: Sequence[FhirPractitioner],
    encounters: Sequence[FhirEncounter],
    conclusions: Sequence[FhirConclusion],
    documents: Sequence[FhirDocument],
    restricted: Sequence[FhirRestricted] = (),
    *,
    timestamp: datetime | None = None,
    namespace: uuid.UUID = NAMESPACE,
) -> Json:
    """A FHIR R4 ``collection`` Bundle of the patient's e-card.

    Every encounter, conclusion and document must reference a practitioner or
    encounter passed in the same call, else ``ValueError``; duplicate ids raise
    too. ``timestamp`` (default: now, UTC) is the Bundle's assembly time.
    """
    if timestamp is not None and timestamp.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    refs = Refs(namespace)
    entries: list[Json] = [bundle_entry(refs.add("Patient", patient.id), _patient(patient))]
    for doctor in practitioners:
        entries.append(bundle_entry(refs.add("Practitioner", doctor.id), _practitioner(doctor)))
    encounter_urls = {visit.id: refs.add("Encounter", visit.id) for visit in encounters}

    conditions: dict[int, list[Json]] = {}
    condition_entries: list[Json] = []
    composition_entries: list[Json] = []
    order_entries: list[Json] = []
    for conclusion in conclusions:
        condition = _condition(conclusion, refs, patient.id)
        condition_ref = None
        if condition is not None:
            url = refs.add("Condition", conclusion.id)
            condition_entries.append(bundle_entry(url, condition))
            condition_ref = {"reference": url}
            conditions.setdefault(conclusion.encounter_id, []).append(condition_ref)
        orders: list[Json] = []
        for position, referral in enumerate(conclusion.content.referrals):
            url = refs.add("ServiceRequest", f"{conclusion.id}-{position}")
            request = service_request(referral, conclusion, refs, patient.id, condition_ref)
            order_entries.append(bundle_entry(url, request))
            orders.append({"reference": url})
        composition = _composition(conclusion, refs, patient.id, condition_ref, orders)
        composition_entries.append(bundle_entry(refs.add("Composition", conclusion.id), composition))

    for visit in encounters:
        encounter = _encounter(visit, refs, patient.id, conditions.get(visit.id, []))
        entries.append(bundle_entry(encounter_urls[visit.id], encounter))
    entries += condition_entries + composition_entries + order_entries
    for document in documents:
        reference = _document_reference(document, refs, patient.id)
        entries.append(bundle_entry(refs.add("DocumentReference", document.id), reference))
    for position, hidden in enumerate(restricted):
        resource = _restricted(hidden, refs, patient.id)
        entries.append(bundle_entry(refs.add(resource["resourceType"], f"restricted-{position}"), resource))

    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(timestamp or datetime.now(UTC)),
        "entry": entries,
    }

"""Referrals in the FHIR export: one ServiceRequest per referral of a signed conclusion
(``intent: order``, of its Encounter, ``reasonCode`` its ICD-10 diagnosis, ``code`` a code of the
«Номенклатура медицинских услуг» or the specialty)."""

from __future__ import annotations

from telemed.records.documents import FhirConclusion, Referral
from telemed.records.fhir_base import ICD10_SYSTEM, Json, Refs, instant

#: «Номенклатура медицинских услуг» (Приказ Минздрава № 804н) in the НСИ registry.
NOMENCLATURE_SYSTEM = "urn:oid:1.2.643.5.1.13.13.11.1070"
SPECIALTY_SYSTEM = "urn:telemed:specialty"
SNOMED_SYSTEM = "http://snomed.info/sct"
REFERRAL_CATEGORY = {
    "lab": {"code": "108252007", "display": "Laboratory procedure"},
    "referral": {"code": "3457005", "display": "Patient referral"},
}


def service_request(
    referral: Referral, conclusion: FhirConclusion, refs: Refs, patient_id: int, condition: Json | None
) -> Json:
    """A referral as an order: of its consultation's Encounter, for the conclusion's diagnosis."""
    code: Json = {"text": referral.line()}
    if referral.kind == "test" and referral.code:
        code["coding"] = [{"system": NOMENCLATURE_SYSTEM, "code": referral.code, "display": referral.title}]
    elif referral.specialty:
        code["coding"] = [{"system": SPECIALTY_SYSTEM, "code": referral.specialty, "display": referral.title}]
    for coding in code.get("coding", []):
        if not coding["display"]:
            del coding["display"]
    category = REFERRAL_CATEGORY["lab" if referral.kind == "test" else "referral"]
    resource: Json = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED_SYSTEM, **category}]}],
        "code": code,
        "subject": refs.ref("Patient", patient_id),
        "encounter": refs.ref("Encounter", conclusion.encounter_id),
        "authoredOn": instant(conclusion.signed_at),
        "requester": refs.ref("Practitioner", conclusion.practitioner_id),
    }
    diagnosis = conclusion.content.diagnosis
    if diagnosis.icd10:
        resource["reasonCode"] = [
            {
                "coding": [{"system": ICD10_SYSTEM, "code": diagnosis.icd10}],
                "text": diagnosis.text or diagnosis.icd10,
            }
        ]
    if condition is not None:
        resource["reasonReference"] = [condition]
    if referral.note.strip():
        resource["note"] = [{"text": referral.note.strip()}]
    return resource

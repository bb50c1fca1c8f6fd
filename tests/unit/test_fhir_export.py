"""FHIR export: the whole bundle parses with fhir.resources (R4B, wire-compatible
with R4 for these resources), references resolve, and content is mapped right."""

from __future__ import annotations

import copy
import dataclasses
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from telemed.records.documents import (
    ConclusionContent,
    Diagnosis,
    FhirConclusion,
    FhirDocument,
    FhirEncounter,
    FhirPatient,
    FhirPractitioner,
    FhirRestricted,
    Referral,
)
from telemed.records.fhir import ICD10_SYSTEM, NAMESPACE, NOMENCLATURE_SYSTEM, build_bundle, full_url

T0 = datetime(2025, 11, 24, 11, 30, tzinfo=UTC)
SIGNED = datetime(2025, 11, 24, 12, 5, tzinfo=UTC)
CONTENT = ConclusionContent(
    complaints="Боль в горле <b>&</b>",
    anamnesis="Болеет 2 дня.\nАллергию отрицает.",
    objective="",
    diagnosis=Diagnosis("J06.9", "Острая инфекция верхних дыхательных путей неуточненная"),
    recommendations="Обильное питьё.",
    referrals=[
        Referral("test", code="B03.016.002", title="Общий (клинический) анализ крови", note="натощак"),
        Referral("specialist", specialty="ent", title="ЛОР"),
    ],
    follow_up="Через 5 дней",
)


def make_inputs() -> dict[str, Any]:
    return {
        "patient": FhirPatient(
            1,
            "Иванова Мария Сергеевна",
            date(1990, 3, 14),
            "female",
            "ДМС-000123",
            family="Иванова",
            given=["Мария", "Сергеевна"],
        ),
        "practitioners": [FhirPractitioner(7, "Петров Алексей Иванович", "ПМГМУ им. И. М. Сеченова, 2010")],
        "encounters": [
            FhirEncounter(3, 7, "finished", True, T0, SIGNED, "Боль в горле", "Терапевт"),
            FhirEncounter(4, 7, "planned", False, datetime(2025, 12, 1, 7, 0, tzinfo=UTC)),
        ],
        "conclusions": [
            FhirConclusion(
                5,
                3,
                7,
                CONTENT,
                SIGNED,
                "ab" * 32,
                [("Петров А. И.", SIGNED, "Уточнение", "Результат анализа получен.")],
            )
        ],
        "documents": [FhirDocument(9, "анализ крови.pdf", "application/pdf", 48213, "cd" * 32, T0, 3, "ОАК")],
    }


def bundle(**changes: Any) -> dict[str, Any]:
    return build_bundle(**{**make_inputs(), **changes}, timestamp=SIGNED)


def resources(b: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == resource_type]


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in references(value)]
    if isinstance(node, list):
        return [r for value in node for r in references(value)]
    return []


def test_whole_bundle_parses_as_fhir_r4b():
    b = bundle()
    parsed = Bundle.model_validate(b)
    assert parsed.type == "collection"
    kinds = [type(e.resource).__name__ for e in parsed.entry]
    assert kinds == [
        "Patient",
        "Practitioner",
        "Encounter",
        "Encounter",
        "Condition",
        "Composition",
        "ServiceRequest",
        "ServiceRequest",
        "DocumentReference",
    ]


@pytest.mark.parametrize(
    ("resource_type", "element"),
    [
        ("Composition", "status"),
        ("Composition", "type"),
        ("Composition", "title"),
        ("Encounter", "class"),
        ("Encounter", "status"),
        ("DocumentReference", "content"),
        ("DocumentReference", "status"),
        ("Condition", "subject"),
        ("ServiceRequest", "intent"),
        ("ServiceRequest", "subject"),
    ],
)
def test_a_missing_required_element_fails_validation(resource_type, element):
    broken = copy.deepcopy(bundle())
    del resources(broken, resource_type)[0][element]
    with pytest.raises(ValidationError):
        Bundle.model_validate(broken)


def test_full_urls_are_deterministic_uuids_and_every_reference_resolves():
    b = bundle()
    assert b == bundle()
    urls = [e["fullUrl"] for e in b["entry"]]
    assert len(urls) == len(set(urls))
    for entry in b["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    assert urls[0] == full_url("Patient", 1) == f"urn:uuid:{uuid.uuid5(NAMESPACE, 'Patient/1')}"
    assert full_url("Patient", 1, uuid.uuid4()) != full_url("Patient", 1)
    refs = references(b)
    assert refs and set(refs) <= set(urls)


def test_patient_and_practitioner():
    b = bundle()
    (patient,) = resources(b, "Patient")
    assert patient["identifier"] == [{"system": "urn:telemed:policy", "value": "ДМС-000123"}]
    assert patient["birthDate"] == "1990-03-14" and patient["gender"] == "female"
    assert patient["name"][0] == {
        "use": "official",
        "text": "Иванова Мария Сергеевна",
        "family": "Иванова",
        "given": ["Мария", "Сергеевна"],
    }
    (doctor,) = resources(b, "Practitioner")
    assert doctor["qualification"] == [{"code": {"text": "ПМГМУ им. И. М. Сеченова, 2010"}}]


def test_encounters_class_status_period_participant_and_diagnosis():
    b = bundle()
    remote, in_person = resources(b, "Encounter")
    system = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert remote["class"]["system"] == system and remote["class"]["code"] == "VR"
    assert in_person["class"]["system"] == system and in_person["class"]["code"] == "AMB"
    assert (remote["status"], in_person["status"]) == ("finished", "planned")
    assert remote["period"] == {"start": "2025-11-24T11:30:00+00:00", "end": "2025-11-24T12:05:00+00:00"}
    assert remote["participant"][0]["individual"]["reference"] == full_url("Practitioner", 7)
    assert remote["reasonCode"] == [{"text": "Боль в горле"}]
    assert remote["serviceType"] == {"text": "Терапевт"}
    assert remote["diagnosis"] == [{"condition": {"reference": full_url("Condition", 5)}}]
    assert "diagnosis" not in in_person


def test_composition_is_a_final_legally_attested_consult_note():
    b = bundle()
    (composition,) = resources(b, "Composition")
    assert composition["status"] == "final"
    assert composition["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}
    ]
    assert composition["subject"]["reference"] == full_url("Patient", 1)
    assert composition["encounter"]["reference"] == full_url("Encounter", 3)
    assert composition["author"] == [{"reference": full_url("Practitioner", 7)}]
    assert composition["date"] == "2025-11-24T12:05:00+00:00"
    assert composition["attester"] == [
        {
            "mode": "legal",
            "time": "2025-11-24T12:05:00+00:00",
            "party": {"reference": full_url("Practitioner", 7)},
        }
    ]
    assert composition["extension"][0]["valueString"] == "ab" * 32
    titles = [s["title"] for s in composition["section"]]
    assert titles == [
        "Жалобы",
        "Анамнез",
        "Диагноз",
        "Рекомендации",
        "Направления",
        "Повторная консультация",
        "Дополнения",
    ]  # empty «Объективно» is left out


def test_section_narrative_is_escaped_xhtml():
    (composition,) = resources(bundle(), "Composition")
    complaints = composition["section"][0]["text"]
    assert complaints["status"] == "generated"
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in complaints["div"]
    root = ET.fromstring(complaints["div"])
    assert root.tag == "{http://www.w3.org/1999/xhtml}div"
    assert "".join(root.itertext()) == "Боль в горле <b>&</b>"
    anamnesis = ET.fromstring(composition["section"][1]["text"]["div"])
    assert [p.text for p in anamnesis] == ["Болеет 2 дня.", "Аллергию отрицает."]


def test_diagnosis_is_an_icd10_coded_condition_entry():
    b = bundle()
    (composition,) = resources(b, "Composition")
    section = next(s for s in composition["section"] if s["title"] == "Диагноз")
    assert section["entry"] == [{"reference": full_url("Condition", 5)}]
    (condition,) = resources(b, "Condition")
    assert condition["code"] == {
        "text": "Острая инфекция верхних дыхательных путей неуточненная",
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J06.9"}],
    }
    assert condition["encounter"]["reference"] == full_url("Encounter", 3)


def test_document_reference_carries_sha256_in_an_extension_not_in_hash():
    (document,) = resources(bundle(), "DocumentReference")
    assert document["status"] == "current"
    attachment = document["content"][0]["attachment"]
    assert attachment["url"] == "/api/v1/attachments/9"
    assert attachment["title"] == "анализ крови.pdf"
    assert attachment["contentType"] == "application/pdf" and attachment["size"] == 48213
    assert "hash" not in attachment
    assert attachment["extension"] == [{"url": "urn:telemed:fhir:sha256", "valueString": "cd" * 32}]
    assert document["context"]["encounter"] == [{"reference": full_url("Encounter", 3)}]


def test_uncoded_diagnosis_has_text_only_and_no_diagnosis_means_no_condition():
    text_only = ConclusionContent("a", "", "", Diagnosis(None, "ОРВИ"), "", (), "")
    b = bundle(conclusions=[FhirConclusion(5, 3, 7, text_only, SIGNED, "0" * 64)])
    (condition,) = resources(b, "Condition")
    assert condition["code"] == {"text": "ОРВИ"}
    Bundle.model_validate(b)
    none = ConclusionContent("a", "", "", Diagnosis(None, ""), "", (), "")
    b = bundle(conclusions=[FhirConclusion(5, 3, 7, none, SIGNED, "0" * 64)])
    assert resources(b, "Condition") == []
    Bundle.model_validate(b)


def test_each_referral_is_an_order_of_the_encounter_for_the_icd10_diagnosis():
    b = bundle()
    test, specialist = resources(b, "ServiceRequest")
    encounter = full_url("Encounter", 3)
    condition = full_url("Condition", 5)
    for order in (test, specialist):
        assert order["status"] == "active" and order["intent"] == "order"
        assert order["subject"] == {"reference": full_url("Patient", 1)}
        assert order["encounter"] == {"reference": encounter}
        assert order["requester"] == {"reference": full_url("Practitioner", 7)}
        assert order["reasonCode"][0]["coding"] == [{"system": ICD10_SYSTEM, "code": "J06.9"}]
        assert order["reasonReference"] == [{"reference": condition}]
        assert order["authoredOn"] == "2025-11-24T12:05:00+00:00"
    assert test["code"]["coding"] == [
        {"system": NOMENCLATURE_SYSTEM, "code": "B03.016.002", "display": "Общий (клинический) анализ крови"}
    ]
    assert test["note"] == [{"text": "натощак"}]
    assert specialist["code"]["coding"][0]["code"] == "ent" and "note" not in specialist
    assert NOMENCLATURE_SYSTEM == "urn:oid:1.2.643.5.1.13.13.11.1070"
    composition = resources(b, "Composition")[0]
    section = next(s for s in composition["section"] if s["title"] == "Направления")
    urls = [e["fullUrl"] for e in b["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [e["reference"] for e in section["entry"]] == urls
    assert "B03.016.002 Общий (клинический) анализ крови — натощак" in section["text"]["div"]


def test_a_referral_without_a_coded_diagnosis_has_no_reason_code():
    content = dataclasses.replace(CONTENT, diagnosis=Diagnosis(None, "Кашель"))
    conclusion = dataclasses.replace(make_inputs()["conclusions"][0], content=content)
    orders = resources(bundle(conclusions=[conclusion]), "ServiceRequest")
    assert len(orders) == 2 and all("reasonCode" not in o for o in orders)
    assert all(o["reasonReference"] == [{"reference": full_url("Condition", 5)}] for o in orders)
    Bundle.model_validate(bundle(conclusions=[conclusion]))


def test_dangling_references_and_duplicates_are_rejected():
    inputs = make_inputs()
    with pytest.raises(ValueError, match="Practitioner 8"):
        bundle(encounters=[FhirEncounter(3, 8, "finished", True, T0)])
    with pytest.raises(ValueError, match="Encounter 99"):
        bundle(documents=[FhirDocument(9, "a.pdf", "application/pdf", 1, "0" * 64, T0, 99)])
    with pytest.raises(ValueError, match="Encounter 3"):
        bundle(encounters=[], documents=[])
    with pytest.raises(ValueError, match="duplicate"):
        bundle(practitioners=inputs["practitioners"] * 2)


def test_a_restricted_entry_keeps_its_date_and_specialty_only():
    hidden = [
        FhirRestricted("conclusion", SIGNED, "Psychologist"),
        FhirRestricted("visit", T0, None),
        FhirRestricted("document", T0, "Psychologist"),
    ]
    b = bundle(restricted=hidden)
    Bundle.model_validate(b)
    label = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "code": "R",
        "display": "restricted",
    }
    marked = [r for r in (e["resource"] for e in b["entry"]) if r.get("meta") == {"security": [label]}]
    assert [r["resourceType"] for r in marked] == ["Encounter", "Encounter", "DocumentReference"]
    remote, visit, document = marked
    assert remote["class"]["code"] == "VR" and remote["period"] == {"start": "2025-11-24T12:05:00+00:00"}
    assert remote["serviceType"] == {"text": "Psychologist"} and "participant" not in remote
    assert visit["class"]["code"] == "AMB" and "serviceType" not in visit
    assert set(remote) == {
        "resourceType",
        "id",
        "meta",
        "status",
        "class",
        "subject",
        "period",
        "serviceType",
    }
    assert document["content"] == [{"attachment": {"creation": "2025-11-24T11:30:00+00:00"}}]
    assert document["context"] == {"practiceSetting": {"text": "Psychologist"}}
    assert len({r["id"] for r in marked}) == 3  # ids of their own, not of rows
    with pytest.raises(ValueError):
        FhirRestricted("message", T0)


def test_input_validation():
    with pytest.raises(ValueError, match="status"):
        FhirEncounter(3, 7, "done", True, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        FhirEncounter(3, 7, "finished", True, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="gender"):
        FhirPatient(1, "X", gender="f")
    with pytest.raises(ValueError, match="timezone-aware"):
        build_bundle(**make_inputs(), timestamp=datetime(2025, 1, 1))

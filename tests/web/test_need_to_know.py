"""Mental health is need-to-know: a psychologist's conclusions, visits and documents are seen in full
by the patient, a guardian, records staff and the psychologist who held them; other doctors caring
for the patient see ``{kind, date, specialty, restricted: true}`` until the patient shares the entry
(«Показать врачам»). The FHIR export shows exactly what the e-card shows to the same reader."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select, update

from telemed.records.audit_models import AuditEvent
from telemed.records.models import RecordShare
from telemed.scheduling.models import Consultation
from tests.support import otp
from tests.support.clients import ApiClient
from tests.support.factories import PASSWORD, make_consultation
from tests.support.pdf import pdf_of
from tests.web.test_attachments import multipart

SECRET_DIAGNOSIS = "Тревожное расстройство"
SECRET_VISIT = "Панические атаки"
SECRET_REASON = "Бессонница после развода"
DRAFT = {
    "complaints": "Тревога, плохой сон",
    "diagnosis": {"icd10": "F41.1", "text": SECRET_DIAGNOSIS},
    "recommendations": "Дневник сна",
}
RESTRICTED_KEYS = {"kind", "date", "specialty", "restricted"}


@pytest.fixture
def care(factory, db):
    """Anna sees psychologist «psy» (signed conclusion, a chat document, a future booking with a
    reason), has a psychologist's in-person visit with a document, and is cared for by therapist
    «drt» and by a second psychologist «psy2» (each with a consultation of their own)."""
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    factory.member("boris", contract=contract)
    therapist = factory.doctor("therapist", username="drt", name="Терапевт Тамара")
    psy = factory.doctor("psychologist", username="psy", name="Психолог Павел")
    psy2 = factory.doctor("psychologist", username="psy2", name="Психолог Полина")
    factory.user("rec", role="records", consent=False)
    now = datetime.now(UTC).replace(microsecond=0)
    held = make_consultation(
        factory, anna, patient, psy, contract, start=now - timedelta(hours=2), status="in_progress"
    )
    future = make_consultation(factory, anna, patient, psy, contract, start=now + timedelta(days=3))
    make_consultation(factory, anna, patient, therapist, contract, start=now + timedelta(days=1))
    make_consultation(factory, anna, patient, psy2, contract, start=now + timedelta(days=2))
    with db.transaction() as s:
        s.execute(update(Consultation).where(Consultation.id == future.id).values(reason=SECRET_REASON))
    return {"patient": patient, "held": held, "future": future}


def api(app, username):
    return ApiClient(app, username)


def _sign(app, username, cid):
    doctor = api(app, username)
    r = doctor.client.put(f"/api/v1/consultations/{cid}/conclusion", json=DRAFT, headers=doctor._headers())
    assert r.status_code == 200, r.json
    r = doctor.post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code(username)},
    )
    assert r.status_code == 200, r.json


@pytest.fixture
def record(app, care):
    """The psychologist's conclusion and chat document, the visit and its document, all written."""
    pid, cid = care["patient"].id, care["held"].id
    _sign(app, "psy", cid)
    anna, rec = api(app, "anna"), api(app, "rec")
    body, ctype = multipart(pdf_of(b"diary"), "Дневник настроения.pdf", "application/pdf")
    r = anna.client.post(
        f"/api/v1/consultations/{cid}/attachments", headers=anna._headers(), data=body, content_type=ctype
    )
    assert r.status_code == 201, r.json
    visit = rec.post(
        f"/api/v1/patients/{pid}/record/visits",
        json={
            "date": "2026-03-02",
            "clinic": "Клиника",
            "doctor_name": "Петров П. П.",
            "specialty": "psychologist",
            "diagnosis": {"text": SECRET_VISIT},
            "notes": "Беседа",
        },
    )
    assert visit.status_code == 201, visit.json
    body, ctype = multipart(pdf_of(b"scan"), "Заключение психолога.pdf", "application/pdf")
    doc = rec.client.post(
        f"/api/v1/patients/{pid}/record/visits/{visit.json['object_id']}/documents",
        data=body,
        headers=rec._headers(),
        content_type=ctype,
    )
    assert doc.status_code == 201, doc.json
    return {**care, "visit_document": doc.json["id"], "chat_document": r.json["id"]}


def entries(app, username, pid, query=""):
    r = api(app, username).get(f"/api/v1/patients/{pid}/record{query}")
    assert r.status_code == 200, r.json
    return r.json


def test_other_doctors_see_only_that_a_psychologists_entry_exists(app, record):
    pid = record["patient"].id
    for doctor in ("drt", "psy2"):
        seen = entries(app, doctor, pid)
        assert len(seen) == 4 and all(set(e) == RESTRICTED_KEYS and e["restricted"] is True for e in seen)
        assert {e["kind"] for e in seen} == {"conclusion", "visit", "document"}
        assert {e["specialty"] for e in seen} == {"psychologist"}
        text = json.dumps(seen, ensure_ascii=False)
        assert SECRET_DIAGNOSIS not in text and SECRET_VISIT not in text and "Дневник" not in text
        # a word of the hidden content finds nothing: matching would tell what the entry says
        assert entries(app, doctor, pid, "?text=тревожное") == []
        assert entries(app, doctor, pid, "?text=дневник") == []
        assert len(entries(app, doctor, pid, "?specialty=psychologist")) == 4
    # the psychologist who held the consultation sees it, not the visit held by someone else
    held = entries(app, "psy", pid)
    full = [e for e in held if not e.get("restricted")]
    assert {(e["kind"], e["summary"]) for e in full} == {
        ("conclusion", SECRET_DIAGNOSIS),
        ("document", "Дневник настроения.pdf"),
    }
    assert all(e["need_to_know"] is True and e["shared"] is False for e in full)
    assert len(held) == 4
    for reader in ("anna", "rec"):
        seen = entries(app, reader, pid)
        assert not any(e.get("restricted") for e in seen) and len(seen) == 4
        assert {e["summary"] for e in seen if e["kind"] != "document"} == {SECRET_DIAGNOSIS, SECRET_VISIT}
        assert len(entries(app, reader, pid, "?text=тревожное")) == 1


def test_a_psychologists_visit_document_is_not_downloaded_by_other_doctors(app, record):
    aid = record["visit_document"]
    assert api(app, "drt").get(f"/api/v1/attachments/{aid}").status_code == 404
    assert api(app, "rec").get(f"/api/v1/attachments/{aid}").status_code == 200
    assert api(app, "anna").get(f"/api/v1/attachments/{aid}").status_code == 200
    visit = next(e for e in entries(app, "anna", record["patient"].id) if e["kind"] == "visit")
    share = api(app, "anna").put(
        f"/api/v1/patients/{record['patient'].id}/record/entries/{visit['id']}/sharing", json={"shared": True}
    )
    assert share.status_code == 200, share.json
    assert (
        api(app, "drt").get(f"/api/v1/attachments/{aid}").status_code == 200
    )  # the share covers its documents


def test_the_patient_shares_an_entry_and_hides_it_again(app, db, record):
    pid = record["patient"].id
    anna = api(app, "anna")
    conclusion = next(e for e in entries(app, "anna", pid) if e["kind"] == "conclusion")
    url = f"/api/v1/patients/{pid}/record/entries/{conclusion['id']}/sharing"
    r = anna.put(url, json={"shared": True})
    assert r.status_code == 200, r.json
    assert r.json["id"] == conclusion["id"] and r.json["shared"] is True
    assert anna.put(url, json={"shared": True}).status_code == 200  # again: no change, no error
    seen = entries(app, "drt", pid)
    shown = [e for e in seen if not e.get("restricted")]
    # the whole consultation is shared: its conclusion and its chat document; the visit stays hidden
    assert {(e["kind"], e["summary"]) for e in shown} == {
        ("conclusion", SECRET_DIAGNOSIS),
        ("document", "Дневник настроения.pdf"),
    }
    assert sorted(e["kind"] for e in seen if e.get("restricted")) == ["document", "visit"]
    assert len(entries(app, "drt", pid, "?text=тревожное")) == 1
    r = anna.put(url, json={"shared": False})
    assert r.status_code == 200 and r.json["shared"] is False
    assert all(e.get("restricted") for e in entries(app, "drt", pid))
    with db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(("share", "unshare"))).order_by(AuditEvent.id)
        )
        got = [(r.actor_role, r.object_id, r.action, r.outcome, r.patient_id) for r in rows]
    cid = conclusion["id"]
    assert got == [
        ("member", cid, "share", "allowed", pid),
        ("member", cid, "share", "allowed", pid),
        ("member", cid, "unshare", "allowed", pid),
    ]


def test_only_the_patient_shares(app, record):
    pid = record["patient"].id
    conclusion = next(e for e in entries(app, "anna", pid) if e["kind"] == "conclusion")
    url = f"/api/v1/patients/{pid}/record/entries/{conclusion['id']}/sharing"
    for who, status, code in (
        ("rec", 403, "forbidden"),
        ("psy", 403, "forbidden"),
        ("drt", 404, "not_found"),  # the entry's id is not theirs to know
        ("boris", 404, "not_found"),
    ):
        r = api(app, who).put(url, json={"shared": True})
        assert (r.status_code, r.json["error"]["code"]) == (status, code), who
    assert all(e.get("restricted") for e in entries(app, "drt", pid))
    anonymous = ApiClient(app).put(url, json={"shared": True})
    assert anonymous.status_code == 401
    anna = api(app, "anna")
    for body in ({}, {"shared": "yes"}, {"shared": None}, []):
        r = anna.put(url, json=body)
        assert r.status_code in (400, 422) and r.json["error"]["code"] in ("validation_error", "bad_request")
    for bad in ("conclusion-999999", "visit-x", "nothing", "document-" + "9" * 40):
        r = anna.put(f"/api/v1/patients/{pid}/record/entries/{bad}/sharing", json={"shared": True})
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", bad


def test_an_entry_that_is_not_need_to_know_is_not_shared(app, record):
    pid = record["patient"].id
    rec = api(app, "rec")
    visit = rec.post(
        f"/api/v1/patients/{pid}/record/visits",
        json={"date": "2026-03-03", "clinic": "Клиника", "doctor_name": "Иванов И. И.", "specialty": "ent"},
    ).json
    r = api(app, "anna").put(
        f"/api/v1/patients/{pid}/record/entries/{visit['id']}/sharing", json={"shared": True}
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert "need_to_know" not in visit
    seen = {e.get("id"): e for e in entries(app, "drt", pid)}
    assert seen[visit["id"]]["author"] == "Иванов И. И."  # every caring doctor sees it in full


def test_showing_needs_consent_and_hiding_does_not(app, db, record):
    pid = record["patient"].id
    anna = api(app, "anna")
    conclusion = next(e for e in entries(app, "anna", pid) if e["kind"] == "conclusion")
    url = f"/api/v1/patients/{pid}/record/entries/{conclusion['id']}/sharing"
    assert anna.put(url, json={"shared": True}).status_code == 200
    assert anna.delete("/api/v1/me/consent").status_code == 200
    assert anna.put(url, json={"shared": False}).status_code == 200
    r = anna.put(url, json={"shared": True})
    assert r.status_code == 422 and r.json["error"]["code"] == "consent_required"
    with db.session() as s:  # withdrawal also ended the therapist's care (the booking is cancelled)
        assert s.scalars(select(RecordShare)).all() == []


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_export_shows_what_the_ecard_shows_to_the_same_reader(app, record):
    pid = record["patient"].id
    exports = {}
    for reader in ("drt", "psy", "anna", "rec"):
        r = api(app, reader).get(f"/api/v1/patients/{pid}/record/fhir")
        assert r.status_code == 200, r.json
        Bundle.model_validate(r.json)
        exports[reader] = r.json
        text = json.dumps(r.json, ensure_ascii=False)
        # booking reasons are not in the e-card: no export carries them, nor future consultations
        assert SECRET_REASON not in text, reader
        encounter_ids = {e["id"] for e in _resources(r.json, "Encounter")}
        assert len(encounter_ids) == len(_resources(r.json, "Encounter"))
    drt = json.dumps(exports["drt"], ensure_ascii=False)
    assert (
        SECRET_DIAGNOSIS not in drt and SECRET_VISIT not in drt and "Дневник" not in drt and "F41" not in drt
    )
    restricted = [
        res
        for kind in ("Encounter", "DocumentReference")
        for res in _resources(exports["drt"], kind)
        if res.get("meta", {}).get("security", [{}])[0].get("code") == "R"
    ]
    assert len(restricted) == 4 == len(entries(app, "drt", pid))
    assert _resources(exports["drt"], "Composition") == [] and _resources(exports["drt"], "Condition") == []
    assert {p["name"][0]["text"] for p in _resources(exports["drt"], "Practitioner")} == set()
    for reader in ("anna", "rec"):
        full = json.dumps(exports[reader], ensure_ascii=False)
        assert SECRET_DIAGNOSIS in full and SECRET_VISIT in full and "Дневник настроения.pdf" in full
        assert len(_resources(exports[reader], "Composition")) == 1
        assert len(_resources(exports[reader], "DocumentReference")) == 2
        # the held consultation and the visit; not the booked ones with no entry yet
        assert len(_resources(exports[reader], "Encounter")) == 2
    psy = exports["psy"]
    assert len(_resources(psy, "Composition")) == 1 and SECRET_VISIT not in json.dumps(
        psy, ensure_ascii=False
    )


def test_the_ecard_page_hides_the_content_and_offers_the_patient_to_show_it(app, record):
    from tests.support.clients import page_login

    pid = record["patient"].id
    therapist = page_login(app, "drt")
    page = therapist.get(f"/patients/{pid}/record", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert SECRET_DIAGNOSIS not in page and SECRET_VISIT not in page and "Дневник" not in page
    assert (
        page.count('class="entry kind-') == 4
        and len(re.findall(r'class="entry kind-\w+ restricted"', page)) == 4
    )
    assert "Показать врачам" not in page
    patient = page_login(app, "anna")
    page = patient.get(f"/patients/{pid}/record", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert SECRET_DIAGNOSIS in page and page.count("Показать врачам") == 4
    action = re.search(r'action="(/patients/\d+/record/entries/conclusion-\d+/sharing)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert action and token
    r = patient.post(
        action[1], data={"shared": "1", "csrf_token": token[1]}, headers={"Accept-Language": "ru"}
    )
    assert r.status_code == 302
    page = therapist.get(f"/patients/{pid}/record", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert SECRET_DIAGNOSIS in page and len(re.findall(r'class="entry kind-\w+ restricted"', page)) == 2
    therapist_token = re.search(r'name="csrf_token" value="([^"]+)"', therapist.get("/account").text)
    forged = therapist.post(action[1], data={"shared": "0", "csrf_token": therapist_token[1]})
    assert forged.status_code == 302  # refused, the reason flashed: only the patient decides
    assert "решает только пациент" in therapist.get(forged.headers["Location"]).text
    assert SECRET_DIAGNOSIS in therapist.get(f"/patients/{pid}/record").get_data(as_text=True)

"""Referrals («Направления»): structured in the conclusion, issued when it is signed, listed for the
member and guardian with their status, booked in one tap, in the PDF and the FHIR export; the
catalogue of tests and studies; conclusions signed with plain-text referrals still verify."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader
from sqlalchemy import select, update

from telemed.records import conclusions
from telemed.records.fhir import ICD10_SYSTEM, NOMENCLATURE_SYSTEM
from telemed.records.models import Conclusion, Referral
from tests.support import otp
from tests.support.clients import ApiClient, page_login, text_of
from tests.support.factories import PASSWORD, make_consultation

REFERRALS = [
    {"kind": "test", "code": "B03.016.002", "note": "натощак"},
    {"kind": "specialist", "specialty": "cardiologist"},
    {"kind": "in_person", "specialty": "ent", "note": "осмотр ЛОР-органов"},
]
DRAFT = {"diagnosis": {"icd10": "I10", "text": "Эссенциальная гипертензия"}, "referrals": REFERRALS}


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    pediatrician = factory.doctor("pediatrician", username="drp", name="Петрова Ольга")
    cardiologist = factory.doctor("cardiologist", username="drc", name="Кардиолог Карина")
    factory.user("rec", role="records", consent=False)
    factory.user("cur", role="curator", consent=False)
    factory.user("adm", role="admin", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    kid = make_consultation(factory, anna, child, pediatrician, contract, start=start, status="in_progress")
    return {
        "anna": anna,
        "patient": patient,
        "child": child,
        "contract": contract,
        "consultation": c,
        "child_consultation": kid,
        "cardiologist": cardiologist,
        "doctor": doctor,
    }


def put(username, app, cid, body):
    client = ApiClient(app, username)
    return client.client.put(f"/api/v1/consultations/{cid}/conclusion", json=body, headers=client._headers())


def sign(app, cid, username="drt", body=DRAFT):
    r = put(username, app, cid, body)
    assert r.status_code == 200, r.json
    r = ApiClient(app, username).post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code(username)},
    )
    assert r.status_code == 200, r.json
    return r.json


def listed(app, username="anna"):
    r = ApiClient(app, username).get("/api/v1/referrals")
    assert r.status_code == 200, r.json
    return r.json["items"]


def test_signing_issues_the_referrals_and_the_member_lists_them(app, db, world):
    cid = world["consultation"].id
    draft = put("drt", app, cid, DRAFT).json
    assert [r["kind"] for r in draft["referrals"]] == ["test", "specialist", "in_person"]
    assert draft["referrals"][0]["title"] == "Общий (клинический) анализ крови"
    with db.session() as s:
        assert s.scalars(select(Referral)).all() == []  # a draft issues nothing
    assert listed(app) == []
    body = sign(app, cid)
    assert body["referrals"][1] == {
        "kind": "specialist",
        "code": None,
        "specialty": "cardiologist",
        "note": None,
        "title": "Кардиолог",
    }
    items = listed(app)
    assert [(i["kind"], i["code"], i["specialty"], i["note"], i["status"]) for i in items] == [
        ("test", "B03.016.002", None, "натощак", "issued"),
        ("specialist", None, "cardiologist", None, "issued"),
        ("in_person", None, "ent", "осмотр ЛОР-органов", "issued"),
    ]
    first = items[0]
    assert first["patient"] == {"id": world["patient"].id, "name": world["patient"].full_name}
    assert first["consultation_id"] == cid and first["conclusion_id"] == body["id"]
    issued = datetime.fromisoformat(first["issued_at"])
    assert datetime.fromisoformat(first["valid_until"]) == issued + timedelta(days=30)
    assert listed(app, "boris") == []  # another member sees none of them
    paged = ApiClient(app, "anna").get("/api/v1/referrals?limit=2&offset=1").json["items"]
    assert [i["id"] for i in paged] == [i["id"] for i in items[1:3]]


def test_the_guardian_lists_the_childs_and_staff_and_doctors_are_refused(app, world):
    sign(
        app,
        world["child_consultation"].id,
        "drp",
        {**DRAFT, "referrals": [{"kind": "specialist", "specialty": "ent"}]},
    )
    items = listed(app)
    assert [(i["patient"]["name"], i["specialty"]) for i in items] == [("Миша Иванов", "ent")]
    for who in ("drt", "drp", "rec", "cur", "adm"):
        r = ApiClient(app, who).get("/api/v1/referrals")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", who
    assert ApiClient(app).get("/api/v1/referrals").status_code == 401


def test_booking_the_specialty_marks_the_referral_booked_until_it_is_cancelled(app, db, factory, world):
    sign(app, world["consultation"].id)
    slot = factory.slot(world["cardiologist"])
    anna = ApiClient(app, "anna")
    booked = anna.post("/api/v1/consultations", json={"slot_id": slot.id})
    assert booked.status_code == 201, booked.json
    by_kind = {i["kind"]: i for i in listed(app)}
    assert by_kind["specialist"]["status"] == "booked"
    assert by_kind["specialist"]["booked_consultation_id"] == booked.json["id"]
    assert by_kind["test"]["status"] == "issued"  # a booking never uses a test referral
    r = anna.post(f"/api/v1/consultations/{booked.json['id']}/cancel", json={})
    assert r.status_code == 200, r.json
    again = {i["kind"]: i for i in listed(app)}["specialist"]
    assert again["status"] == "issued" and again["booked_consultation_id"] is None


def test_a_booking_of_another_specialty_or_patient_does_not_count(app, factory, world):
    sign(app, world["consultation"].id)
    # the child's cardiology visit and anna's therapist visit: neither is anna's cardiology booking
    make_consultation(
        factory, world["anna"], world["child"], world["cardiologist"], world["contract"], status="scheduled"
    )
    make_consultation(factory, world["anna"], world["patient"], world["doctor"], world["contract"])
    assert {i["kind"]: i["status"] for i in listed(app)}["specialist"] == "issued"


def test_a_referral_expires_after_30_days_unbooked(app, db, factory, world):
    sign(app, world["consultation"].id)
    with db.transaction() as s:
        s.execute(update(Referral).values(issued_at=datetime.now(UTC) - timedelta(days=31)))
    assert {i["status"] for i in listed(app)} == {"expired"}
    # a booking made now, after it expired, does not revive it
    make_consultation(factory, world["anna"], world["patient"], world["cardiologist"], world["contract"])
    assert {i["status"] for i in listed(app)} == {"expired"}


@pytest.mark.parametrize(
    ("referrals", "field"),
    [
        ([{"code": "B03.016.002"}], "referrals[0].kind"),
        ([{"kind": "lab", "code": "B03.016.002"}], "referrals[0].kind"),
        ([{"kind": "test", "code": "B03.016.002"}, {"kind": "test", "code": "X99.999"}], "referrals[1].code"),
        ([{"kind": "test"}], "referrals[0].code"),
        ([{"kind": "test", "code": "B03.016.002", "specialty": "ent"}], "referrals[0].specialty"),
        ([{"kind": "specialist"}], "referrals[0].specialty"),
        ([{"kind": "specialist", "specialty": "astrologer"}], "referrals[0].specialty"),
        ([{"kind": "specialist", "specialty": "ent", "code": "B03.016.002"}], "referrals[0].code"),
        ([{"kind": "in_person", "note": "x" * 501}], "referrals[0].note"),
        ([{"kind": "in_person", "note": 5}], "referrals[0].note"),
        (["Общий анализ крови"], "referrals[0]"),
        ([{"kind": "in_person"}] * 31, "referrals"),
    ],
)
def test_bad_referrals_get_422_naming_the_field(app, world, referrals, field):
    r = put("drt", app, world["consultation"].id, {**DRAFT, "referrals": referrals})
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_error"
    assert r.json["error"]["details"]["field"] == field


def test_a_code_is_taken_in_any_case_and_an_empty_note_is_dropped(app, world):
    body = {
        **DRAFT,
        "referrals": [{"kind": "test", "code": " a05.10.006 ", "note": "  "}, {"kind": "in_person"}],
    }
    r = put("drt", app, world["consultation"].id, body)
    assert r.status_code == 200, r.json
    assert [(i["code"], i["note"], i["title"]) for i in r.json["referrals"]] == [
        ("A05.10.006", None, "Регистрация электрокардиограммы"),
        (None, None, None),
    ]


@pytest.mark.parametrize(
    ("q", "lang", "code", "title"),
    [
        ("анализ крови", None, "B03.016.002", "Общий (клинический) анализ крови"),
        ("ГЛЮКОЗ", None, "A09.05.023", "Исследование уровня глюкозы в крови"),
        ("chest x-ray", "en", "A06.09.007", "Chest X-ray"),
        ("a05.10", None, "A05.10.006", "Регистрация электрокардиограммы"),
        ("ecg", "ru", "A05.10.006", "Регистрация электрокардиограммы"),
    ],
)
def test_the_catalogue_finds_tests_by_code_and_russian_or_english_words(app, world, q, lang, code, title):
    url = f"/api/v1/referral-catalogue?q={q}" + (f"&lang={lang}" if lang else "")
    r = ApiClient(app, "drt").get(url)
    assert r.status_code == 200, r.json
    found = {i["code"]: i for i in r.json["items"]}
    assert found[code]["title"] == title and found[code]["kind"] in ("lab", "study")


def test_the_catalogue_is_limited_and_for_clinicians_only(app, world):
    doctor = ApiClient(app, "drt")
    assert len(doctor.get("/api/v1/referral-catalogue?limit=5").json["items"]) == 5
    assert doctor.get("/api/v1/referral-catalogue?q=нет-такого-исследования").json["items"] == []
    for who in ("rec", "adm"):
        assert ApiClient(app, who).get("/api/v1/referral-catalogue?q=электрокардиограмм").json["items"]
    for who in ("anna", "cur"):
        r = ApiClient(app, who).get("/api/v1/referral-catalogue?q=крови")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", who
    assert ApiClient(app).get("/api/v1/referral-catalogue?q=крови").status_code == 401


def test_the_pdf_and_the_fhir_export_carry_the_referrals(app, world):
    cid, pid = world["consultation"].id, world["patient"].id
    sign(app, cid)
    anna = ApiClient(app, "anna")
    pdf = anna.get(f"/api/v1/consultations/{cid}/conclusion.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "1. B03.016.002 Общий (клинический) анализ крови — натощак" in text
    assert "2. Консультация специалиста: Кардиолог" in text
    assert "Очный приём: ЛОР — осмотр ЛОР-органов" in re.sub(r"\s+", " ", text)
    bundle = ApiClient(app, "rec").get(f"/api/v1/patients/{pid}/record/fhir").json
    Bundle.model_validate(bundle)
    orders = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    encounter = next(
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Encounter" and e["resource"]["class"]["code"] == "VR"
    )
    assert len(orders) == 3
    assert all(o["intent"] == "order" and o["encounter"] == {"reference": encounter} for o in orders)
    assert all(o["reasonCode"][0]["coding"] == [{"system": ICD10_SYSTEM, "code": "I10"}] for o in orders)
    assert orders[0]["code"]["coding"][0] == {
        "system": NOMENCLATURE_SYSTEM,
        "code": "B03.016.002",
        "display": "Общий (клинический) анализ крови",
    }


def _old_hash(c: Conclusion) -> str:
    """The content hash as it was computed before referrals were structured (a list of strings)."""
    content = {name: getattr(c, name) for name in conclusions.TEXT_FIELDS} | {
        "diagnosis": {"icd10": c.diagnosis_icd10, "text": c.diagnosis_text},
        "referrals": list(c.referrals or []),
    }
    canonical = json.dumps(
        {"consultation_id": c.consultation_id, **content},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_conclusion_signed_with_text_referrals_still_verifies_and_reads(app, db, world):
    """A row signed before the change: plain strings, hashed as such. It keeps its hash, reads as
    in-person referrals, prints and exports."""
    cid = world["consultation"].id
    sign(app, cid, body={**DRAFT, "referrals": []})
    legacy = ["Общий анализ крови", "Консультация кардиолога"]
    with db.transaction() as s:
        row = s.scalar(select(Conclusion).where(Conclusion.consultation_id == cid))
        row.referrals = legacy
        row.content_sha256 = _old_hash(row)  # signed by the old code
    with db.session() as s:
        row = s.scalar(select(Conclusion).where(Conclusion.consultation_id == cid))
        assert conclusions.content_hash(row) == row.content_sha256 and conclusions.signature_valid(row)
        signed_hash = row.content_sha256
    seen = ApiClient(app, "anna").get(f"/api/v1/consultations/{cid}/conclusion").json
    assert seen["content_sha256"] == signed_hash
    assert seen["referrals"] == [
        {"kind": "in_person", "code": None, "specialty": None, "note": text, "title": None} for text in legacy
    ]
    pdf = ApiClient(app, "anna").get(f"/api/v1/consultations/{cid}/conclusion.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "1. Очный приём — Общий анализ крови" in text
    page = text_of(page_login(app, "anna").get(f"/consultations/{cid}").text)
    assert "Общий анализ крови" in page and "Консультация кардиолога" in page
    bundle = ApiClient(app, "rec").get(f"/api/v1/patients/{world['patient'].id}/record/fhir").json
    Bundle.model_validate(bundle)
    orders = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [o["note"][0]["text"] for o in orders] == legacy


def test_a_changed_referral_breaks_the_signature(app, db, world):
    cid = world["consultation"].id
    sign(app, cid)
    with db.transaction() as s:
        row = s.scalar(select(Conclusion).where(Conclusion.consultation_id == cid))
        assert conclusions.signature_valid(row)
        row.referrals = [dict(r, note="другое") if r["kind"] == "test" else r for r in row.referrals]
    with db.session() as s:
        assert not conclusions.signature_valid(
            s.scalar(select(Conclusion).where(Conclusion.consultation_id == cid))
        )


def test_a_need_to_know_conclusion_does_not_leak_its_referrals(app, factory, world):
    """A psychologist's conclusion is restricted for the therapist caring for the patient: its
    referrals are not in their FHIR export; records staff see them."""
    psy = factory.doctor("psychologist", username="psy", name="Психолог Павел")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    held = make_consultation(
        factory, world["anna"], world["patient"], psy, world["contract"], start=start, status="in_progress"
    )
    secret = {"kind": "in_person", "specialty": "neurologist", "note": "Секретная пометка"}
    sign(app, held.id, "psy", {"diagnosis": {"icd10": "F41.1", "text": "Тревога"}, "referrals": [secret]})
    pid = world["patient"].id
    therapist = ApiClient(app, "drt").get(f"/api/v1/patients/{pid}/record/fhir")
    assert therapist.status_code == 200, therapist.json
    assert "ServiceRequest" not in therapist.text and "Секретная пометка" not in therapist.text
    records = ApiClient(app, "rec").get(f"/api/v1/patients/{pid}/record/fhir")
    assert "Секретная пометка" in records.text


# --- pages ---------------------------------------------------------------------------------------------


def test_the_referrals_page_lists_them_with_a_one_tap_booking_and_the_clinic_notice(app, world):
    sign(app, world["consultation"].id)
    member = page_login(app, "anna")
    html = member.get("/referrals").text
    text = text_of(html)
    assert "B03.016.002" in text and "Общий (клинический) анализ крови" in text and "натощак" in text
    assert text.count("Выдано") >= 3
    assert "Больничные листы, справки и рецепты дистанционно не оформляются — только в клинике" in text
    book = re.findall(r'<a class="button primary book-referral" href="([^"]+)"', html)
    assert book == ["/consultations/new/cardiologist"]
    assert member.get(book[0]).status_code == 200  # the booking flow of the specialty
    english = text_of(member.get("/referrals?lang=en").text)
    assert "Complete blood count" in english and "only in the clinic" in english
    cabinet = member.get("/cabinet").text
    assert 'href="/referrals"' in cabinet
    conclusion = member.get(f"/consultations/{world['consultation'].id}").text
    assert 'class="book-referral" href="/consultations/new/cardiologist"' in conclusion
    assert page_login(app, "drt").get("/referrals").status_code == 403


def test_the_editor_offers_structured_referrals(app, world):
    cid = world["consultation"].id
    put("drt", app, cid, DRAFT)
    html = page_login(app, "drt").get(f"/consultations/{cid}/conclusion").text
    assert html.count('<li class="referral-row">') == 3 + 1  # the three, and the template of a new one
    assert 'list="referral-services"' in html and '<datalist id="referral-services">' in html
    assert '<option value="cardiologist" selected>' in html

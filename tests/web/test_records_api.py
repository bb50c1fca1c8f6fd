"""Conclusions, the e-card, visits, patient search and FHIR export, with the access matrix and the audit."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from telemed.auth.models import OtpEnrolment
from telemed.records.audit_models import AuditEvent
from telemed.scheduling.models import Consultation
from tests.support import otp
from tests.support.clients import ApiClient
from tests.support.factories import PASSWORD, make_consultation

DRAFT = {
    "complaints": "Кашель, температура 37,8",
    "anamnesis": "Болеет 3 дня",
    "objective": "Со слов пациента",
    "diagnosis": {"icd10": "j06.9", "text": "ОРВИ"},
    "recommendations": "Обильное питьё",
    "referrals": [{"kind": "test", "code": "B03.016.002", "note": "натощак"}],
    "follow_up": "Через 5 дней",
}


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    factory.doctor("cardiologist", username="dr2", name="Другой Врач")
    factory.user("rec", role="records", consent=False)
    factory.user("adm", role="admin", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    return {
        "contract": contract,
        "patient": patient,
        "child": child,
        "consultation": c,
        "doctor": doctor,
        "anna": anna,
    }


def api(app, username=None):
    return ApiClient(app, username) if username else ApiClient(app)


def signed(app, cid):
    drt = api(app, "drt")
    assert (
        drt.client.put(
            f"/api/v1/consultations/{cid}/conclusion", json=DRAFT, headers=drt._headers()
        ).status_code
        == 200
    )
    r = drt.post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt")},
    )
    assert r.status_code == 200, r.json
    return r.json


def put(client, cid, body):
    return client.client.put(f"/api/v1/consultations/{cid}/conclusion", json=body, headers=client._headers())


def test_doctor_writes_signs_and_the_member_reads(app, db, world):
    cid = world["consultation"].id
    drt, anna = api(app, "drt"), api(app, "anna")
    r = put(drt, cid, DRAFT)
    assert (
        r.status_code == 200
        and r.json["status"] == "draft"
        and r.json["diagnosis"] == {"icd10": "J06.9", "text": "ОРВИ"}
    )
    assert anna.get(f"/api/v1/consultations/{cid}/conclusion").status_code == 404  # drafts are the doctor's
    wrong = drt.post(
        f"/api/v1/consultations/{cid}/conclusion/sign", json={"password": "nope", "otp": "123456"}
    )
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "invalid_password"
    body = drt.post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt")},
    ).json
    assert body["status"] == "signed" and body["signed_by"]["name"] == "Соколова Марина"
    assert len(body["content_sha256"]) == 64 and body["signed_at"]
    with db.session() as s:
        assert s.get(Consultation, cid).status == "completed"
    seen = anna.get(f"/api/v1/consultations/{cid}/conclusion").json
    assert seen["complaints"] == DRAFT["complaints"]
    assert seen["referrals"] == [
        {
            "kind": "test",
            "code": "B03.016.002",
            "specialty": None,
            "note": "натощак",
            "title": "Общий (клинический) анализ крови",
        }
    ]
    assert "prescriptions are issued in the clinic" in seen["notice"]


@pytest.mark.parametrize(
    ("minutes", "status", "signable"),
    [
        (10, "scheduled", False),  # starts in 10 minutes: the draft may be written, not signed
        (-1, "scheduled", True),  # its start time has come
        (10, "in_progress", True),  # the doctor entered the room early: it has started
    ],
)
def test_a_conclusion_is_signed_only_once_the_consultation_has_started(
    app, db, factory, world, minutes, status, signable
):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    c = make_consultation(
        factory,
        world["anna"],
        world["patient"],
        world["doctor"],
        world["contract"],
        start=start,
        status=status,
    )
    drt = api(app, "drt")
    assert put(drt, c.id, DRAFT).status_code == 200
    r = drt.post(
        f"/api/v1/consultations/{c.id}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt")},
    )
    if signable:
        assert r.status_code == 200 and r.json["status"] == "signed"
        return
    assert r.status_code == 409 and r.json["error"]["code"] == "consultation_not_started"
    with db.session() as s:
        assert s.get(Consultation, c.id).status == "scheduled"
    assert drt.get(f"/api/v1/consultations/{c.id}/conclusion").json["status"] == "draft"


def test_signing_needs_the_password_and_a_fresh_authenticator_code(app, world):
    cid = world["consultation"].id
    drt = api(app, "drt")
    assert put(drt, cid, DRAFT).status_code == 200
    sign = f"/api/v1/consultations/{cid}/conclusion/sign"
    for body in ({"password": PASSWORD}, {"password": PASSWORD, "otp": "12345x"}):
        r = drt.post(sign, json=body)
        assert r.status_code == 403 and r.json["error"]["code"] == "invalid_otp", r.json
    code = otp.next_code("drt")
    wrong_password = drt.post(sign, json={"password": "nope", "otp": code})
    assert wrong_password.status_code == 403 and wrong_password.json["error"]["code"] == "invalid_password"
    ApiClient(app, "drt")  # a login uses a code...
    with app.extensions["telemed.db"].session() as s:
        last = s.get(OtpEnrolment, world["doctor"].user_id).last_step
    replay = drt.post(sign, json={"password": PASSWORD, "otp": otp.code_for(at=_step_time(last))})
    assert replay.status_code == 403 and replay.json["error"]["code"] == "invalid_otp"  # ...used up
    ok = drt.post(sign, json={"password": PASSWORD, "otp": otp.next_code("drt")})
    assert ok.status_code == 200 and ok.json["status"] == "signed"


def _step_time(step: int) -> datetime:
    return datetime.fromtimestamp(step * 30, UTC)


def test_a_signed_conclusion_cannot_change_only_addenda(app, world):
    cid = world["consultation"].id
    first = signed(app, cid)
    drt = api(app, "drt")
    r = put(drt, cid, {**DRAFT, "diagnosis": {"icd10": "J20.9", "text": "Бронхит"}})
    assert r.status_code == 409 and r.json["error"]["code"] == "conclusion_signed"
    again = drt.post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt")},
    )
    assert again.status_code == 409
    r = drt.post(
        f"/api/v1/consultations/{cid}/conclusion/addenda",
        json={"text": "Уточнение: температура 38,1", "reason": "Опечатка"},
    )
    assert r.status_code == 201
    after = api(app, "anna").get(f"/api/v1/consultations/{cid}/conclusion").json
    assert after["diagnosis"] == first["diagnosis"] and after["content_sha256"] == first["content_sha256"]
    assert [(a["text"], a["reason"], a["author"]["name"]) for a in after["addenda"]] == [
        ("Уточнение: температура 38,1", "Опечатка", "Соколова Марина")
    ]
    bad = drt.post(f"/api/v1/consultations/{cid}/conclusion/addenda", json={"text": "x"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "who, status", [("anna", 403), ("boris", 404), ("dr2", 404), ("rec", 404), (None, 401)]
)
def test_only_the_consultations_doctor_writes(app, world, who, status):
    assert put(api(app, who), world["consultation"].id, DRAFT).status_code == status


@pytest.mark.parametrize(
    "body",
    [
        {"diagnosis": {"icd10": "Z99.999", "text": "x"}},
        {"diagnosis": "J06"},
        {"complaints": 5},
        {"referrals": "ОАК"},
        {"complaints": "x" * 10_001},
    ],
)
def test_bad_conclusion_input_gets_422(app, world, body):
    assert put(api(app, "drt"), world["consultation"].id, {**DRAFT, **body}).status_code == 422


def test_conclusion_pdf_has_extractable_cyrillic(app, world):
    cid = world["consultation"].id
    signed(app, cid)
    r = api(app, "anna").get(f"/api/v1/consultations/{cid}/conclusion.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    for expected in (
        "Медицинское заключение",
        world["anna"].full_name,
        "ОРВИ",
        "J06.9",
        "1. B03.016.002 Общий (клинический) анализ крови — натощак",
    ):
        assert expected in text
    assert api(app, "boris").get(f"/api/v1/consultations/{cid}/conclusion.pdf").status_code == 404


RECORD_MATRIX = [
    ("anna", 200),
    ("boris", 404),
    ("drt", 200),
    ("dr2", 404),
    ("rec", 200),
    ("adm", 200),
    (None, 401),
]


@pytest.mark.parametrize("who, status", RECORD_MATRIX)
@pytest.mark.parametrize("suffix", ["", "/fhir"])
def test_record_access_matrix(app, world, who, status, suffix):
    r = api(app, who).get(f"/api/v1/patients/{world['patient'].id}/record{suffix}")
    assert r.status_code == status


@pytest.mark.parametrize(
    "who, status",
    [("anna", 200), ("boris", 404), ("drt", 404), ("dr2", 404), ("rec", 200), ("adm", 200), (None, 401)],
)
def test_access_log_matrix(app, world, who, status):
    assert (
        api(app, who).get(f"/api/v1/patients/{world['patient'].id}/record/access-log").status_code == status
    )


def test_guardian_reads_the_childs_record_and_strangers_get_404_for_unknown_ids(app, world):
    assert api(app, "anna").get(f"/api/v1/patients/{world['child'].id}/record").status_code == 200
    assert api(app, "boris").get(f"/api/v1/patients/{world['child'].id}/record").status_code == 404
    assert api(app, "boris").get("/api/v1/patients/999999/record").status_code == 404


def test_doctor_access_ends_30_days_after_the_consultation(app, factory, world):
    old_doctor = factory.doctor("neurologist", username="drold")
    make_consultation(
        factory,
        world["anna"],
        world["patient"],
        old_doctor,
        world["contract"],
        start=datetime.now(UTC) - timedelta(days=31),
        status="completed",
    )
    assert api(app, "drold").get(f"/api/v1/patients/{world['patient'].id}/record").status_code == 404
    make_consultation(
        factory,
        world["anna"],
        world["patient"],
        old_doctor,
        world["contract"],
        start=datetime.now(UTC) - timedelta(days=29),
        status="completed",
    )
    assert api(app, "drold").get(f"/api/v1/patients/{world['patient'].id}/record").status_code == 200


@pytest.mark.parametrize(
    "who, status", [("rec", 201), ("adm", 201), ("anna", 403), ("drt", 403), (None, 401)]
)
def test_only_records_staff_add_visits(app, world, who, status):
    r = api(app, who).post(
        f"/api/v1/patients/{world['patient'].id}/record/visits",
        json={
            "date": "2026-03-02",
            "clinic": "Клиника на Пятницкой",
            "doctor_name": "Петров П. П.",
            "diagnosis": {"icd10": "I10", "text": "Гипертензия"},
            "notes": "Давление 150/90",
        },
    )
    assert r.status_code == status


def test_the_ecard_holds_every_kind_newest_first_with_filters(app, world):
    pid, cid = world["patient"].id, world["consultation"].id
    rec = api(app, "rec")
    visit = rec.post(
        f"/api/v1/patients/{pid}/record/visits",
        json={
            "date": "2026-03-02",
            "clinic": "Клиника на Пятницкой",
            "doctor_name": "Петров П. П.",
            "specialty": "cardiologist",
            "diagnosis": {"icd10": "I10", "text": "Эссенциальная гипертензия"},
            "notes": "",
        },
    )
    assert (
        visit.status_code == 201 and visit.json["kind"] == "visit" and visit.json["author"] == "Петров П. П."
    )
    upload_body = (
        '--B\r\nContent-Disposition: form-data; name="file"; filename="ОАК.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 test\r\n--B--\r\n"
    ).encode()
    anna = api(app, "anna")
    up = anna.client.post(
        f"/api/v1/consultations/{cid}/attachments",
        data=upload_body,
        headers=anna._headers(),
        content_type="multipart/form-data; boundary=B",
    )
    assert up.status_code == 201
    signed(app, cid)
    entries = anna.get(f"/api/v1/patients/{pid}/record").json
    assert [e["kind"] for e in entries] == ["conclusion", "document", "visit"]
    conclusion = entries[0]
    assert conclusion["author"] == "Соколова Марина" and conclusion["diagnosis"] == {
        "icd10": "J06.9",
        "text": "ОРВИ",
    }
    assert conclusion["specialty"] == "therapist" and conclusion["consultation_id"] == cid
    assert entries[1]["summary"] == "ОАК.pdf"
    kinds = lambda **q: [e["kind"] for e in anna.get(f"/api/v1/patients/{pid}/record", query_string=q).json]  # noqa: E731
    assert kinds(kind="visit") == ["visit"]
    assert kinds(specialty="cardiologist") == ["visit"]
    assert kinds(text="гиперТЕНЗИЯ") == ["visit"]
    assert kinds(text="орви") == ["conclusion"]
    assert kinds(**{"from": "2026-03-01T00:00:00+03:00", "to": "2026-03-03T00:00:00+03:00"}) == ["visit"]
    assert anna.get(f"/api/v1/patients/{pid}/record?kind=x").status_code == 422


def test_patient_search_for_records_staff(app, world):
    rec = api(app, "rec")
    names = lambda q: [p["name"] for p in rec.get("/api/v1/patients", query_string={"q": q}).json]  # noqa: E731
    assert names("миша") == ["Миша Иванов"]
    assert names("03.02.2018") == ["Миша Иванов"] and names("2018-02-03") == ["Миша Иванов"]
    policy = rec.get("/api/v1/patients", query_string={"q": "миша"}).json[0]["policies"][0]
    assert names(policy) == ["Миша Иванов"]
    assert rec.get("/api/v1/patients?q=a").status_code == 422
    assert api(app, "anna").get("/api/v1/patients?q=миша").status_code == 403
    assert api(app, "drt").get("/api/v1/patients?q=миша").status_code == 403


def test_every_access_is_audited_allowed_and_denied(app, db, world):
    pid = world["patient"].id
    api(app, "rec").get(f"/api/v1/patients/{pid}/record")
    api(app, "boris").get(f"/api/v1/patients/{pid}/record")
    anonymous = api(app).get(f"/api/v1/patients/{pid}/record")
    assert anonymous.status_code == 401  # refused before it could write to the log
    with db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "record").order_by(AuditEvent.id)
        ).all()
        got = [(r.actor_role, r.patient_id, r.action, r.outcome) for r in rows]
    assert got == [("records", pid, "read", "allowed"), ("member", pid, "read", "denied")]
    r = api(app, "anna").get(f"/api/v1/patients/{pid}/record/access-log")
    assert r.status_code == 200, r.json
    log = r.json
    assert {(e["actor"]["role"], e["actor"]["name"], e["outcome"]) for e in log} >= {
        ("records", "Rec", "allowed"),
        ("member", "Boris", "denied"),
    }


def test_fhir_export_validates_against_r4(app, world):
    from fhir.resources.R4B.bundle import Bundle

    pid, cid = world["patient"].id, world["consultation"].id
    signed(app, cid)
    api(app, "rec").post(
        f"/api/v1/patients/{pid}/record/visits",
        json={
            "date": "2026-03-02",
            "clinic": "Клиника",
            "doctor_name": "Петров П. П.",
            "diagnosis": {"text": "Осмотр"},
        },
    )
    r = api(app, "anna").get(f"/api/v1/patients/{pid}/record/fhir")
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate(r.json)
    types = [e.resource.get_resource_type() for e in bundle.entry]
    assert {"Patient", "Practitioner", "Encounter", "Composition"} <= set(types)
    classes = sorted(
        e.resource.class_fhir.code for e in bundle.entry if e.resource.get_resource_type() == "Encounter"
    )
    assert classes == ["AMB", "VR"]


def test_visit_documents_and_attachment_reads_are_audited(app, db, world):
    pid = world["patient"].id
    rec = api(app, "rec")
    visit = rec.post(
        f"/api/v1/patients/{pid}/record/visits",
        json={
            "date": "2026-03-02",
            "clinic": "Клиника",
            "doctor_name": "Петров П. П.",
            "diagnosis": {"text": "Осмотр"},
        },
    ).json
    body = (
        '--B\r\nContent-Disposition: form-data; name="file"; filename="ЭКГ.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 ecg\r\n--B--\r\n"
    ).encode()

    def upload(client):
        return client.client.post(
            f"/api/v1/patients/{pid}/record/visits/{visit['object_id']}/documents",
            data=body,
            headers=client._headers(),
            content_type="multipart/form-data; boundary=B",
        )

    assert upload(api(app, "anna")).status_code == 403
    r = upload(rec)
    assert r.status_code == 201 and r.json["filename"] == "ЭКГ.pdf"
    aid = r.json["id"]
    assert [
        e["summary"] for e in api(app, "anna").get(f"/api/v1/patients/{pid}/record?kind=document").json
    ] == ["ЭКГ.pdf"]
    assert api(app, "anna").get(f"/api/v1/attachments/{aid}").data.startswith(b"%PDF-1.4 ecg")
    assert api(app, "drt").get(f"/api/v1/attachments/{aid}").status_code == 200  # caring for the patient
    assert api(app, "boris").get(f"/api/v1/attachments/{aid}").status_code == 404
    with db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "attachment").order_by(AuditEvent.id)
        )
        got = [(r.actor_role, r.action, r.outcome) for r in rows]
    assert got == [
        ("member", "write", "denied"),
        ("records", "write", "allowed"),
        ("member", "read", "allowed"),
        ("doctor", "read", "allowed"),
        ("member", "read", "denied"),
    ]


def test_icd10_search_finds_everyday_russian_words(app, world):
    drt, rec = ApiClient(app, "drt"), ApiClient(app, "rec")
    r = drt.get("/api/v1/icd10?q=ОРВИ")
    assert r.status_code == 200
    assert r.json[0] == {"code": "J06.9", "title": "Острая инфекция верхних дыхательных путей неуточненная"}
    assert [e["code"] for e in rec.get("/api/v1/icd10?q=ангина").json][:2] == ["J03.9", "J03"]
    assert rec.get("/api/v1/icd10?q=давление").json[0]["code"] == "I10"
    assert drt.get("/api/v1/icd10?q=ОРВИ&lang=en").json == []  # the synonyms are Russian words

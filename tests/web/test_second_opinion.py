"""«Второе медицинское мнение»: a member requests one (once per condition per patient per contract);
a curator must contact them within one business day (the worker escalates overdue requests); the
request moves one step at a time; the expert's report lands in the e-card."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from telemed.opinions.models import SecondOpinion
from telemed.records.audit_models import AuditEvent
from telemed.worker import run_due
from tests.support.clients import ApiClient, page_login
from tests.support.pdf import pdf_of
from tests.web.test_attachments import multipart

REQUEST = {
    "icd10": "M54.5",
    "condition": "Боль в пояснице полгода",
    "question": "Нужна ли операция?",
    "contact": {"channel": "phone", "phone": "+7 900 000-00-00", "time": "после 18:00"},
}


@pytest.fixture
def w(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    factory.member("boris", contract=contract)
    factory.doctor("therapist", username="drt", name="Соколова Марина")
    for username, role in (("rec", "records"), ("cur", "curator")):
        factory.user(username, role=role, consent=False)
    return {"patient": patient, "child": child}


def api(app, username=None):
    return ApiClient(app, username) if username else ApiClient(app)


def upload(client, opinion_id, name="МРТ.pdf", data=b"mri"):
    body, ctype = multipart(pdf_of(data), name, "application/pdf")
    return client.client.post(
        f"/api/v1/second-opinions/{opinion_id}/documents",
        headers=client._headers(),
        data=body,
        content_type=ctype,
    )


def test_a_member_requests_and_gets_a_business_day_deadline(app, w):
    r = api(app, "anna").post("/api/v1/second-opinions", json=REQUEST)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["status"] == "submitted" and body["patient"]["id"] == w["patient"].id
    assert body["icd10"] == "M54.5" and body["contact"]["channel"] == "phone"
    due = datetime.fromisoformat(body["contact_due_at"])
    assert timedelta(hours=1) < due - datetime.now(UTC) < timedelta(days=12) and body["overdue"] is False
    assert [h["status"] for h in body["history"]] == ["submitted"]
    # the same condition (ICD-10 category M54) again: refused; another condition, or the child: fine
    again = api(app, "anna").post("/api/v1/second-opinions", json={**REQUEST, "icd10": "M54.4"})
    assert again.status_code == 409 and again.json["error"]["code"] == "opinion_already_given"
    assert (
        api(app, "anna").post("/api/v1/second-opinions", json={**REQUEST, "icd10": "J45.0"}).status_code
        == 201
    )
    child = api(app, "anna").post("/api/v1/second-opinions", json={**REQUEST, "patient_id": w["child"].id})
    assert child.status_code == 201 and child.json["patient"]["id"] == w["child"].id
    mine = api(app, "anna").get("/api/v1/second-opinions").json
    assert len(mine) == 3
    assert api(app, "boris").get("/api/v1/second-opinions").json == []
    assert api(app, "boris").get(f"/api/v1/second-opinions/{body['id']}").status_code == 404


def test_bad_requests_get_clear_errors(app, w):
    anna = api(app, "anna")
    for bad, field in (
        ({**REQUEST, "icd10": "XYZ"}, "icd10"),
        ({**REQUEST, "condition": ""}, "condition"),
        ({**REQUEST, "question": None}, "question"),
        ({**REQUEST, "contact": {"channel": "pigeon"}}, "contact"),
        ({**REQUEST, "attachment_ids": [999999]}, "attachment_ids"),
        ({**REQUEST, "attachment_ids": "1"}, "attachment_ids"),
    ):
        r = anna.post("/api/v1/second-opinions", json=bad)
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_error", bad
        assert r.json["error"]["details"]["field"] == field, bad
    for who in ("drt", "rec", "cur"):
        assert api(app, who).post("/api/v1/second-opinions", json=REQUEST).status_code == 403, who
    assert (
        api(app, "boris")
        .post("/api/v1/second-opinions", json={**REQUEST, "patient_id": w["child"].id})
        .status_code
        == 404
    )
    assert api(app).post("/api/v1/second-opinions", json=REQUEST).status_code == 401
    for who in ("drt", "rec"):
        assert api(app, who).get("/api/v1/second-opinions").status_code == 403, who


def test_curators_move_it_one_step_at_a_time_and_the_report_lands_in_the_ecard(app, db, w):
    anna, cur = api(app, "anna"), api(app, "cur")
    oid = anna.post("/api/v1/second-opinions", json=REQUEST).json["id"]
    member_doc = upload(anna, oid)
    assert member_doc.status_code == 201, member_doc.json
    status = f"/api/v1/second-opinions/{oid}/status"
    assert anna.post(status, json={"status": "contacted"}).status_code == 403
    r = cur.post(status, json={"status": "in_review"})
    assert r.status_code == 409 and r.json["error"]["code"] == "bad_transition"
    r = cur.post(status, json={"status": "contacted", "note": "Позвонили, договорились"})
    assert r.status_code == 200 and r.json["contacted_at"]
    assert cur.post(status, json={"status": "in_review"}).status_code == 200
    r = cur.post(status, json={"status": "report_issued"})
    assert r.status_code == 409 and r.json["error"]["code"] == "report_missing"
    # the curator reads the member's document, and uploads the expert's report
    assert cur.get(f"/api/v1/attachments/{member_doc.json['id']}").status_code == 200
    report = upload(cur, oid, name="Заключение эксперта.pdf", data=b"report")
    assert report.status_code == 201
    r = cur.post(status, json={"status": "report_issued", "note": "Операция не показана"})
    assert r.status_code == 200 and r.json["report"] == {"id": report.json["id"]}
    assert upload(anna, oid).status_code == 409  # no more documents from the member
    seen = anna.get(f"/api/v1/second-opinions/{oid}").json
    assert [h["status"] for h in seen["history"]] == ["submitted", "contacted", "in_review", "report_issued"]
    assert {d["kind"] for d in seen["documents"]} == {"upload", "report"}
    record = anna.get(f"/api/v1/patients/{w['patient'].id}/record?kind=document").json
    assert "Заключение эксперта.pdf" in [e["summary"] for e in record]
    assert anna.get(f"/api/v1/attachments/{report.json['id']}").status_code == 200
    assert cur.post(status, json={"status": "closed"}).status_code == 200
    assert cur.post(status, json={"status": "submitted"}).json["error"]["code"] == "bad_transition"
    assert cur.get("/api/v1/second-opinions?status=closed").json[0]["id"] == oid
    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "second_opinion"))
        assert {(r.actor_role, r.action, r.outcome) for r in rows} >= {
            ("member", "write", "allowed"),
            ("curator", "write", "allowed"),
            ("member", "write", "denied"),
        }


def test_the_worker_escalates_a_request_nobody_contacted_in_time(app, db, w):
    oid = api(app, "anna").post("/api/v1/second-opinions", json=REQUEST).json["id"]
    with db.session() as s:
        due = s.get(SecondOpinion, oid).contact_due_at
    assert run_due(app, now=due - timedelta(seconds=1))["opinions_escalated"] == 0
    assert run_due(app, now=due + timedelta(seconds=1))["opinions_escalated"] == 1
    assert run_due(app, now=due + timedelta(seconds=2))["opinions_escalated"] == 0  # once
    seen = api(app, "cur").get(f"/api/v1/second-opinions/{oid}").json
    assert seen["escalated_at"] and seen["history"][-1]["status"] == "escalated"
    with db.transaction() as s:  # a contacted request is never escalated
        s.execute(update(SecondOpinion).values(status="contacted", escalated_at=None))
    assert run_due(app, now=due + timedelta(days=3))["opinions_escalated"] == 0


def test_documents_chosen_from_the_ecard(app, w):
    rec = api(app, "rec")
    visit = rec.post(
        f"/api/v1/patients/{w['patient'].id}/record/visits",
        json={"date": "2026-03-02", "clinic": "Клиника", "doctor_name": "Петров П. П."},
    ).json
    body, ctype = multipart(pdf_of(b"scan"), "Рентген.pdf", "application/pdf")
    doc = rec.client.post(
        f"/api/v1/patients/{w['patient'].id}/record/visits/{visit['object_id']}/documents",
        data=body,
        headers=rec._headers(),
        content_type=ctype,
    ).json
    r = api(app, "anna").post("/api/v1/second-opinions", json={**REQUEST, "attachment_ids": [doc["id"]]})
    assert r.status_code == 201 and r.json["documents"][0]["kind"] == "from_record"
    assert api(app, "cur").get(f"/api/v1/attachments/{doc['id']}").status_code == 200
    # a document of someone else's record is refused
    other = api(app, "anna").post(
        "/api/v1/second-opinions",
        json={**REQUEST, "icd10": "J45.0", "patient_id": w["child"].id, "attachment_ids": [doc["id"]]},
    )
    assert other.status_code == 422


def test_the_pages_of_a_request(app, w):
    member = page_login(app, "anna")
    page = member.get("/second-opinions")
    assert page.status_code == 200 and 'name="icd10"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    form = {
        "csrf_token": token,
        "patient_id": str(w["patient"].id),
        "icd10": "XYZ",
        "condition": "Боль",
        "question": "?",
    }
    refused = member.post("/second-opinions", data=form)
    assert (
        refused.status_code == 422 and 'value="XYZ"' in refused.text and 'id="opinion-error"' in refused.text
    )
    r = member.post("/second-opinions", data={**form, "icd10": "M54.5"})
    assert r.status_code == 302
    detail = member.get(r.headers["Location"])
    assert detail.status_code == 200 and "M54.5" in detail.text and 'name="file"' in detail.text
    oid = int(r.headers["Location"].rsplit("/", 1)[1])
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail.text)[1]
    up = member.post(
        f"/second-opinions/{oid}/documents",
        data={"csrf_token": token, "file": (io.BytesIO(pdf_of(b"mri")), "МРТ.pdf")},
        content_type="multipart/form-data",
    )
    assert up.status_code == 302 and "МРТ.pdf" in member.get(f"/second-opinions/{oid}").text
    curator = page_login(app, "cur")
    listing = curator.get("/second-opinions")
    assert (
        listing.status_code == 200
        and f'data-id="{oid}"' in listing.text
        and 'name="icd10"' not in listing.text
    )
    detail = curator.get(f"/second-opinions/{oid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail)[1]
    moved = curator.post(
        f"/second-opinions/{oid}/status",
        data={"csrf_token": token, "status": "contacted", "note": "Позвонили"},
    )
    assert moved.status_code == 302 and "Позвонили" in curator.get(f"/second-opinions/{oid}").text
    assert page_login(app, "rec").get("/second-opinions").status_code == 403
    assert page_login(app, "boris").get(f"/second-opinions/{oid}").status_code == 404

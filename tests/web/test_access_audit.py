"""Every read of a consultation's details and of its chat history is audited; a refused read is
listed under the patient the object belongs to; anonymous requests are refused before they can
write to the log; the patient sees who opened the record («Кто открывал мою медкарту»)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from telemed.records.audit_models import AuditEvent
from tests.support.clients import ApiClient, page_login, text_of
from tests.support.factories import make_consultation


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    boris, _ = factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    factory.doctor("cardiologist", username="dr2", name="Другой Врач")
    factory.user("rec", role="records", name="Регистратор Ольга", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    return {"patient": patient, "consultation": c, "anna": anna, "boris": boris}


def rows(db, object_type: str) -> list[tuple]:
    with db.session() as s:
        found = s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == object_type).order_by(AuditEvent.id)
        )
        return [(r.actor_role, r.patient_id, r.object_id, r.outcome) for r in found]


def test_chat_history_and_consultation_details_are_audited_and_refusals_name_the_patient(app, db, world):
    cid, pid = world["consultation"].id, world["patient"].id
    anna, boris = ApiClient(app, "anna"), ApiClient(app, "boris")
    assert anna.get(f"/api/v1/consultations/{cid}/messages").status_code == 200
    assert boris.get(f"/api/v1/consultations/{cid}/messages").status_code == 404
    assert anna.get(f"/api/v1/consultations/{cid}").status_code == 200
    assert ApiClient(app, "dr2").get(f"/api/v1/consultations/{cid}").status_code == 404
    assert rows(db, "chat") == [("member", pid, str(cid), "allowed"), ("member", pid, str(cid), "denied")]
    assert rows(db, "consultation") == [
        ("member", pid, str(cid), "allowed"),
        ("doctor", pid, str(cid), "denied"),
    ]


def test_a_refused_attachment_download_is_listed_under_its_patient(app, db, world):
    cid, pid = world["consultation"].id, world["patient"].id
    anna = ApiClient(app, "anna")
    up = anna.client.post(
        f"/api/v1/consultations/{cid}/attachments",
        data={"file": (io.BytesIO(b"hemoglobin 140 g/l\n"), "blood.txt")},
        headers=anna._headers(),
        content_type="multipart/form-data",
    )
    assert up.status_code == 201, up.json
    aid = up.json["id"]
    assert ApiClient(app, "boris").get(f"/api/v1/attachments/{aid}").status_code == 404
    assert ("member", pid, str(aid), "denied") in rows(db, "attachment")
    log = anna.get(f"/api/v1/patients/{pid}/record/access-log").json
    assert any(e["outcome"] == "denied" and e["actor"]["name"] == "Boris" for e in log)


def test_anonymous_requests_are_refused_before_anything_is_logged(app, db, world):
    cid, pid = world["consultation"].id, world["patient"].id
    anonymous = ApiClient(app)
    for path in (
        f"/api/v1/consultations/{cid}/messages",
        f"/api/v1/consultations/{cid}",
        f"/api/v1/patients/{pid}/record",
        f"/api/v1/patients/{pid}/record/access-log",
        f"/api/v1/consultations/{cid}/conclusion",
        "/api/v1/attachments/1",
    ):
        assert anonymous.get(path).status_code == 401, path
    upload = anonymous.client.post(
        f"/api/v1/consultations/{cid}/attachments",
        data={"file": (io.BytesIO(b"x" * 1000), "a.txt")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 401
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_the_patient_sees_who_opened_the_record_with_names_and_refusals(app, db, world):
    pid = world["patient"].id
    page_login(app, "rec").get(f"/patients/{pid}/record")
    page_login(app, "boris").get(f"/patients/{pid}/record")
    anna = page_login(app, "anna")
    ecard = anna.get(f"/patients/{pid}/record").text
    assert f'href="/patients/{pid}/record/access-log"' in ecard
    page = anna.get(f"/patients/{pid}/record/access-log")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Кто открывал медкарту" in text or "Who opened" in text
    assert "Регистратор Ольга" in text and "Boris" in text
    assert 'class="denied"' in page.text and "отказано" in text
    assert page_login(app, "drt").get(f"/patients/{pid}/record/access-log").status_code == 404
    assert page_login(app, "boris").get(f"/patients/{pid}/record/access-log").status_code == 404
    # the page's own reading is logged too
    assert ("member", pid, None, "allowed") in rows(db, "access_log")

"""«Оценка обращения»: the member confirms a consultation happened and rates it; a low score or a
visit that did not happen opens a complaint for the curator service; a credible "the doctor did not
come" gives a psychologist consultation back; doctors see their average, never who rated."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from telemed.feedback.models import Rating
from telemed.records.audit_models import AuditEvent
from telemed.scheduling.models import Consultation
from telemed.video.models import RoomJoin
from tests.support.clients import ApiClient, page_login
from tests.support.factories import make_consultation


@pytest.fixture
def w(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    psy = factory.doctor("psychologist", username="psy", name="Психолог Павел")
    for username, role in (("rec", "records"), ("adm", "admin"), ("cur", "curator")):
        factory.user(username, role=role, consent=False)
    now = datetime.now(UTC).replace(microsecond=0)
    past = make_consultation(factory, anna, patient, doctor, contract, start=now - timedelta(hours=2))
    future = make_consultation(factory, anna, patient, doctor, contract, start=now + timedelta(hours=2))
    child_visit = make_consultation(factory, anna, child, doctor, contract, start=now - timedelta(days=1))
    therapy = make_consultation(factory, anna, patient, psy, contract, start=now - timedelta(days=2))
    return {
        "patient": patient,
        "doctor": doctor,
        "psy": psy,
        "past": past,
        "future": future,
        "child": child_visit,
        "therapy": therapy,
    }


def api(app, username=None):
    return ApiClient(app, username) if username else ApiClient(app)


def rate(app, username, cid, body):
    return api(app, username).put(f"/api/v1/consultations/{cid}/rating", json=body)


def test_the_member_confirms_and_rates_and_changes_it_for_seven_days(app, db, w):
    cid = w["past"].id
    before = api(app, "anna").get(f"/api/v1/consultations/{cid}/rating")
    assert before.status_code == 200 and before.json["happened"] is None and before.json["can_rate"] is True
    assert before.json["consultation"]["doctor"]["name"] == "Соколова Марина"
    assert before.json["consultation"]["specialty"] == "therapist"
    r = rate(
        app, "anna", cid, {"happened": "yes", "doctor_score": 5, "service_score": 4, "comment": "Спасибо"}
    )
    assert r.status_code == 200, r.json
    assert (r.json["happened"], r.json["doctor_score"], r.json["service_score"]) == ("yes", 5, 4)
    assert r.json["complaint"] is None and r.json["credible"] is None
    r = rate(app, "anna", cid, {"happened": "yes", "doctor_score": 4})
    assert r.status_code == 200 and r.json["doctor_score"] == 4 and r.json["service_score"] is None
    with db.transaction() as s:  # a week later
        s.execute(update(Rating).values(created_at=datetime.now(UTC) - timedelta(days=7, seconds=1)))
    r = rate(app, "anna", cid, {"happened": "yes", "doctor_score": 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "rating_closed"
    got = api(app, "anna").get(f"/api/v1/consultations/{cid}/rating").json
    assert got["doctor_score"] == 4 and got["can_rate"] is False


def test_who_rates_what(app, w):
    past, future = w["past"].id, w["future"].id
    body = {"happened": "yes", "doctor_score": 5}
    for who in ("drt", "boris", "rec", "adm", "cur", "psy"):
        assert rate(app, who, past, body).status_code == 404, who
        assert api(app, who).get(f"/api/v1/consultations/{past}/rating").status_code == 404, who
    assert rate(app, None, past, body).status_code == 401
    r = rate(app, "anna", future, body)
    assert r.status_code == 409 and r.json["error"]["code"] == "consultation_not_ended"
    assert rate(app, "anna", w["child"].id, body).status_code == 200  # a guardian rates the child's
    for bad in (
        {},
        {"happened": "maybe"},
        {"happened": "yes", "doctor_score": 6},
        {"happened": "yes", "doctor_score": 0},
        {"happened": "yes", "doctor_score": True},
        {"happened": "yes", "service_score": "5"},
        {"happened": "yes", "comment": "x" * 2001},
        {"happened": "yes", "comment": 5},
    ):
        r = rate(app, "anna", past, bad)
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_error", bad


def test_a_cancelled_consultation_is_not_rated(app, db, w):
    with db.transaction() as s:
        s.execute(update(Consultation).where(Consultation.id == w["past"].id).values(status="cancelled"))
    r = rate(app, "anna", w["past"].id, {"happened": "yes"})
    assert r.status_code == 409 and r.json["error"]["code"] == "consultation_not_ended"


def test_doctors_see_their_average_never_who_rated(app, w):
    rate(app, "anna", w["past"].id, {"happened": "yes", "doctor_score": 5})
    rate(app, "anna", w["child"].id, {"happened": "yes", "doctor_score": 2})
    summary = api(app, "drt").get("/api/v1/me/rating")
    assert summary.status_code == 200 and summary.json == {"average": 3.5, "count": 2}
    assert api(app, "psy").get("/api/v1/me/rating").json == {"average": None, "count": 0}
    for who in ("anna", "rec", "cur"):
        assert api(app, who).get("/api/v1/me/rating").status_code == 403, who
    page = page_login(app, "drt").get("/schedule").text
    line = page.split('id="my-rating"')[1].split("</p>")[0]
    assert re.search(r"3[.,]5", line) and w["patient"].full_name not in line


def test_a_low_score_opens_a_complaint_that_curators_handle(app, db, w):
    r = rate(app, "anna", w["past"].id, {"happened": "yes", "doctor_score": 2, "comment": "Опоздал"})
    assert r.json["complaint"]["status"] == "open"
    rate(app, "anna", w["past"].id, {"happened": "yes", "doctor_score": 1})  # no second complaint
    rate(app, "anna", w["child"].id, {"happened": "yes", "doctor_score": 5, "service_score": 5})  # none
    for who in ("anna", "drt", "rec", "adm"):
        r = api(app, who).get("/api/v1/complaints")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", who
    cur = api(app, "cur")
    listed = cur.get("/api/v1/complaints").json
    assert len(listed) == 1
    complaint = listed[0]
    assert complaint["reason"] == "low_score" and complaint["status"] == "open"
    assert complaint["rating"]["doctor_score"] == 1 and complaint["patient"]["id"] == w["patient"].id
    url = f"/api/v1/complaints/{complaint['id']}/status"
    r = cur.post(url, json={"status": "in_progress", "note": "Позвонили пациентке"})
    assert r.status_code == 200 and r.json["status"] == "in_progress" and r.json["curator"]["name"]
    assert api(app, "drt").post(url, json={"status": "closed"}).status_code == 403
    r = cur.post(url, json={"status": "closed", "note": "Врач предупреждён"})
    assert r.status_code == 200 and r.json["closed_at"] and r.json["note"] == "Врач предупреждён"
    r = cur.post(url, json={"status": "in_progress"})
    assert r.status_code == 409 and r.json["error"]["code"] == "bad_transition"
    assert cur.post(url, json={"status": "reopened"}).status_code == 422
    assert cur.post("/api/v1/complaints/999999/status", json={"status": "closed"}).status_code == 404
    assert cur.get("/api/v1/complaints?status=open").json == []
    assert api(app, "anna").get(f"/api/v1/consultations/{w['past'].id}/rating").json["complaint"][
        "status"
    ] == ("closed")
    with db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "complaint").order_by(AuditEvent.id)
        )
        got = [(r.actor_role, r.action, r.outcome) for r in rows]
    assert ("curator", "write", "allowed") in got and ("doctor", "write", "denied") in got
    assert ("member", "read", "denied") in got and ("curator", "read", "allowed") in got


def _psychologist_left(app) -> int:
    me = api(app, "anna").get("/api/v1/me").json
    return next(p for p in me["patients"] if p["is_adult"])["psychologist"]["left"]


def test_the_doctor_did_not_come_is_checked_and_gives_the_psychologist_quota_back(app, db, w):
    assert _psychologist_left(app) == 2
    r = rate(app, "anna", w["therapy"].id, {"happened": "doctor_absent", "service_score": 1})
    assert r.status_code == 200 and r.json["credible"] is True
    assert r.json["complaint"]["status"] == "open"
    assert _psychologist_left(app) == 3  # given back
    r = rate(app, "anna", w["therapy"].id, {"happened": "yes", "doctor_score": 4})
    assert r.json["credible"] is None and _psychologist_left(app) == 2  # changed her mind
    with db.transaction() as s:  # the psychologist did enter the room
        s.add(RoomJoin(consultation_id=w["therapy"].id, user_id=w["psy"].user_id, first_at=datetime.now(UTC)))
    r = rate(app, "anna", w["therapy"].id, {"happened": "doctor_absent"})
    assert r.json["credible"] is False and _psychologist_left(app) == 2
    complaint = api(app, "cur").get("/api/v1/complaints").json[0]
    assert complaint["reason"] == "doctor_absent" and complaint["rating"]["credible"] is False


def test_the_rating_and_complaint_pages(app, w):
    member = page_login(app, "anna")
    page = member.get(f"/consultations/{w['past'].id}").text
    assert 'id="rating"' in page and 'name="happened"' in page
    assert 'id="rating"' not in member.get(f"/consultations/{w['future'].id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    r = member.post(
        f"/consultations/{w['past'].id}/rating",
        data={
            "happened": "connection_failed",
            "service_score": "2",
            "comment": "Пропал звук",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    assert "Пропал звук" in member.get(f"/consultations/{w['past'].id}").text
    assert 'id="rating"' not in page_login(app, "drt").get(f"/consultations/{w['past'].id}").text
    curator = page_login(app, "cur")
    listing = curator.get("/complaints")
    assert listing.status_code == 200 and "Пропал звук" in listing.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', listing.text)[1]
    cid = re.search(r'action="/complaints/(\d+)/status"', listing.text)[1]
    r = curator.post(
        f"/complaints/{cid}/status",
        data={"status": "closed", "note": "Связь восстановлена", "csrf_token": token},
    )
    assert r.status_code == 302
    assert "Связь восстановлена" in curator.get("/complaints?status=closed").text
    assert curator.get("/").headers["Location"].endswith("/complaints")
    assert page_login(app, "rec").get("/complaints").status_code == 403

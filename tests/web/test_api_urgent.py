"""API of the urgent queue: requests, the queue, duty, pick-up, cancel, finish (the contract)."""

from datetime import UTC, datetime, timedelta

import pytest

from telemed.worker import run_due
from tests.support import urgent as u
from tests.support.clients import ApiClient
from tests.support.sql import statements_run
from tests.web.test_api_auth import assert_error

QUEUE_KEYS = {"position", "estimate_minutes", "doctors_on_duty", "escalation_level", "alternative"}


@pytest.fixture
def w(factory):
    return u.world(factory)


@pytest.fixture
def api(app, w):
    return {name: ApiClient(app, name) for name in ("anna", "boris", "drt1", "drt2", "drp", "drc")}


def test_a_request_waits_with_its_place_in_the_queue(app, api, w):
    r = api["anna"].post("/api/v1/urgent", json={"reason": "Температура 39"})
    assert r.status_code == 201, r.json
    body = r.json
    assert r.headers["Location"].endswith(f"/api/v1/consultations/{body['id']}")
    assert (body["mode"], body["status"], body["specialty"], body["doctor"]) == (
        "urgent",
        "waiting",
        "therapist",
        None,
    )
    assert (body["start"], body["end"], body["reason"]) == (None, None, "Температура 39")
    assert body["patient"] == {"id": w["patient"].id, "name": w["patient"].full_name}
    assert body["queue"] == {
        "position": 1,
        "estimate_minutes": None,
        "doctors_on_duty": 0,
        "escalation_level": 0,
        "alternative": None,
        "coverage_gap": None,  # no duty roster kept
    }
    child = api["anna"].post("/api/v1/urgent", json={"patient_id": w["child"].id}).json
    assert child["specialty"] == "pediatrician" and child["queue"]["position"] == 1


def test_the_estimate_appears_with_a_doctor_on_duty(app, api, w):
    assert api["drt1"].put("/api/v1/duty", json={"on_duty": True}).status_code == 200
    queue = api["anna"].post("/api/v1/urgent", json={}).json["queue"]
    assert queue["doctors_on_duty"] == 1 and queue["estimate_minutes"] == {"low": 0, "high": 5}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"patient_id": "1"}, 422, "validation_error"),
        ({"reason": "x" * 2001}, 422, "validation_error"),
        ({"reason": 5}, 422, "validation_error"),
        ({"patient_id": 2**40}, 422, "not_guardian"),  # beyond any id: no such patient
    ],
)
def test_request_input_is_validated(app, api, w, body, status, code):
    assert_error(api["anna"].post("/api/v1/urgent", json=body), status, code)


def test_refusals_follow_the_booking_rules(app, api, factory, w):
    assert_error(
        api["anna"].post("/api/v1/urgent", json={"patient_id": w["boris_patient"].id}), 422, "not_guardian"
    )
    factory.member("newbie", contract=w["contract"], consent=False)
    assert_error(ApiClient(app, "newbie").post("/api/v1/urgent", json={}), 422, "consent_required")
    factory.member("lapsed")
    assert_error(ApiClient(app, "lapsed").post("/api/v1/urgent", json={}), 422, "policy_inactive")
    factory.member("planned_only", contract=factory.contract(specialties=["cardiologist"]))
    assert_error(ApiClient(app, "planned_only").post("/api/v1/urgent", json={}), 422, "not_covered")
    assert api["anna"].post("/api/v1/urgent", json={}).status_code == 201
    r = api["anna"].post("/api/v1/urgent", json={}, headers={"Accept-Language": "ru"})
    assert_error(r, 409, "already_waiting")
    assert "срочная консультация" in r.json["error"]["message"]


def test_anonymous_callers_get_401_before_their_input_is_read(app):
    client = app.test_client()
    for method, path in [
        ("post", "/api/v1/urgent"),
        ("get", "/api/v1/urgent/queue"),
        ("post", "/api/v1/urgent/1/claim"),
        ("get", "/api/v1/duty"),
        ("put", "/api/v1/duty"),
        ("post", "/api/v1/consultations/1/finish"),
    ]:
        r = getattr(client, method)(path, data="{not json", content_type="application/json")
        assert_error(r, 401, "not_authenticated")


def test_duty_is_for_therapists_and_pediatricians(app, api, w):
    r = api["drt1"].put("/api/v1/duty", json={"on_duty": True})
    assert r.status_code == 200 and r.json["on_duty"] is True
    since = datetime.fromisoformat(r.json["since"])
    assert abs(since - datetime.now(UTC)) < timedelta(minutes=1)
    assert api["drt1"].get("/api/v1/duty").json == r.json
    assert api["drp"].get("/api/v1/duty").json == {"on_duty": False, "since": None}
    assert api["drt1"].put("/api/v1/duty", json={"on_duty": False}).json == {"on_duty": False, "since": None}
    for name in ("anna", "drc"):
        assert_error(api[name].get("/api/v1/duty"), 403, "forbidden")
        assert_error(api[name].put("/api/v1/duty", json={"on_duty": "nonsense"}), 403, "forbidden")
        assert_error(api[name].get("/api/v1/urgent/queue"), 403, "forbidden")


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {}])
def test_on_duty_must_be_a_json_boolean(app, api, w, value):
    r = api["drt1"].put("/api/v1/duty", json={"on_duty": value})
    assert_error(r, 422, "validation_error")
    assert r.json["error"]["details"] == {"field": "on_duty"}


def test_the_queue_lists_the_specialtys_waiting_requests_oldest_first(app, api, w):
    first = api["boris"].post("/api/v1/urgent", json={"reason": "Кашель"}).json["id"]
    second = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    api["anna"].post("/api/v1/urgent", json={"patient_id": w["child"].id})
    listing = api["drt1"].get("/api/v1/urgent/queue").json
    assert [item["id"] for item in listing] == [first, second]
    assert listing[0] == {
        "id": first,
        "specialty": "therapist",
        "patient": {"name": w["boris_patient"].full_name, "age": listing[0]["patient"]["age"]},
        "reason": "Кашель",
        "waiting_since": listing[0]["waiting_since"],
        "escalation_level": 0,
    }
    assert listing[0]["patient"]["age"] >= 40 and listing[0]["waiting_since"] <= listing[1]["waiting_since"]
    assert [item["specialty"] for item in api["drp"].get("/api/v1/urgent/queue").json] == ["pediatrician"]


def test_listing_the_queue_takes_as_many_statements_for_thirty_requests_as_for_one(app, factory, api, w):
    """One query reads the whole waiting list (no statement per request or per patient)."""
    engine = app.extensions["telemed.db"].engine

    def listing_statements() -> tuple[int, int]:
        with statements_run(engine) as statements:
            listing = api["drt1"].get("/api/v1/urgent/queue").json
        return len(listing), len(statements)

    contract = w["contract"]
    u.ask(app, w["boris"])
    one = listing_statements()
    for i in range(29):
        user, _patient = factory.member(f"queued{i}", contract=contract)
        u.ask(app, user, reason=f"Reason {i}")
    thirty = listing_statements()
    assert (one[0], thirty[0]) == (1, 30)
    assert thirty[1] == one[1]


def test_claim_finish_and_the_consultation_on_the_way(app, api, w):
    cid = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    assert "queue" in api["anna"].get(f"/api/v1/consultations/{cid}").json
    assert_error(api["drt1"].get(f"/api/v1/consultations/{cid}"), 404, "not_found")  # not his yet
    r = api["drt1"].post(f"/api/v1/urgent/{cid}/claim")
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["status"], body["doctor"]["id"], body["mode"]) == ("in_progress", w["t1"].id, "urgent")
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert end - start == timedelta(minutes=30) and abs(start - datetime.now(UTC)) < timedelta(minutes=1)
    assert "queue" not in body
    assert_error(api["drt2"].post(f"/api/v1/urgent/{cid}/claim"), 409, "already_claimed")
    as_doctor = api["drt1"].get(f"/api/v1/consultations/{cid}").json
    assert as_doctor["status"] == "in_progress" and "queue" not in as_doctor
    listed = api["anna"].get("/api/v1/consultations?when=upcoming").json
    assert [(c["id"], c["mode"]) for c in listed] == [(cid, "urgent")]
    assert_error(api["anna"].post(f"/api/v1/consultations/{cid}/cancel", json={}), 409, "not_cancellable")
    assert_error(api["anna"].post(f"/api/v1/consultations/{cid}/finish"), 403, "forbidden")
    assert_error(api["boris"].post(f"/api/v1/consultations/{cid}/finish"), 404, "not_found")
    done = api["drt1"].post(f"/api/v1/consultations/{cid}/finish")
    assert done.status_code == 200 and done.json["status"] == "completed" and done.json["completed_at"]
    assert api["anna"].post("/api/v1/urgent", json={}).status_code == 201  # the next one may come


def test_claim_refusals(app, api, w):
    first = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    second = api["boris"].post("/api/v1/urgent", json={}).json["id"]
    for name in ("drp", "drc", "anna", "boris"):
        assert_error(api[name].post(f"/api/v1/urgent/{first}/claim"), 404, "not_found")
    assert_error(api["drt1"].post("/api/v1/urgent/999999/claim"), 404, "not_found")
    assert_error(api["drt1"].post(f"/api/v1/urgent/{2**40}/claim"), 404, "not_found")
    assert api["drt1"].post(f"/api/v1/urgent/{first}/claim").status_code == 200
    assert_error(api["drt1"].post(f"/api/v1/urgent/{second}/claim"), 409, "busy")
    assert api["boris"].post(f"/api/v1/consultations/{second}/cancel", json={}).json["status"] == "cancelled"
    assert_error(api["drt2"].post(f"/api/v1/urgent/{second}/claim"), 409, "consultation_cancelled")
    assert_error(api["drt1"].post(f"/api/v1/consultations/{second}/finish"), 404, "not_found")


def test_finishing_a_planned_consultation_that_has_not_started(app, api, factory, w):
    from tests.support.factories import make_consultation

    c = make_consultation(factory, w["anna"], w["patient"], w["t1"], w["contract"])
    assert_error(api["drt1"].post(f"/api/v1/consultations/{c.id}/finish"), 409, "not_in_progress")


def test_level_two_offers_a_slot_booked_in_one_tap_keeping_the_place(app, api, factory, w):
    cid = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    slot = factory.slot(w["t2"], datetime.now(UTC) + timedelta(hours=3))
    run_due(app, now=datetime.now(UTC) + 2 * u.settings(app).escalate_after)
    queue = api["anna"].get(f"/api/v1/consultations/{cid}").json["queue"]
    assert queue["escalation_level"] == 2 and queue["position"] == 1
    alternative = queue["alternative"]
    assert alternative["slot_id"] == slot.id and alternative["doctor"]["id"] == w["t2"].id
    booked = api["anna"].post("/api/v1/consultations", json={"slot_id": alternative["slot_id"]})
    assert booked.status_code == 201 and booked.json["mode"] == "planned"
    still = api["anna"].get(f"/api/v1/consultations/{cid}").json
    assert still["status"] == "waiting" and still["queue"]["position"] == 1
    assert still["queue"]["alternative"] is None  # that slot is taken now, and no other is free


def test_the_openapi_document_describes_the_urgent_operations(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert {"/urgent", "/urgent/queue", "/urgent/{id}/claim", "/duty", "/consultations/{id}/finish"} <= set(
        doc["paths"]
    )
    assert set(doc["paths"]["/duty"]) == {"get", "put"}
    assert set(doc["components"]["schemas"]["Queue"]["required"]) == QUEUE_KEYS
    consultation = doc["components"]["schemas"]["Consultation"]["properties"]
    assert "waiting" in consultation["status"]["enum"] and consultation["queue"] == {
        "$ref": "#/components/schemas/Queue"
    }


def test_a_failed_send_after_the_commit_does_not_fail_the_request(app, api, w, monkeypatch, caplog):
    def broken():
        raise RuntimeError("socket server down")

    monkeypatch.setattr(app.extensions["telemed.relay"], "deliver", broken)
    r = api["anna"].post("/api/v1/urgent", json={})
    assert r.status_code == 201  # the request is in the queue; the background relay sends the news
    assert "sending the outbox after a commit failed" in caplog.text


def test_conclusion_ecard_pdf_and_fhir_work_for_an_urgent_consultation(app, api, w):
    from fhir.resources.R4B.bundle import Bundle

    from tests.support import otp
    from tests.support.factories import PASSWORD
    from tests.web.test_records_api import DRAFT

    cid = api["anna"].post("/api/v1/urgent", json={"reason": "Кашель"}).json["id"]
    api["anna"].post("/api/v1/urgent", json={"patient_id": w["child"].id})  # nobody takes this one
    api["drt1"].post(f"/api/v1/urgent/{cid}/claim")
    assert api["drt1"].put(f"/api/v1/consultations/{cid}/conclusion", json=DRAFT).status_code == 200
    signed = api["drt1"].post(
        f"/api/v1/consultations/{cid}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt1")},
    )
    assert signed.status_code == 200 and signed.json["status"] == "signed"
    assert api["anna"].get(f"/api/v1/consultations/{cid}").json["status"] == "completed"
    assert api["anna"].get(f"/api/v1/consultations/{cid}/conclusion").json["diagnosis"]["text"] == "ОРВИ"
    pdf = api["anna"].get(f"/api/v1/consultations/{cid}/conclusion.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    record = api["anna"].get(f"/api/v1/patients/{w['patient'].id}/record").json
    assert [e["consultation_id"] for e in record if e["kind"] == "conclusion"] == [cid]
    fhir = api["anna"].get(f"/api/v1/patients/{w['patient'].id}/record/fhir")
    assert fhir.status_code == 200
    Bundle.model_validate(fhir.json)
    encounters = [e["resource"] for e in fhir.json["entry"] if e["resource"]["resourceType"] == "Encounter"]
    assert [(e["status"], e["priority"]["coding"][0]["code"]) for e in encounters] == [("finished", "UR")]
    child = api["anna"].get(f"/api/v1/patients/{w['child'].id}/record/fhir").json
    assert [e for e in child["entry"] if e["resource"]["resourceType"] == "Encounter"] == []

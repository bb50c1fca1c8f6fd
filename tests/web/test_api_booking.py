"""API: specialties, doctors, slots, booking, listing, cancelling."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.clients import ApiClient
from tests.support.factories import next_slot_start
from tests.web.test_api_auth import assert_error


@pytest.fixture
def world(factory):
    contract = factory.contract()
    user, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Kid", birth_date=date(2018, 2, 3), guardian=user, contract=contract)
    doctor = factory.doctor("therapist", username="drt", career_start=date(2015, 1, 1), name="Young")
    return {"contract": contract, "user": user, "patient": patient, "child": child, "doctor": doctor}


def test_specialties_list_modes_and_age_rule(app, world):
    body = ApiClient(app, "anna").get("/api/v1/specialties").json
    by_code = {s["code"]: s for s in body}
    assert len(body) == 13
    assert by_code["therapist"]["modes"] == ["urgent", "planned"]
    assert by_code["cardiologist"]["modes"] == ["planned"]
    assert by_code["psychologist"]["adult_only"] is True and by_code["ent"]["adult_only"] is False
    assert by_code["pediatrician"]["name"] == "Педиатр"


def test_doctors_most_experienced_first_with_next_free_slot(app, factory, world):
    senior = factory.doctor("therapist", career_start=date(1999, 9, 1), name="Senior")
    factory.doctor("cardiologist", name="Other specialty")
    first = next_slot_start(days=2)
    factory.slot(senior, first + timedelta(hours=1))
    factory.slot(senior, first)
    body = ApiClient(app, "anna").get("/api/v1/doctors?specialty=therapist").json
    assert [d["name"] for d in body] == ["Senior", "Young"]
    today = date.today()
    assert body[0]["experience_years"] == today.year - 1999 - ((today.month, today.day) < (9, 1))
    assert body[0]["education"] == "Medical University" and "degree" in body[0]
    assert datetime.fromisoformat(body[0]["next_free_slot"]) == first
    assert body[1]["next_free_slot"] is None


@pytest.mark.parametrize("query", ["", "?specialty=", "?specialty=surgeon"])
def test_doctors_need_a_known_specialty(app, world, query):
    assert_error(ApiClient(app, "anna").get(f"/api/v1/doctors{query}"), 422, "validation_error")


def test_slots_are_free_future_and_iso_with_offset(app, factory, world):
    doctor = world["doctor"]
    past = factory.slot(doctor, datetime.now(UTC) - timedelta(hours=2))
    s1, s2, s3 = factory.slots(doctor, 3)
    far = factory.slot(doctor, next_slot_start(days=20))
    api = ApiClient(app, "anna")
    api.post("/api/v1/consultations", json={"slot_id": s2.id})
    body = api.get(f"/api/v1/doctors/{doctor.id}/slots").json
    assert [s["id"] for s in body] == [s1.id, s3.id]
    start = datetime.fromisoformat(body[0]["start"])
    assert start.utcoffset() is not None and start == s1.starts_at
    assert past.id not in [s["id"] for s in body] and far.id not in [s["id"] for s in body]
    frm = (s3.starts_at - timedelta(minutes=1)).isoformat()
    to = (far.starts_at + timedelta(minutes=1)).isoformat()
    ranged = api.get(f"/api/v1/doctors/{doctor.id}/slots", query_string={"from": frm, "to": to}).json
    assert [s["id"] for s in ranged] == [s3.id, far.id]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "2026-01-01T10:00:00"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        {"limit": "many"},
    ],
)
def test_bad_slot_queries_get_422(app, world, params):
    r = ApiClient(app, "anna").get(f"/api/v1/doctors/{world['doctor'].id}/slots", query_string=params)
    assert_error(r, 422, "validation_error")


def test_slots_of_an_unknown_doctor_get_404(app, world):
    assert_error(ApiClient(app, "anna").get("/api/v1/doctors/999999/slots"), 404, "not_found")


def test_booking_returns_the_consultation(app, factory, world):
    slot = factory.slot(world["doctor"])
    r = ApiClient(app, "anna").post("/api/v1/consultations", json={"slot_id": slot.id, "reason": "Кашель"})
    assert r.status_code == 201
    body = r.json
    assert (body["status"], body["mode"], body["reason"]) == ("scheduled", "planned", "Кашель")
    assert body["doctor"]["id"] == world["doctor"].id and body["patient"]["id"] == world["patient"].id
    assert datetime.fromisoformat(body["start"]) == slot.starts_at
    assert datetime.fromisoformat(body["end"]) == slot.ends_at
    assert r.headers["Location"].endswith(f"/api/v1/consultations/{body['id']}")


def test_booking_for_the_child(app, factory, world):
    slot = factory.slot(factory.doctor("pediatrician"))
    r = ApiClient(app, "anna").post(
        "/api/v1/consultations", json={"slot_id": slot.id, "patient_id": world["child"].id}
    )
    assert r.status_code == 201 and r.json["patient"]["id"] == world["child"].id


def test_booking_errors_map_to_documented_codes(app, factory, world):
    api = ApiClient(app, "anna")
    psych = factory.doctor("psychologist")
    taken = factory.slot(world["doctor"])
    api.post("/api/v1/consultations", json={"slot_id": taken.id})
    factory.member("boris", contract=world["contract"])
    assert_error(
        ApiClient(app, "boris").post("/api/v1/consultations", json={"slot_id": taken.id}), 409, "slot_taken"
    )
    assert_error(
        api.post(
            "/api/v1/consultations", json={"slot_id": factory.slot(psych).id, "patient_id": world["child"].id}
        ),
        422,
        "adult_only",
    )
    assert_error(api.post("/api/v1/consultations", json={"slot_id": 987654}), 422, "slot_unavailable")
    stranger_child = factory.patient(
        name="Other kid", birth_date=date(2019, 1, 1), contract=world["contract"]
    )
    assert_error(
        api.post(
            "/api/v1/consultations", json={"slot_id": factory.slot(psych).id, "patient_id": stranger_child.id}
        ),
        422,
        "not_guardian",
    )
    past = factory.slot(world["doctor"], datetime.now(UTC) - timedelta(minutes=5))
    assert_error(api.post("/api/v1/consultations", json={"slot_id": past.id}), 422, "slot_unavailable")
    for s in factory.slots(psych, 3, start=next_slot_start(days=3)):
        assert api.post("/api/v1/consultations", json={"slot_id": s.id}).status_code == 201
    assert_error(
        api.post("/api/v1/consultations", json={"slot_id": factory.slot(psych).id}), 422, "limit_reached"
    )
    api.delete("/api/v1/me/consent")
    assert_error(
        api.post(
            "/api/v1/consultations",
            json={"slot_id": factory.slot(world["doctor"], next_slot_start(days=4)).id},
        ),
        422,
        "consent_required",
    )


def test_not_covered_and_policy_inactive_codes(app, factory):
    factory.member("narrow", contract=factory.contract(specialties=["therapist"]))
    factory.member("nopolicy")
    cardio = factory.slot(factory.doctor("cardiologist"))
    assert_error(
        ApiClient(app, "narrow").post("/api/v1/consultations", json={"slot_id": cardio.id}),
        422,
        "not_covered",
    )
    assert_error(
        ApiClient(app, "nopolicy").post("/api/v1/consultations", json={"slot_id": cardio.id}),
        422,
        "policy_inactive",
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"slot_id": "1"},
        {"slot_id": -3},
        {"slot_id": True},
        {"slot_id": 1.5},
        {"slot_id": 1, "patient_id": "me"},
        {"slot_id": 1, "reason": 5},
        {"slot_id": 1, "reason": "x" * 2001},
        {"slot_id": 10**30},
    ],
)
def test_bad_booking_input_gets_422_not_500(app, world, body):
    assert_error(ApiClient(app, "anna").post("/api/v1/consultations", json=body), 422, "validation_error")


def test_non_json_booking_body_gets_400(app, world):
    api = ApiClient(app, "anna")
    r = api.client.post(
        "/api/v1/consultations",
        data="slot_id=1",
        headers=api._headers(),
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(r, 400, "bad_request")


def test_list_get_and_cancel(app, factory, world):
    slot = factory.slot(world["doctor"])
    api = ApiClient(app, "anna")
    cid = api.post("/api/v1/consultations", json={"slot_id": slot.id}).json["id"]
    assert [c["id"] for c in api.get("/api/v1/consultations").json] == [cid]
    assert [c["id"] for c in api.get("/api/v1/consultations?when=upcoming").json] == [cid]
    assert api.get("/api/v1/consultations?when=past").json == []
    assert_error(api.get("/api/v1/consultations?when=someday"), 422, "validation_error")
    doctor_api = ApiClient(app, "drt")
    assert [c["id"] for c in doctor_api.get("/api/v1/consultations").json] == [cid]
    assert doctor_api.get(f"/api/v1/consultations/{cid}").json["patient"]["id"] == world["patient"].id
    factory.member("boris", contract=world["contract"])
    boris = ApiClient(app, "boris")
    assert_error(boris.get(f"/api/v1/consultations/{cid}"), 404, "not_found")
    assert_error(boris.post(f"/api/v1/consultations/{cid}/cancel"), 404, "not_found")
    assert boris.get("/api/v1/consultations").json == []
    r = api.post(f"/api/v1/consultations/{cid}/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert slot.id in [s["id"] for s in api.get(f"/api/v1/doctors/{world['doctor'].id}/slots").json]


def test_twenty_simultaneous_api_bookings_one_wins(app, factory, world):
    users = [factory.member(f"racer{i}", contract=world["contract"])[0] for i in range(20)]
    clients = [ApiClient(app, u.username) for u in users]
    slot = factory.slot(world["doctor"])
    barrier, statuses = threading.Barrier(20), []

    def attempt(api):
        barrier.wait()
        r = api.post("/api/v1/consultations", json={"slot_id": slot.id})
        statuses.append((r.status_code, (r.json.get("error") or {}).get("code")))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=str) == sorted([(201, None)] + [(409, "slot_taken")] * 19, key=str)

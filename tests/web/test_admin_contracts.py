"""Admins set up contracts and programmes through the API; everyone else is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from telemed.members.models import Contract
from tests.support.clients import ApiClient, page_login
from tests.web.test_api_auth import assert_error

BASE = "/api/v1/admin/contracts"


def contract_body(**kw):
    today = date.today()
    return {
        "number": "ДМС-2026/17",
        "client": "ООО «Ромашка»",
        "starts_on": (today - timedelta(days=30)).isoformat(),
        "ends_on": (today + timedelta(days=335)).isoformat(),
        "covered_specialties": ["therapist", "pediatrician", "psychologist"],
        **kw,
    }


@pytest.fixture
def admin(app, factory):
    factory.user("root", role="admin")
    return ApiClient(app, "root")


def test_an_admin_creates_reads_lists_and_changes_a_contract(app, db, admin):
    r = admin.post(BASE, json=contract_body())
    assert r.status_code == 201, r.json
    created = r.json
    assert created == {
        "id": created["id"],
        "number": "ДМС-2026/17",
        "client": "ООО «Ромашка»",
        "starts_on": contract_body()["starts_on"],
        "ends_on": contract_body()["ends_on"],
        "telemedicine": True,
        "urgent": True,
        "covered_specialties": ["therapist", "pediatrician", "psychologist"],
        "psychologist_limit": 3,
    }
    assert admin.get(f"{BASE}/{created['id']}").json == created
    assert [c["id"] for c in admin.get(BASE).json] == [created["id"]]

    r = admin.put(f"{BASE}/{created['id']}", json={"urgent": False, "psychologist_limit": 5})
    assert r.status_code == 200, r.json
    assert (r.json["urgent"], r.json["psychologist_limit"], r.json["client"]) == (False, 5, "ООО «Ромашка»")
    with db.session() as s:
        row = s.get(Contract, created["id"])
        assert (row.urgent, row.psychologist_limit) == (False, 5)


def test_contract_input_is_checked(admin):
    assert admin.post(BASE, json=contract_body()).status_code == 201
    assert_error(admin.post(BASE, json=contract_body()), 409, "conflict")
    assert_error(
        admin.post(BASE, json=contract_body(number="X", covered_specialties=["astrologer"])),
        422,
        "validation_error",
    )
    assert_error(
        admin.post(BASE, json=contract_body(number="Y", ends_on="2000-01-01")), 422, "validation_error"
    )
    assert_error(
        admin.post(BASE, json=contract_body(number="Z", psychologist_limit=-1)), 422, "validation_error"
    )
    assert_error(admin.post(BASE, json=contract_body(number="W", colour="red")), 422, "validation_error")
    assert_error(admin.post(BASE, json={"number": "V"}), 422, "validation_error")
    assert_error(admin.get(f"{BASE}/999999"), 404, "not_found")


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_every_admin_endpoint_refuses_other_roles(app, factory, role):
    contract = factory.contract()
    factory.user("someone", role=role)
    client = ApiClient(app, "someone")
    calls = [
        client.post(BASE, json=contract_body()),
        client.get(BASE),
        client.get(f"{BASE}/{contract.id}"),
        client.put(f"{BASE}/{contract.id}", json={"urgent": False}),
        client.post(
            f"{BASE}/{contract.id}/insured?dry_run=1",
            data={"file": (__import__("io").BytesIO(b"policy_number\n"), "list.csv")},
            content_type="multipart/form-data",
        ),
    ]
    for r in calls:
        assert_error(r, 403, "forbidden")


def test_anonymous_callers_get_401(app, factory):
    contract = factory.contract()
    client = app.test_client()
    assert_error(client.post(BASE, json=contract_body()), 401, "not_authenticated")
    assert_error(client.get(BASE), 401, "not_authenticated")
    assert_error(client.put(f"{BASE}/{contract.id}", json={}), 401, "not_authenticated")
    assert_error(client.post(f"{BASE}/{contract.id}/insured"), 401, "not_authenticated")


def test_urgent_off_refuses_new_urgent_requests_and_keeps_booked_ones(app, db, factory, admin):
    contract = factory.contract()
    factory.member("anna", contract=contract)
    factory.doctor("therapist")
    anna = ApiClient(app, "anna")
    r = anna.post("/api/v1/urgent", json={"reason": "Температура"})
    assert r.status_code == 201, r.json
    waiting = r.json["id"]
    assert admin.put(f"{BASE}/{contract.id}", json={"urgent": False}).status_code == 200
    assert anna.get(f"/api/v1/consultations/{waiting}").json["status"] == "waiting"  # untouched
    assert anna.post(f"/api/v1/consultations/{waiting}/cancel", json={}).status_code == 200
    assert_error(anna.post("/api/v1/urgent", json={"reason": "Снова"}), 422, "not_covered")
    with db.session() as s:
        assert s.scalar(select(Contract.urgent).where(Contract.id == contract.id)) is False


def test_a_programme_change_keeps_bookings_and_entitlements_follow_it(app, db, factory, admin):
    """Changing the programme never touches what is booked; from the change on, what the member may
    book and sees as their entitlement follows the new programme."""
    contract = factory.contract(specialties=["therapist", "psychologist"], psychologist_limit=3)
    member, patient = factory.member("anna", contract=contract)
    psychologist, therapist = factory.doctor("psychologist"), factory.doctor("therapist")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    booked_slot, second_slot = (
        factory.slot(psychologist, start),
        factory.slot(psychologist, start + timedelta(hours=1)),
    )
    anna = ApiClient(app, "anna")
    r = anna.post("/api/v1/consultations", json={"slot_id": booked_slot.id})
    assert r.status_code == 201, r.json
    booked = r.json["id"]
    assert anna.get("/api/v1/me").json["entitlements"]["psychologist"][str(patient.id)] == {
        "limit": 3,
        "used": 1,
        "left": 2,
    }

    assert admin.put(f"{BASE}/{contract.id}", json={"psychologist_limit": 1}).status_code == 200
    assert anna.get("/api/v1/me").json["entitlements"]["psychologist"][str(patient.id)] == {
        "limit": 1,
        "used": 1,
        "left": 0,
    }
    assert_error(anna.post("/api/v1/consultations", json={"slot_id": second_slot.id}), 422, "limit_reached")

    r = admin.put(
        f"{BASE}/{contract.id}", json={"covered_specialties": ["therapist"], "psychologist_limit": 3}
    )
    assert r.status_code == 200, r.json
    me = anna.get("/api/v1/me").json
    assert me["policy"]["contract"]["covered_specialties"] == ["therapist"]
    assert_error(anna.post("/api/v1/consultations", json={"slot_id": second_slot.id}), 422, "not_covered")
    assert anna.get(f"/api/v1/consultations/{booked}").json["status"] == "scheduled"  # kept as booked
    assert (
        anna.post("/api/v1/consultations", json={"slot_id": factory.slot(therapist, start).id}).status_code
        == 201
    )


def test_the_pages_offer_what_the_programme_covers_from_the_change_on(app, factory, admin):
    contract = factory.contract(specialties=["therapist", "pediatrician", "psychologist"])
    factory.member("anna", contract=contract)
    page = page_login(app, "anna")

    def tile(code: str) -> str:
        html = page.get("/consultations/new").text
        start = html.index(f'data-code="{code}"')
        return html[html.rindex("<li>", 0, start) : html.index("</li>", start)]

    assert "href" in tile("psychologist") and "href" not in tile("cardiologist")
    assert 'aria-disabled="true"' in tile("cardiologist") and "Не входит в вашу программу" in tile(
        "cardiologist"
    )
    assert "urgent-request" in page.get("/cabinet").text

    r = admin.put(f"{BASE}/{contract.id}", json={"covered_specialties": ["therapist"], "urgent": False})
    assert r.status_code == 200, r.json
    assert "href" not in tile("psychologist") and "Не входит в вашу программу" in tile("psychologist")
    assert "href" in tile("therapist")
    assert "urgent-request" not in page.get("/cabinet").text  # urgent care is no longer offered
    assert "urgent-request" not in page.get("/consultations/new/therapist").text

    assert admin.put(f"{BASE}/{contract.id}", json={"telemedicine": False}).status_code == 200
    assert "href" not in tile("therapist")

"""Who cancels a consultation, and the reason a doctor must give (API and pages)."""

import re

import pytest

from tests.support.clients import ApiClient, csrf_token, page_login, text_of
from tests.web.test_api_auth import assert_error
from tests.web.test_api_booking import world  # noqa: F401  (fixture)


@pytest.fixture
def booked(app, factory, world):  # noqa: F811
    slot = factory.slot(world["doctor"])
    r = ApiClient(app, "anna").post("/api/v1/consultations", json={"slot_id": slot.id})
    assert r.status_code == 201
    return r.json


def test_the_doctor_cancels_only_with_a_reason(app, booked):
    doctor = ApiClient(app, "drt")
    url = f"/api/v1/consultations/{booked['id']}/cancel"
    assert_error(doctor.post(url), 422, "validation_error")
    assert_error(doctor.post(url, json={"reason": "   "}), 422, "validation_error")
    assert ApiClient(app, "anna").get(f"/api/v1/consultations/{booked['id']}").json["status"] == "scheduled"
    r = doctor.post(url, json={"reason": "Врач заболел"})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    seen = ApiClient(app, "anna").get(f"/api/v1/consultations/{booked['id']}").json
    assert seen["status"] == "cancelled" and seen["cancel_reason"] == "Врач заболел"


def test_the_member_cancels_without_a_reason(app, booked):
    r = ApiClient(app, "anna").post(f"/api/v1/consultations/{booked['id']}/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled" and r.json["cancel_reason"] is None


def test_strangers_and_records_staff_cannot_cancel(app, factory, world, booked):  # noqa: F811
    factory.member("boris", contract=world["contract"])
    factory.user("rec", role="records")
    for who in ("boris", "rec"):
        r = ApiClient(app, who).post(f"/api/v1/consultations/{booked['id']}/cancel", json={"reason": "x"})
        assert_error(r, 404, "not_found")


def test_a_reason_that_is_not_text_is_refused(app, booked):
    r = ApiClient(app, "drt").post(f"/api/v1/consultations/{booked['id']}/cancel", json={"reason": 5})
    assert_error(r, 422, "validation_error")


def test_the_doctor_cancels_from_the_page_and_the_member_reads_why(app, booked):
    doctor = page_login(app, "drt")
    page = doctor.get(f"/consultations/{booked['id']}").text
    assert re.search(r'<textarea name="reason"[^>]*required', page)
    action = re.search(r'action="(/consultations/\d+/cancel)"', page).group(1)
    refused = doctor.post(
        action, data={"csrf_token": csrf_token(page)}
    )  # no reason: refused, nothing changes
    assert refused.status_code == 302
    assert ApiClient(app, "anna").get(f"/api/v1/consultations/{booked['id']}").json["status"] == "scheduled"
    doctor.post(action, data={"csrf_token": csrf_token(page), "reason": "Перенос по болезни врача"})
    member_page = text_of(page_login(app, "anna").get(f"/consultations/{booked['id']}").text)
    assert "Отменена" in member_page and "Перенос по болезни врача" in member_page


def test_the_members_page_has_no_reason_field(app, booked):
    page = page_login(app, "anna").get(f"/consultations/{booked['id']}").text
    assert 'action="/consultations/' in page and 'name="reason"' not in page

"""A member finds the referrals of a signed conclusion in Chromium and books the specialist in one tap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import otp
from tests.support.clients import ApiClient
from tests.support.factories import PASSWORD, make_consultation

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def signed(app, factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    cardiologist = factory.doctor("cardiologist", username="drc", name="Кардиолог Карина")
    factory.slot(
        cardiologist, datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=2)
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    drt = ApiClient(app, "drt")
    body = {
        "diagnosis": {"icd10": "I10", "text": "Гипертензия"},
        "referrals": [
            {"kind": "test", "code": "A05.10.006"},
            {"kind": "specialist", "specialty": "cardiologist", "note": "плановая консультация"},
        ],
    }
    assert (
        drt.client.put(
            f"/api/v1/consultations/{c.id}/conclusion", json=body, headers=drt._headers()
        ).status_code
        == 200
    )
    r = drt.post(
        f"/api/v1/consultations/{c.id}/conclusion/sign",
        json={"password": PASSWORD, "otp": otp.next_code("drt")},
    )
    assert r.status_code == 200, r.json
    return c


def test_the_member_opens_referrals_from_the_cabinet_and_books_the_specialist(signed, logged_in_page):
    member = logged_in_page("anna", viewport=PHONE)
    member.goto("/cabinet")
    member.click("#referrals-link a[href='/referrals']")
    member.wait_for_selector("#referrals[data-count='2']")
    text = member.text_content("#referrals")
    assert (
        "A05.10.006" in text and "Регистрация электрокардиограммы" in text and "плановая консультация" in text
    )
    assert "только в клинике" in member.text_content(".notice")
    assert member.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    member.click(".book-referral")
    member.wait_for_url("**/consultations/new/cardiologist")
    assert "Кардиолог Карина" in member.text_content("main")

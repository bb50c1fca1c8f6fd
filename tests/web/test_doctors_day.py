"""A doctor's day: the schedule with past days and filters, the patient's age and guardian on each
row; the consultation page links to the e-card, shows earlier conclusions (need-to-know applies)
and whether the patient is waiting in the room."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from telemed.video.models import RoomPresence
from tests.support import otp
from tests.support.clients import ApiClient, page_login
from tests.support.factories import PASSWORD, make_consultation
from tests.web.test_records_api import DRAFT, signed


@pytest.fixture
def w(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    psy = factory.doctor("psychologist", username="psy", name="Психолог Павел")
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "anna": anna,
        "patient": patient,
        "child": child,
        "doctor": doctor,
        "psy": psy,
        "contract": contract,
        "now": now,
        "make": lambda patient, start, status="scheduled", doc=doctor: make_consultation(
            factory, anna, patient, doc, contract, start=start, status=status
        ),
    }


def rows(page: str) -> dict[int, str]:
    return {
        int(m[1]): m[2] for m in re.finditer(r'<li class="row[^"]*" data-id="(\d+)">(.*?)</li>', page, re.S)
    }


def test_the_schedule_has_past_days_and_filters(app, w):
    now = w["now"]
    held = w["make"](w["patient"], now - timedelta(days=2), "completed")
    done = w["make"](w["patient"], now - timedelta(days=3), "in_progress")
    ahead = w["make"](w["child"], now + timedelta(days=1))
    signed(app, done.id)  # its conclusion is signed: not pending
    doctor = page_login(app, "drt")
    upcoming = rows(doctor.get("/schedule").text)
    assert set(upcoming) == {ahead.id}
    child_row = upcoming[ahead.id]
    age = 8 if (now.month, now.day) >= (2, 3) else 7
    assert f"{age} лет" in child_row  # the age, in Russian plural
    assert "03.02.2018" in child_row and w["anna"].full_name in child_row  # birth date, guardian
    past = rows(doctor.get("/schedule?view=past").text)
    assert list(past) == [held.id, done.id]  # newest first
    pending = rows(doctor.get("/schedule?view=past&only=pending").text)
    assert list(pending) == [held.id]
    assert rows(doctor.get("/schedule?view=past&only=urgent").text) == {}
    assert rows(doctor.get("/schedule?view=nonsense").text) == upcoming  # unknown values fall back


def test_the_consultation_page_links_the_record_and_shows_earlier_conclusions(app, db, w):
    now = w["now"]
    earlier = w["make"](w["patient"], now - timedelta(days=5), "in_progress")
    signed(app, earlier.id)
    therapy = w["make"](w["patient"], now - timedelta(days=4), "in_progress", w["psy"])
    psy = ApiClient(app, "psy")
    psy.client.put(
        f"/api/v1/consultations/{therapy.id}/conclusion",
        json={**DRAFT, "diagnosis": {"text": "Тревога"}},
        headers=psy._headers(),
    )
    assert (
        psy.post(
            f"/api/v1/consultations/{therapy.id}/conclusion/sign",
            json={"password": PASSWORD, "otp": otp.next_code("psy")},
        ).status_code
        == 200
    )
    today = w["make"](w["patient"], now + timedelta(minutes=30))
    doctor = page_login(app, "drt")
    page = doctor.get(f"/consultations/{today.id}").text
    assert f'href="/patients/{w["patient"].id}/record"' in page
    history = re.search(r'<section class="card history" id="history">(.*?)</section>', page, re.S)[1]
    assert "ОРВИ" in history and "Тревога" not in history and history.count("<li") == 2  # one restricted
    assert 'id="patient-waiting"' not in page
    with db.transaction() as s:
        s.add(
            RoomPresence(
                sid="member-sid",
                consultation_id=today.id,
                user_id=w["anna"].id,
                process_id="p",
                joined_at=now,
                seen_at=now,
            )
        )
    assert 'id="patient-waiting"' in doctor.get(f"/consultations/{today.id}").text
    member = page_login(app, "anna").get(f"/consultations/{today.id}").text
    assert 'id="history"' not in member and 'id="patient-waiting"' not in member

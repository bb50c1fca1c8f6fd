"""Admin pages: doctors (list, add, profile, weekly hours, days off, slots) and the duty roster with
its gaps; Russian by default; other roles are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from telemed.scheduling.models import Consultation, Slot
from tests.support.clients import csrf_token, page_login
from tests.support.factories import make_consultation


@pytest.fixture
def admin_page(factory):
    factory.user("adm", role="admin", consent=False)
    return page_login(factory.app, "adm")


def test_an_admin_adds_a_doctor_sets_hours_and_creates_slots(app, factory, admin_page):
    page = admin_page.get("/admin/doctors")
    assert page.status_code == 200 and "Добавить врача" in page.text
    token = csrf_token(page.text)
    form = {
        "csrf_token": token,
        "full_name": "Смирнов Олег",
        "specialty": "cardiologist",
        "career_start": "2015-09-01",
        "education": "Первый МГМУ",
        "is_active": "1",
    }
    bad = admin_page.post("/admin/doctors", data={**form, "career_start": ""})
    assert bad.status_code == 422 and "Смирнов Олег" in bad.text
    r = admin_page.post("/admin/doctors", data=form)
    assert r.status_code == 302
    url = r.headers["Location"]
    page = admin_page.get(url)
    assert page.status_code == 200 and "Понедельник" in page.text and "Смирнов Олег" in page.text
    hours = {"csrf_token": token, "slot_minutes": "60", "timezone": "Europe/Moscow", "on_booked": ""}
    hours |= {f"start_{d}": "10:00" for d in range(5)} | {f"end_{d}": "14:00" for d in range(5)}
    assert admin_page.post(f"{url}/template", data=hours).status_code == 302
    assert admin_page.post(f"{url}/generate", data={"csrf_token": token, "days": "7"}).status_code == 302
    doctor_id = int(url.rsplit("/", 1)[1])
    with factory.db.session() as s:
        assert 16 <= s.scalar(select(func.count()).select_from(Slot).where(Slot.doctor_id == doctor_id)) <= 20
    page = admin_page.get(url)
    assert 'value="10:00"' in page.text


def test_removing_booked_hours_on_the_page_lists_them_then_cancels(app, factory, admin_page):
    doctor = factory.doctor()
    contract = factory.contract()
    user, patient = factory.member(contract=contract)
    c = make_consultation(
        factory, user, patient, doctor, contract, start=datetime.now(UTC) + timedelta(days=3)
    )
    url = f"/admin/doctors/{doctor.id}"
    token = csrf_token(admin_page.get(url).text)
    data = {"csrf_token": token, "slot_minutes": "30", "timezone": "Europe/Moscow", "on_booked": ""}
    r = admin_page.post(f"{url}/template", data=data)
    assert r.status_code == 409 and f'data-id="{c.id}"' in r.text
    r = admin_page.post(f"{url}/template", data={**data, "on_booked": "cancel", "reason": "Врач уволился"})
    assert r.status_code == 302
    with factory.db.session() as s:
        assert s.get(Consultation, c.id).status == "cancelled"


def test_the_roster_page_shows_gaps_and_plans_a_shift(app, factory, admin_page):
    doctor = factory.doctor("pediatrician", name="Педиатр Петрова")
    page = admin_page.get("/admin/roster")
    assert page.status_code == 200 and "Дежурства" in page.text or "График дежурств" in page.text
    assert page.text.count('class="gap"') >= 2 * 168  # nobody planned: every hour of both is a gap
    start = (datetime.now(UTC) + timedelta(hours=3)).astimezone().replace(tzinfo=None)
    r = admin_page.post(
        "/admin/roster",
        data={
            "csrf_token": csrf_token(page.text),
            "doctor_id": str(doctor.id),
            "specialty": "pediatrician",
            "starts_at": start.strftime("%Y-%m-%dT%H:00"),
            "ends_at": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:00"),
        },
    )
    assert r.status_code == 302
    page = admin_page.get("/admin/roster")
    assert "Педиатр Петрова" in page.text
    assert page.text.count('class="gap"') < 2 * 168


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_other_roles_cannot_open_the_admin_pages(app, factory, role):
    doctor = factory.doctor()
    factory.user("someone", role=role)
    client = page_login(app, "someone")
    for url in ("/admin/doctors", f"/admin/doctors/{doctor.id}", "/admin/roster"):
        assert client.get(url).status_code == 403

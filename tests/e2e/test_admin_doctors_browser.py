"""An admin in Chromium: adds a doctor, sets the weekly hours and creates the slots; a member books
one; the admin removes those hours, is asked what to do with the booking, keeps the proposed hours
and cancels it with a reason (the member is told); plans the doctor on urgent duty on the roster
and takes the shift off again. (The admin pages' axe and tap-target check is in
``test_admin_contracts_browser``.)"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from telemed.catalog.models import Doctor
from telemed.notifications.models import Notification
from telemed.scheduling.models import Consultation, Slot
from telemed.urgent.models import PlannedShift
from tests.e2e.test_accessibility import (
    DESKTOP,
    open_as,  # noqa: F401  (fixture)
    visit,
)
from tests.support.clients import ApiClient

pytestmark = pytest.mark.e2e
NAME = "Кузнецова Мария Ивановна"


@pytest.fixture
def admin(factory):
    factory.user("adm", role="admin", consent=False)


def _add_doctor(page) -> int:
    visit(page, "/admin/doctors")
    page.fill("input[name=full_name]", NAME)
    page.select_option("select[name=specialty]", "therapist")
    page.fill("input[name=career_start]", "2012-09-01")
    page.fill("textarea[name=education]", "РНИМУ им. Н. И. Пирогова, 2011")
    page.get_by_role("button", name="Добавить").click()
    page.wait_for_url("**/admin/doctors/*")
    assert "Врач добавлен" in page.locator(".flash").first.text_content()
    return int(page.url.rsplit("/", 1)[1])


def test_an_admin_adds_a_doctor_with_hours_and_cancels_a_booking_by_removing_them(
    app,
    db,
    factory,
    admin,
    open_as,  # noqa: F811
):
    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    page = open_as("adm", DESKTOP)
    doctor_id = _add_doctor(page)

    for day in range(7):
        page.fill(f"input[name=start_{day}]", "09:00")
        page.fill(f"input[name=end_{day}]", "12:00")
    page.get_by_role("button", name="Сохранить часы").click()
    page.wait_for_url(f"**/admin/doctors/{doctor_id}")
    page.fill("input[name=days]", "7")
    page.get_by_role("button", name="Создать слоты").click()
    page.wait_for_url(f"**/admin/doctors/{doctor_id}")
    with db.session() as s:
        slots = s.scalars(select(Slot).where(Slot.doctor_id == doctor_id).order_by(Slot.starts_at)).all()
    assert 30 <= len(slots) <= 42  # 6 a day for 7 days, less the hours of today that are past
    for slot in slots:
        local = slot.starts_at.astimezone(zone)
        assert time(9) <= local.time() < time(12) and slot.ends_at - slot.starts_at == timedelta(minutes=30)

    contract = factory.contract()
    user, patient = factory.member("m1", contract=contract)
    booked_slot = slots[-1]
    r = ApiClient(app, "m1").post("/api/v1/consultations", json={"slot_id": booked_slot.id})
    assert r.status_code == 201, r.json
    consultation_id = r.json["id"]
    weekday = booked_slot.starts_at.astimezone(zone).weekday()

    page.fill(f"input[name=start_{weekday}]", "")
    page.fill(f"input[name=end_{weekday}]", "")
    page.get_by_role("button", name="Сохранить часы").click()  # «Спросить меня» is the default
    alert = page.get_by_role("alert")
    assert alert.locator(f".affected li[data-id='{consultation_id}']").count() == 1
    # the form still shows the hours the admin proposed: only the choice is left to make
    assert page.input_value(f"input[name=start_{weekday}]") == ""
    assert page.input_value(f"input[name=start_{(weekday + 1) % 7}]") == "09:00"
    with db.session() as s:
        assert s.get(Consultation, consultation_id).status == "scheduled"

    page.check("input[name=on_booked][value=cancel]")
    page.fill("input[name=reason]", "Врач переходит на другой график")
    page.get_by_role("button", name="Сохранить часы").click()
    page.wait_for_url(f"**/admin/doctors/{doctor_id}")
    assert "1" in page.locator(".flash").first.text_content()
    assert page.input_value(f"input[name=start_{weekday}]") == ""
    with db.session() as s:
        assert s.get(Consultation, consultation_id).status == "cancelled"
        assert s.scalar(
            select(Notification.id).where(
                Notification.user_id == user.id,
                Notification.kind == "cancelled",
                Notification.consultation_id == consultation_id,
            )
        )
        assert s.get(Doctor, doctor_id).full_name == NAME


def test_an_admin_plans_a_duty_shift_and_takes_it_off(app, db, factory, admin, open_as):  # noqa: F811
    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    doctor = factory.doctor("therapist", name=NAME)
    page = open_as("adm", DESKTOP)
    visit(page, "/admin/roster")
    assert page.locator("ul.gaps[data-specialty=therapist]").count() == 1  # nobody planned: all a gap

    start = datetime.now(zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    page.select_option("select[name=doctor_id]", str(doctor.id))
    page.select_option("select[name=specialty]", "therapist")
    page.fill("input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=ends_at]", (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Запланировать").click()
    page.wait_for_url("**/admin/roster")
    first_hours = page.locator("table.coverage[data-specialty=therapist] tbody tr td")
    assert (
        first_hours.nth(2).text_content().strip() == "1" and first_hours.nth(9).text_content().strip() == "1"
    )
    with db.session() as s:
        shift = s.scalar(select(PlannedShift).where(PlannedShift.doctor_id == doctor.id))
        assert shift.starts_at == start and shift.ends_at == start + timedelta(hours=8)

    page.locator(f"li.shift[data-shift='{shift.id}'] button").click()
    page.wait_for_url("**/admin/roster")
    assert "Дежурство удалено" in page.locator(".flash").first.text_content()
    assert page.locator(f"li.shift[data-shift='{shift.id}']").count() == 0
    with db.session() as s:
        assert s.get(PlannedShift, shift.id) is None

"""Pages: login, logout, cabinet, the booking flow, consent, the doctor's schedule, languages, time zones."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.clients import csrf_token, page_login, text_of
from tests.support.factories import make_consultation, next_slot_start


@pytest.fixture
def world(factory):
    contract = factory.contract()
    user, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша", birth_date=date(2018, 2, 3), guardian=user, contract=contract)
    return {"contract": contract, "user": user, "patient": patient, "child": child}


def test_login_page_is_russian_by_default_and_english_on_request(app):
    client = app.test_client()
    assert "Личный кабинет" in client.get("/login").text
    assert "Personal cabinet" in client.get("/login?lang=en").text
    assert "Personal cabinet" in client.get("/login").text  # the choice sticks


def test_wrong_password_shows_an_error(app, world):
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    r = client.post("/login", data={"username": "anna", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "Неверный логин или пароль" in r.text


def test_login_form_needs_csrf(app, world):
    client = app.test_client()
    client.post("/login", data={"username": "anna", "password": "secret-pass"})
    r = client.get("/cabinet")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    token = csrf_token(client.get("/login").text)
    client.post("/login", data={"username": "anna", "password": "secret-pass", "csrf_token": token})
    assert client.get("/cabinet").status_code == 200


def test_anonymous_is_sent_to_login(app):
    r = app.test_client().get("/cabinet")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_logout_invalidates_the_session_on_the_server(app, world):
    client = page_login(app, "anna")
    assert client.get("/cabinet").status_code == 200
    stolen = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/cabinet").text)})
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    r = replay.get("/cabinet")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_cabinet_lists_teleconsultations_and_the_psychologist_quota(app, factory, world):
    psych = factory.doctor("psychologist")
    page_client = page_login(app, "anna")
    slot = factory.slot(psych)
    token = csrf_token(page_client.get(f"/consultations/new/slot/{slot.id}").text)
    page_client.post(
        f"/consultations/new/slot/{slot.id}", data={"csrf_token": token, "patient_id": world["patient"].id}
    )
    text = text_of(page_client.get("/cabinet").text)
    assert "Телеконсультации" in text and "Новая консультация" in text
    assert "осталось 2 из 3" in text
    assert "Психолог · " + psych.full_name in text


def test_booking_flow_from_specialty_to_booked(app, factory, world):
    senior = factory.doctor("pediatrician", career_start=date(2001, 1, 1), name="Старшая Анна")
    junior = factory.doctor("pediatrician", career_start=date(2020, 1, 1), name="Младший Иван")
    slot = factory.slot(senior, next_slot_start(days=1, hour=7))
    factory.slot(junior)
    client = page_login(app, "anna")
    specialties = client.get("/consultations/new").text
    assert "/consultations/new/pediatrician" in specialties and "Педиатр" in specialties
    doctors = text_of(client.get("/consultations/new/pediatrician").text)
    assert doctors.index("Старшая Анна") < doctors.index("Младший Иван")
    assert "стаж" in doctors
    reversed_order = text_of(client.get("/consultations/new/pediatrician?sort=experience_asc").text)
    assert reversed_order.index("Младший Иван") < reversed_order.index("Старшая Анна")
    slots = client.get(f"/consultations/new/doctor/{senior.id}").text
    assert f"/consultations/new/slot/{slot.id}" in slots
    confirm = client.get(f"/consultations/new/slot/{slot.id}").text
    assert "Миша" in confirm
    r = client.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(confirm), "patient_id": world["child"].id, "reason": "Жар"},
    )
    assert r.status_code == 302
    page = text_of(client.get(r.headers["Location"]).text)
    assert "Телеконсультация назначена" in page and "Миша" in page and "Назначена" in page


def test_a_refused_booking_shows_the_reason(app, factory, world):
    slot = factory.slot(factory.doctor("psychologist"))
    client = page_login(app, "anna")
    confirm = client.get(f"/consultations/new/slot/{slot.id}").text
    r = client.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(confirm), "patient_id": world["child"].id},
        headers={"Referer": f"/consultations/new/slot/{slot.id}"},
        follow_redirects=True,
    )
    assert "только взрослых" in r.text


def test_slots_are_shown_in_the_viewers_time_zone(app, factory, world):
    doctor = factory.doctor()
    start = next_slot_start(days=2, hour=1)  # 01:00 UTC
    factory.slot(doctor, start)
    client = page_login(app, "anna")
    client.set_cookie("tz", "Asia/Vladivostok")  # UTC+10
    vladivostok = client.get(f"/consultations/new/doctor/{doctor.id}").text
    assert re.search(r">\s*11:00\s*<", vladivostok) and "Asia/Vladivostok" in vladivostok
    client.set_cookie("tz", "America/New_York")
    new_york = client.get(f"/consultations/new/doctor/{doctor.id}").text
    local = (start - timedelta(hours=5 if start.astimezone(UTC).month in (11, 12, 1, 2) else 4)).strftime(
        "%H:%M"
    )
    assert re.search(rf">\s*{local}\s*<", new_york)


def test_cancel_from_the_page(app, factory, world):
    slot = factory.slot(factory.doctor())
    client = page_login(app, "anna")
    confirm = client.get(f"/consultations/new/slot/{slot.id}").text
    location = client.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(confirm), "patient_id": world["patient"].id},
    ).headers["Location"]
    page = client.get(location).text
    action = re.search(r'action="(/consultations/\d+/cancel)"', page).group(1)
    client.post(action, data={"csrf_token": csrf_token(page)})
    assert "Отменена" in text_of(client.get(location).text)


def test_consent_page_accept_and_withdraw(app, factory):
    factory.member("newbie", contract=factory.contract(), consent=False)
    client = page_login(app, "newbie")
    assert "примите согласие" in client.get("/cabinet").text
    page = client.get("/consent").text
    client.post("/consent", data={"csrf_token": csrf_token(page), "action": "accept"})
    assert "Отозвать согласие" in client.get("/consent").text
    client.post("/consent", data={"csrf_token": csrf_token(page), "action": "withdraw"})
    assert "Принимаю" in client.get("/consent").text


def test_doctor_sees_the_booking_in_the_schedule(app, factory, world):
    doctor = factory.doctor(username="drt")
    slot = factory.slot(
        doctor, datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    )
    member = page_login(app, "anna")
    confirm = member.get(f"/consultations/new/slot/{slot.id}").text
    member.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(confirm), "patient_id": world["patient"].id, "reason": "Давление"},
    )
    doc = page_login(app, "drt")
    text = text_of(doc.get("/schedule").text)
    assert "Моё расписание" in text and world["user"].full_name in text and "Давление" in text
    assert page_login(app, "anna").get("/schedule").status_code == 404


def test_a_stranger_gets_404_on_someone_elses_consultation_page(app, factory, world):
    slot = factory.slot(factory.doctor())
    client = page_login(app, "anna")
    confirm = client.get(f"/consultations/new/slot/{slot.id}").text
    location = client.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(confirm), "patient_id": world["patient"].id},
    ).headers["Location"]
    factory.member("boris", contract=world["contract"])
    assert page_login(app, "boris").get(location).status_code == 404


def test_pages_fit_a_phone(app, world):
    html = page_login(app, "anna").get("/cabinet").text
    assert 'name="viewport" content="width=device-width' in html


def room_i18n(html: str) -> dict:
    """The room page's UI strings (the JSON blob static/js/room/main.js reads)."""
    match = re.search(r'<script type="application/json" class="room-i18n">(.*?)</script>', html, re.S)
    assert match, "no room-i18n blob on the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("minutes", "russian", "english"),
    [(15, "за 15 минут до начала", "15 minutes before"), (2, "за 2 минуты до начала", "2 minutes before")],
    ids=["15", "2"],
)
def test_room_page_says_how_early_the_room_opens_from_the_config(
    app, factory, world, minutes, russian, english
):
    app.config["ROOM_EARLY_JOIN_MINUTES"] = minutes
    doctor = factory.doctor(username="drt")
    start = datetime.now(UTC) + timedelta(days=1)
    c = make_consultation(factory, world["user"], world["patient"], doctor, world["contract"], start=start)
    client = page_login(app, "anna")
    html = client.get(f"/consultations/{c.id}/room").text
    assert f'data-early-minutes="{minutes}"' in html
    assert russian in room_i18n(html)["opens_at"]
    assert english in room_i18n(client.get(f"/consultations/{c.id}/room?lang=en").text)["opens_at"]


def test_a_used_up_psychologist_quota_is_shown_on_its_tile_not_refused_at_the_last_step(app, factory, world):
    client = page_login(app, "anna")

    def tile() -> str:
        page = client.get("/consultations/new").text
        return re.search(
            r'<li>\s*<(a|div) class="tile[^"]*"[^>]*data-code="psychologist".*?</(a|div)>', page, re.S
        )[0]

    assert tile().startswith("<li>") and 'href="/consultations/new/psychologist"' in tile()
    psych = factory.doctor("psychologist")
    start = datetime.now(UTC) - timedelta(days=3)
    for i in range(3):
        make_consultation(
            factory,
            world["user"],
            world["patient"],
            psych,
            world["contract"],
            start=start + timedelta(hours=i),
        )
    used_up = tile()
    assert "href" not in used_up and 'aria-disabled="true"' in used_up
    assert "0 из 3" in used_up and "исчерпаны" in used_up


def test_cancelling_asks_first_and_cancelled_visits_are_listed_apart(app, factory, world):
    doctor = factory.doctor("therapist")
    now = datetime.now(UTC)
    ahead = make_consultation(
        factory, world["user"], world["patient"], doctor, world["contract"], start=now + timedelta(days=2)
    )
    make_consultation(
        factory,
        world["user"],
        world["patient"],
        doctor,
        world["contract"],
        start=now - timedelta(days=2),
        status="completed",
    )
    client = page_login(app, "anna")
    page = client.get(f"/consultations/{ahead.id}").text
    confirm = re.search(r'<details class="cancel-confirm">.*?</details>', page, re.S)[0]
    assert "Отменить консультацию" in confirm and "Да, отменить" in confirm and "нельзя вернуть" in confirm
    token = csrf_token(page)
    assert client.post(f"/consultations/{ahead.id}/cancel", data={"csrf_token": token}).status_code == 302
    cabinet = client.get("/cabinet").text
    previous = re.search(r'id="previous">(.*?)</ul>', cabinet, re.S)[1]
    cancelled = re.search(r'id="cancelled">(.*?)</ul>', cabinet, re.S)[1]
    assert f"/consultations/{ahead.id}" in cancelled and f"/consultations/{ahead.id}" not in previous
    assert previous.count("<li") == 1

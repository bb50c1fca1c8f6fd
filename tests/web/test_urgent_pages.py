"""Pages of the urgent queue: the request form, the waiting view, the duty desk, «Завершить приём»."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from telemed.worker import run_due
from tests.support import urgent as u
from tests.support.clients import csrf_token, page_login, text_of


@pytest.fixture
def w(factory):
    return u.world(factory)


def request_form(client, page="/cabinet", **data):
    html = client.get(page).text
    return client.post(
        "/urgent/request", data={"csrf_token": csrf_token(html), **data}, headers={"Referer": page}
    )


def test_the_cabinet_offers_an_urgent_consultation_for_self_or_a_child(app, w):
    client = page_login(app, "anna")
    page = client.get("/cabinet").text
    assert 'action="/urgent/request"' in page
    text = text_of(page)
    assert "Срочная консультация" in text
    assert f"{w['patient'].full_name} (вы) · Терапевт" in text and "Kid · Педиатр" in text


def test_the_therapist_and_pediatrician_pages_offer_it_for_whom_it_fits(app, w):
    client = page_login(app, "anna")
    therapist = text_of(client.get("/consultations/new/therapist").text)
    assert "Срочная консультация" in therapist and "Kid" not in therapist
    pediatrician = text_of(client.get("/consultations/new/pediatrician").text)
    assert "Kid · Педиатр" in pediatrician and w["patient"].full_name not in pediatrician
    assert "/urgent/request" not in client.get("/consultations/new/cardiologist").text


def test_a_request_leads_to_the_waiting_view(app, w):
    client = page_login(app, "anna")
    r = request_form(client, patient_id=w["child"].id, reason="Жар")
    assert r.status_code == 302
    match = re.fullmatch(r".*/consultations/(\d+)", r.headers["Location"])
    assert match
    page = client.get(r.headers["Location"]).text
    text = text_of(page)
    assert "Ваше место в очереди: 1" in text
    assert "Сейчас нет врачей на дежурстве" in text and "заявка принята" in text
    assert 'id="room" hidden' in page and "js/urgent/waiting.js" in page
    assert "Проверить камеру и связь" in text and "Отменить консультацию" in text
    assert 'id="chat"' in page
    assert "Открыть видеокомнату" not in text


def test_the_estimate_shows_with_a_doctor_on_duty(app, w):
    u.set_duty(app, u.user_of(app, "drt1"))
    client = page_login(app, "anna")
    page = client.get(request_form(client).headers["Location"]).text
    assert "Ожидание: примерно 0–5 мин" in text_of(page)


def test_refusals_are_shown_on_the_page(app, factory, w):
    factory.member("newbie", contract=w["contract"], consent=False)
    client = page_login(app, "newbie")
    r = request_form(client)
    assert r.status_code == 302 and r.headers["Location"].endswith("/cabinet")
    assert "согласие" in text_of(client.get("/cabinet").text)


def test_a_second_request_leads_to_the_open_one(app, w):
    client = page_login(app, "anna")
    first = request_form(client).headers["Location"]
    again = request_form(client, page="/consultations/new/therapist")
    assert again.status_code == 302 and again.headers["Location"] == first
    assert "уже есть срочная консультация" in text_of(client.get(first).text)


def test_the_duty_desk_is_for_therapists_and_pediatricians(app, w):
    assert page_login(app, "anna").get("/duty").status_code == 403
    assert page_login(app, "drc").get("/duty").status_code == 403
    doctor = page_login(app, "drt1")
    page = doctor.get("/duty")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Дежурство · Терапевт" in text and "Вы не на дежурстве" in text
    assert 'role="switch"' in page.text and "js/urgent/desk.js" in page.text
    i18n = json.loads(re.search(r'class="desk-i18n">(.*?)</script>', page.text, re.S).group(1))
    assert i18n["take"] == "Принять"
    assert 'href="/duty"' in doctor.get("/schedule").text
    assert 'href="/duty"' not in page_login(app, "drc").get("/schedule").text
    u.set_duty(app, u.user_of(app, "drt1"))
    assert "Вы на дежурстве" in text_of(doctor.get("/duty").text)


def test_the_doctor_finishes_the_visit_from_the_page(app, w):
    cid = u.ask(app, w["anna"])
    u.claim(app, u.user_of(app, "drt1"), cid)
    member = page_login(app, "anna")
    assert "Завершить приём" not in text_of(member.get(f"/consultations/{cid}").text)
    doctor = page_login(app, "drt1")
    room = doctor.get(f"/consultations/{cid}/room").text
    assert "Завершить приём" in text_of(room)
    page = doctor.get(f"/consultations/{cid}").text
    assert "Завершить приём" in text_of(page)
    r = doctor.post(f"/consultations/{cid}/finish", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    after = text_of(doctor.get(r.headers["Location"]).text)
    assert "Консультация завершена" in after and "Завершить приём" not in after
    assert "Завершена" in text_of(member.get(f"/consultations/{cid}").text)


def test_level_two_offers_the_slot_as_a_one_tap_booking(app, factory, w):
    client = page_login(app, "anna")
    location = request_form(client).headers["Location"]
    slot = factory.slot(w["t2"], datetime.now(UTC) + timedelta(hours=3))
    run_due(app, now=datetime.now(UTC) + 2 * u.settings(app).escalate_after)
    page = client.get(location).text
    text = text_of(page)
    assert "оповещены все врачи специальности" in text
    assert f'action="/consultations/new/slot/{slot.id}"' in page
    assert "Записаться вместо этого" in text and "Therapist Two" in text
    r = client.post(
        f"/consultations/new/slot/{slot.id}",
        data={"csrf_token": csrf_token(page), "patient_id": w["patient"].id},
    )
    assert r.status_code == 302
    still = text_of(client.get(location).text)
    assert "Ваше место в очереди: 1" in still and "Записаться вместо этого" not in still

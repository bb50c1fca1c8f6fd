"""Domain refusals reach a person in their language: Russian on pages and when an API client asks."""

from sqlalchemy import update

from telemed.auth.models import User
from tests.support.clients import ApiClient, csrf_token, page_login, text_of
from tests.web.test_api_booking import world  # noqa: F401  (fixture)

SLOT_TAKEN_RU = "Это время только что занял другой пациент."


def _taken_slot(app, factory, world):  # noqa: F811
    slot = factory.slot(world["doctor"])
    assert ApiClient(app, "anna").post("/api/v1/consultations", json={"slot_id": slot.id}).status_code == 201
    factory.member("boris", contract=world["contract"])
    return slot


def test_the_api_answers_in_english_unless_asked(app, factory, world):  # noqa: F811
    slot = _taken_slot(app, factory, world)
    r = ApiClient(app, "boris").post("/api/v1/consultations", json={"slot_id": slot.id})
    assert r.status_code == 409 and r.json["error"] == {
        "code": "slot_taken",
        "message": "This time slot has just been booked by someone else.",
    }


def test_the_api_answers_in_russian_for_accept_language(app, factory, world):  # noqa: F811
    slot = _taken_slot(app, factory, world)
    api = ApiClient(app, "boris")
    r = api.post(
        "/api/v1/consultations", json={"slot_id": slot.id}, headers={"Accept-Language": "ru-RU,ru;q=0.9"}
    )
    assert r.json["error"]["code"] == "slot_taken" and r.json["error"]["message"] == SLOT_TAKEN_RU
    # parameters are filled into the translated text
    r = api.get("/api/v1/doctors/1/slots?from=2026-01-01T00:00:00", headers={"Accept-Language": "ru"})
    assert r.json["error"]["message"] == "В «from» нужно смещение от UTC, например 2026-05-01T09:00:00+03:00."


def test_the_api_answers_in_the_users_language(app, factory, world):  # noqa: F811
    slot = _taken_slot(app, factory, world)
    with app.extensions["telemed.db"].transaction() as s:
        s.execute(update(User).where(User.username == "boris").values(locale="ru"))
    r = ApiClient(app, "boris").post("/api/v1/consultations", json={"slot_id": slot.id})
    assert r.json["error"]["message"] == SLOT_TAKEN_RU


def test_a_refused_booking_page_shows_the_reason_in_russian(app, factory, world):  # noqa: F811
    slot = _taken_slot(app, factory, world)
    client = page_login(app, "boris")
    page = client.get(f"/consultations/new/slot/{slot.id}").text
    r = client.post(f"/consultations/new/slot/{slot.id}", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert SLOT_TAKEN_RU in text_of(client.get(r.headers["Location"]).text)


def test_an_error_page_is_in_russian(app, world):  # noqa: F811
    assert "Врач не найден." in text_of(page_login(app, "anna").get("/consultations/new/doctor/999999").text)

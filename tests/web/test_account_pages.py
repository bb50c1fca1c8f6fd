"""The «Пароль и сеансы» page: change the password, see and end the active sessions."""

import pytest

from tests.support.clients import ApiClient, csrf_token, page_login, text_of
from tests.support.factories import PASSWORD

NEW = "violet-harbour-quantum-7"


@pytest.mark.parametrize("role", ["member", "doctor", "records", "admin"])
def test_every_role_reaches_the_page_from_the_header(app, factory, role):
    factory.user("someone", role=role)
    browser = page_login(app, "someone")
    landing = browser.get("/", follow_redirects=True).text
    assert 'href="/account"' in landing
    page = text_of(browser.get("/account").text)
    assert "Активные сеансы" in page and "Сменить пароль" in page and "Этот сеанс" in page


def test_anonymous_visitors_are_sent_to_log_in(app):
    r = app.test_client().get("/account")
    assert r.status_code in (302, 401)


def test_the_page_lists_each_session_and_ends_another(app, factory):
    factory.user("anna")
    api = ApiClient(app, "anna")
    browser = page_login(app, "anna")
    page = browser.get("/account", headers={"User-Agent": "Firefox/140"}).text
    assert page.count('class="row"') == 2 and "API" in text_of(page)
    other = next(s for s in api.get("/api/v1/me/sessions").json if s["kind"] == "token")
    assert f"/account/sessions/{other['id']}/end" in page
    r = browser.post(f"/account/sessions/{other['id']}/end", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert api.get("/api/v1/me").status_code == 401
    assert browser.get("/account").text.count('class="row"') == 1


def test_changing_the_password_on_the_page(app, factory):
    factory.user("anna")
    api = ApiClient(app, "anna")
    browser = page_login(app, "anna")
    token = csrf_token(browser.get("/account").text)

    weak = browser.post(
        "/account/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": "qwerty123456"},
    )
    assert weak.status_code == 422 and "слишком легко угадать" in text_of(weak.text)
    wrong = browser.post(
        "/account/password", data={"csrf_token": token, "current_password": "nope", "new_password": NEW}
    )
    assert wrong.status_code == 403 and "Текущий пароль неверен" in text_of(wrong.text)
    assert api.get("/api/v1/me").status_code == 200  # nothing changed yet

    done = browser.post(
        "/account/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": NEW},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Пароль изменён" in text_of(done.text)
    assert api.get("/api/v1/me").status_code == 401  # the other login ended; this page stays
    assert ApiClient(app, "anna", password=NEW).get("/api/v1/me").status_code == 200


def test_another_user_s_session_cannot_be_ended_from_the_page(app, factory):
    factory.user("anna")
    factory.user("boris")
    boris = ApiClient(app, "boris")
    target = boris.get("/api/v1/me/sessions").json[0]["id"]
    browser = page_login(app, "anna")
    token = csrf_token(browser.get("/account").text)
    r = browser.post(
        f"/account/sessions/{target}/end",
        data={"csrf_token": token},
        headers={"Referer": "/account"},
        follow_redirects=True,
    )
    assert "Такого активного сеанса нет" in text_of(r.text)  # a page's refusal: flashed (not_found)
    assert boris.get("/api/v1/me").status_code == 200

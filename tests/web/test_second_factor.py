"""The second factor: staff need an authenticator code at every login (page and API), enrol with a QR
code at their first login, may use each recovery code once; codes are not accepted twice; failed codes
count against the login limits; staff login sessions end when idle; the demo shows the code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from telemed.auth import otp as otp_rules
from tests.conftest import empty_tables, make_app
from tests.support import otp
from tests.support.clients import ApiClient, csrf_token, page_login, pass_second_step
from tests.support.factories import PASSWORD, Factory
from tests.web.test_api_auth import assert_error

TOKEN = "/api/v1/auth/token"


def password_step(client, username: str, password: str = PASSWORD):
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def code_step(client, code: str):
    token = csrf_token(client.get("/login/code").text)
    return client.post("/login/code", data={"code": code, "csrf_token": token})


def is_logged_in(client) -> bool:
    r = client.get("/patients")
    return r.status_code == 200


# --- the web login --------------------------------------------------------------------------------


def test_staff_need_the_code_after_the_password_and_nothing_opens_before(app, factory):
    factory.user("rec", role="records")
    client = app.test_client()
    r = password_step(client, "rec")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    assert not is_logged_in(client)  # the password alone grants nothing
    assert client.get("/api/v1/me").status_code == 401
    wrong = code_step(client, "000000" if otp.code_for() != "000000" else "111111")
    assert wrong.status_code == 401 and not is_logged_in(client)
    pass_second_step(client, "rec")
    assert is_logged_in(client)


def test_a_code_is_accepted_once(app, factory):
    factory.user("rec", role="records")
    code = otp.next_code("rec")
    first, second = app.test_client(), app.test_client()
    password_step(first, "rec")
    assert code_step(first, code).status_code == 302 and is_logged_in(first)
    password_step(second, "rec")
    assert code_step(second, code).status_code == 401 and not is_logged_in(second)  # replayed
    body = {"username": "rec", "password": PASSWORD, "otp": code}
    assert_error(app.test_client().post(TOKEN, json=body), 401, "invalid_otp")


def test_members_log_in_without_a_code_unless_they_turned_it_on(app, factory):
    factory.user("anna")
    client = page_login(app, "anna")  # straight in
    page = client.get("/account/authenticator/enrol")
    assert page.status_code == 200 and "<svg" in page.text
    secret = re.search(r'class="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    token = csrf_token(page.text)
    wrong = client.post("/account/authenticator/enrol", data={"code": "12345", "csrf_token": token})
    assert wrong.status_code == 422
    r = client.post(
        "/account/authenticator/enrol", data={"code": otp.next_code("anna", secret), "csrf_token": token}
    )
    assert r.status_code == 200 and len(re.findall(r"<li><code>", r.text)) == otp_rules.RECOVERY_COUNT
    again = app.test_client()
    assert password_step(again, "anna").headers["Location"].endswith("/login/code")
    assert_error(
        app.test_client().post(TOKEN, json={"username": "anna", "password": PASSWORD}), 401, "otp_required"
    )
    pass_second_step(again, "anna", secret)
    assert again.get("/cabinet").status_code == 200


def test_staff_without_an_authenticator_enrol_at_first_login_and_recovery_codes_work_once(app, factory):
    factory.user("newdoc", role="admin", otp_secret=None)
    body = {"username": "newdoc", "password": PASSWORD, "otp": "123456"}
    r = app.test_client().post(TOKEN, json=body)
    assert_error(r, 401, "otp_required")
    assert "web" in r.json["error"]["message"]
    client = app.test_client()
    r = password_step(client, "newdoc")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol")
    assert page.status_code == 200 and "<svg" in page.text and not is_logged_in(client)
    secret = re.search(r'class="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert otp_rules.provisioning_uri(secret, "newdoc").startswith("otpauth://totp/telemed:newdoc?")
    token = csrf_token(page.text)
    assert client.post("/login/enrol", data={"code": "000", "csrf_token": token}).status_code == 401
    assert not is_logged_in(client)
    done = client.post("/login/enrol", data={"code": otp.next_code("newdoc", secret), "csrf_token": token})
    assert done.status_code == 200 and is_logged_in(client)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert len(codes) == otp_rules.RECOVERY_COUNT
    # a recovery code instead of the app's code, once
    other = app.test_client()
    password_step(other, "newdoc")
    assert code_step(other, codes[0]).status_code == 302 and is_logged_in(other)
    third = app.test_client()
    password_step(third, "newdoc")
    assert code_step(third, codes[0]).status_code == 401 and not is_logged_in(third)
    ok = app.test_client().post(TOKEN, json={"username": "newdoc", "password": PASSWORD, "otp": codes[1]})
    assert ok.status_code == 200


def test_failed_codes_count_against_the_login_limit(db_url, tmp_path):
    app = make_app(db_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    empty_tables(app)
    try:
        Factory(app).user("rec", role="records")
        client = app.test_client()
        assert password_step(client, "rec").status_code == 302  # 1
        assert code_step(client, "999999" if otp.code_for() != "999999" else "888888").status_code == 401  # 2
        assert code_step(client, "a").status_code == 401  # 3
        assert code_step(client, otp.next_code("rec")).status_code == 429  # even the right one, now
        body = {"username": "rec", "password": PASSWORD, "otp": otp.next_code("rec")}
        assert_error(app.test_client().post(TOKEN, json=body), 429, "rate_limited")  # the same counter
    finally:
        app.extensions["telemed.db"].dispose()


# --- the API --------------------------------------------------------------------------------------


def test_the_token_api_asks_staff_for_the_code(app, factory):
    factory.user("drt", role="doctor")
    factory.user("anna")
    client = app.test_client()
    assert_error(client.post(TOKEN, json={"username": "drt", "password": PASSWORD}), 401, "otp_required")
    wrong = {"username": "drt", "password": PASSWORD, "otp": "12345x"}
    assert_error(client.post(TOKEN, json=wrong), 401, "invalid_otp")
    bad_password = {"username": "drt", "password": "nope", "otp": otp.next_code("drt")}
    assert_error(client.post(TOKEN, json=bad_password), 401, "invalid_credentials")  # says nothing of codes
    ok = client.post(TOKEN, json={"username": "drt", "password": PASSWORD, "otp": otp.next_code("drt")})
    assert ok.status_code == 200 and ok.json["user"]["role"] == "doctor"
    member = client.post(TOKEN, json={"username": "anna", "password": PASSWORD, "otp": "whatever"})
    assert member.status_code == 200  # a member without the second factor: 'otp' is ignored


# --- idle staff sessions --------------------------------------------------------------------------


def test_a_staff_login_session_ends_after_the_idle_time_a_member_s_does_not(app, factory, monkeypatch):
    factory.user("rec", role="records")
    factory.user("anna")
    start = datetime.now(UTC)
    clock = {"now": start}
    monkeypatch.setattr("telemed.web.utcnow", lambda: clock["now"])
    staff, member = page_login(app, "rec"), page_login(app, "anna")
    clock["now"] = start + timedelta(minutes=10)
    assert is_logged_in(staff)  # active: the idle limit moves on
    clock["now"] = start + timedelta(minutes=24)
    assert is_logged_in(staff)  # 14 minutes after the last request
    clock["now"] = start + timedelta(minutes=39, seconds=30)
    r = staff.get("/patients")
    assert r.status_code == 302 and "/login" in r.headers["Location"]  # 15.5 idle minutes: ended
    assert member.get("/cabinet").status_code == 200


def test_the_idle_time_is_a_setting(db_url, tmp_path, monkeypatch):
    app = make_app(db_url, tmp_path, STAFF_IDLE_MINUTES=2)
    empty_tables(app)
    try:
        Factory(app).user("rec", role="records")
        start = datetime.now(UTC)
        clock = {"now": start}
        monkeypatch.setattr("telemed.web.utcnow", lambda: clock["now"])
        staff = page_login(app, "rec")
        clock["now"] = start + timedelta(minutes=1, seconds=50)
        assert is_logged_in(staff)
        clock["now"] += timedelta(minutes=2, seconds=10)
        assert not is_logged_in(staff)
    finally:
        app.extensions["telemed.db"].dispose()


# --- the demo -------------------------------------------------------------------------------------


def test_only_the_demo_shows_the_demo_code(app, db_url, tmp_path):
    assert "JBSWY3DPEHPK3PXP" not in app.test_client().get("/login").text
    demo = make_app(db_url, tmp_path, DEMO_OTP_HINT=True)
    try:
        page = demo.test_client().get("/login").text
        assert "JBSWY3DPEHPK3PXP" in page
        now = datetime.now(UTC)
        shown = {otp.code_for(otp.DEMO_SECRET, now + timedelta(seconds=d)) for d in (-30, 0, 30)}
        assert any(code in page for code in shown)
    finally:
        demo.extensions["telemed.db"].dispose()


@pytest.mark.parametrize("variable", ["TELEMED_DEMO_OTP_HINT"])
def test_no_environment_variable_turns_the_demo_code_on(app, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    from telemed.config import load_config

    assert not load_config({"INSTANCE_DIR": app.config["INSTANCE_DIR"]}).get("DEMO_OTP_HINT")
    assert ApiClient(app).get("/login").status_code == 200

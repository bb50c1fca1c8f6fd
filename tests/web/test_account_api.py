"""API: changing the password, the list of active logins, ending one, and deactivation by an admin;
the access matrix of these endpoints and their audit rows."""

from datetime import date

import pytest
from sqlalchemy import select

from telemed.auth.models import ApiToken, LoginSession, User
from telemed.records.audit_models import AuditEvent
from tests.support.clients import ApiClient, csrf_token, page_login, token_login
from tests.support.factories import PASSWORD
from tests.web.test_api_auth import assert_error

NEW = "violet-harbour-quantum-7"
UA = {"User-Agent": "TestPhone/1.0 (Android 14)"}


def audit_rows(app, object_type: str) -> list[tuple]:
    with app.extensions["telemed.db"].session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type)).all()
        return [(r.actor_id, r.object_id, r.action, r.outcome) for r in rows]


def logged_in(app, username: str, password: str = PASSWORD) -> ApiClient:
    api = ApiClient(app)
    r = token_login(lambda path, body: api.client.post(path, json=body, headers=UA), username, password)
    assert r.status_code == 200, r.json
    api.token = r.json["token"]
    return api


def test_changing_the_password_ends_every_other_login_and_keeps_this_one(app, factory):
    user = factory.user("anna")
    here, other_token = logged_in(app, "anna"), logged_in(app, "anna")
    browser = page_login(app, "anna")
    assert browser.get("/account").status_code == 200

    r = here.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 204, r.text
    assert here.get("/api/v1/me").status_code == 200  # the login that changed it stays
    assert_error(other_token.get("/api/v1/me"), 401, "not_authenticated")
    assert browser.get("/account").status_code in (302, 401)  # the browser session ended
    assert [s["current"] for s in here.get("/api/v1/me/sessions").json] == [True]
    assert_error(  # the old password no longer works; the new one does
        app.test_client().post("/api/v1/auth/token", json={"username": "anna", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    logged_in(app, "anna", NEW)
    assert audit_rows(app, "account") == [(user.id, str(user.id), "password_change", "done")]


def test_a_wrong_current_password_is_403_invalid_password(app, factory):
    user = factory.user("anna")
    api = logged_in(app, "anna")
    other = logged_in(app, "anna")
    r = api.post("/api/v1/me/password", json={"current_password": "nope", "new_password": NEW})
    assert_error(r, 403, "invalid_password")
    assert other.get("/api/v1/me").status_code == 200  # nothing ended
    assert audit_rows(app, "account") == [(user.id, str(user.id), "password_change", "denied")]


@pytest.mark.parametrize("weak", ["short", "password12345", "annapetrova1990", "petrova17051990"])
def test_a_weak_new_password_is_422_weak_password_with_feedback(app, factory, weak):
    factory.member("anna", birth_date=date(1990, 5, 17))
    with app.extensions["telemed.db"].transaction() as s:
        s.scalar(select(User).where(User.username == "anna")).full_name = "Anna Petrova"
    api = logged_in(app, "anna")
    r = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": weak})
    assert_error(r, 422, "weak_password")
    details = r.json["error"]["details"]
    assert details["min_length"] == 12 and isinstance(details["suggestions"], list)
    logged_in(app, "anna")  # the password is unchanged


def test_the_list_shows_each_login_with_device_address_and_the_current_one(app, factory):
    factory.user("anna")
    api, _other = logged_in(app, "anna"), logged_in(app, "anna")
    page_login(app, "anna")
    listed = api.get("/api/v1/me/sessions").json
    assert sorted(s["kind"] for s in listed) == ["session", "token", "token"]
    assert [s["current"] for s in listed].count(True) == 1
    mine = next(s for s in listed if s["current"])
    assert mine["kind"] == "token" and mine["user_agent"] == UA["User-Agent"] and mine["ip"] == "127.0.0.1"
    assert mine["created_at"] and mine["last_seen_at"]
    assert set(mine) == {"id", "kind", "created_at", "last_seen_at", "user_agent", "ip", "current"}
    with app.extensions["telemed.db"].session() as s:  # the public ids reveal no secret
        secrets = {*s.scalars(select(LoginSession.id)), *s.scalars(select(ApiToken.token_hash))}
    assert not {x["id"] for x in listed} & secrets


def test_ending_a_login_from_the_list(app, factory):
    user = factory.user("anna")
    api, other = logged_in(app, "anna"), logged_in(app, "anna")
    target = next(s for s in api.get("/api/v1/me/sessions").json if not s["current"])
    assert api.delete(f"/api/v1/me/sessions/{target['id']}").status_code == 204
    assert_error(other.get("/api/v1/me"), 401, "not_authenticated")
    assert_error(api.delete(f"/api/v1/me/sessions/{target['id']}"), 404, "not_found")  # already ended
    assert audit_rows(app, "login") == [(user.id, target["id"], "end_session", "done")]


def test_another_user_s_login_is_not_found(app, factory):
    factory.user("anna")
    factory.user("boris")
    anna, boris = logged_in(app, "anna"), logged_in(app, "boris")
    boris_login = boris.get("/api/v1/me/sessions").json[0]["id"]
    assert_error(anna.delete(f"/api/v1/me/sessions/{boris_login}"), 404, "not_found")
    assert_error(anna.delete("/api/v1/me/sessions/not-an-id"), 404, "not_found")
    assert boris.get("/api/v1/me").status_code == 200


def test_an_admin_deactivates_a_user(app, factory):
    admin = factory.user("root", role="admin")
    target = factory.user("anna")
    anna = logged_in(app, "anna")
    browser = page_login(app, "anna")
    r = logged_in(app, "root").post(f"/api/v1/admin/users/{target.id}/deactivate")
    assert r.status_code == 204, r.text
    assert_error(anna.get("/api/v1/me"), 401, "not_authenticated")
    assert browser.get("/account").status_code in (302, 401)
    assert_error(
        app.test_client().post("/api/v1/auth/token", json={"username": "anna", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    assert audit_rows(app, "account") == [(admin.id, str(target.id), "deactivate", "done")]


def test_an_admin_cannot_deactivate_their_own_account(app, factory):
    admin = factory.user("root", role="admin")
    root = logged_in(app, "root")
    assert_error(root.post(f"/api/v1/admin/users/{admin.id}/deactivate"), 409, "conflict")
    assert root.get("/api/v1/me").status_code == 200  # still logged in, still active
    assert audit_rows(app, "account") == []


def test_deactivating_an_unknown_user_is_404(app, factory):
    factory.user("root", role="admin")
    assert_error(logged_in(app, "root").post("/api/v1/admin/users/999999/deactivate"), 404, "not_found")


# Who may call the new endpoints: each of them for anonymous callers and every role.
ROLES = ["member", "doctor", "records", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_deactivation_is_for_admins_only(app, factory, role):
    factory.user("caller", role=role)
    target = factory.user("anna")
    r = logged_in(app, "caller").post(f"/api/v1/admin/users/{target.id}/deactivate")
    if role == "admin":
        assert r.status_code == 204
    else:
        assert_error(r, 403, "forbidden")
        assert logged_in(app, "anna").get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_every_role_manages_its_own_password_and_logins(app, factory, role):
    factory.user("someone", role=role)
    api = logged_in(app, "someone")
    listed = api.get("/api/v1/me/sessions")
    assert listed.status_code == 200 and len(listed.json) == 1
    r = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 204
    assert api.delete(f"/api/v1/me/sessions/{listed.json[0]['id']}").status_code == 204  # its own login
    assert_error(api.get("/api/v1/me"), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/me/password"),
        ("get", "/api/v1/me/sessions"),
        ("delete", "/api/v1/me/sessions/0123456789abcdef0123456789abcdef"),
        ("post", "/api/v1/admin/users/1/deactivate"),
    ],
)
def test_anonymous_callers_get_401(app, method, path):
    r = getattr(app.test_client(), method)(path, json={"current_password": "x", "new_password": "y"})
    assert_error(r, 401, "not_authenticated")


def test_a_page_session_changes_its_password_with_csrf(app, factory):
    factory.user("anna")
    browser = page_login(app, "anna")
    token = csrf_token(browser.get("/account").text)
    body = {"current_password": PASSWORD, "new_password": NEW}
    assert browser.post("/api/v1/me/password", json=body).status_code in (400, 403)  # no CSRF token
    r = browser.post("/api/v1/me/password", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 204, r.text
    assert browser.get("/account").status_code == 200  # the web session that changed it stays


def test_password_changes_are_rate_limited_per_user(db_url, tmp_path, factory):
    from tests.conftest import make_app

    limited = make_app(db_url, tmp_path, LOGIN_RATE_LIMIT="2 per minute")
    try:
        factory.user("anna")
        factory.user("boris")
        anna, boris = logged_in(limited, "anna"), logged_in(limited, "boris")
        wrong = {"current_password": "nope", "new_password": NEW}
        for _ in range(2):
            assert_error(anna.post("/api/v1/me/password", json=wrong), 403, "invalid_password")
        assert_error(anna.post("/api/v1/me/password", json=wrong), 429, "rate_limited")
        assert_error(boris.post("/api/v1/me/password", json=wrong), 403, "invalid_password")  # per user
    finally:
        limited.extensions["telemed.db"].dispose()

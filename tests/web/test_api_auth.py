"""API: tokens, /me, consent, rate limits, the error shape."""

from datetime import date

import pytest

from tests.conftest import make_app
from tests.support.clients import ApiClient, csrf_token
from tests.support.factories import PASSWORD
from tests.support.sql import statements_run


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_token_for_valid_credentials(app, factory):
    user = factory.user("anna", name="Anna Petrova")
    r = app.test_client().post("/api/v1/auth/token", json={"username": "anna", "password": "secret-pass"})
    assert r.status_code == 200
    assert r.json["token"] and r.json["user"] == {"id": user.id, "role": "member", "name": "Anna Petrova"}


@pytest.mark.parametrize(
    "body", [{"username": "anna", "password": "wrong"}, {"username": "nobody", "password": "x"}]
)
def test_wrong_credentials_get_401(app, factory, body):
    factory.user("anna")
    assert_error(app.test_client().post("/api/v1/auth/token", json=body), 401, "invalid_credentials")


@pytest.mark.parametrize("body", [None, "[]", '{"username": 5, "password": "x"}', "{not json"])
def test_malformed_token_requests_get_a_clear_4xx(app, body):
    r = app.test_client().post("/api/v1/auth/token", data=body, content_type="application/json")
    assert 400 <= r.status_code < 500 and "error" in r.json


def test_requests_without_or_with_a_bad_token_get_401(app):
    assert_error(app.test_client().get("/api/v1/me"), 401, "not_authenticated")
    assert_error(
        app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer nope"}),
        401,
        "not_authenticated",
    )


def test_revoked_token_stops_working(app, factory):
    factory.user("anna")
    api = ApiClient(app, "anna")
    assert api.get("/api/v1/me").status_code == 200
    assert api.delete("/api/v1/auth/token").status_code == 204
    assert_error(api.get("/api/v1/me"), 401, "not_authenticated")


def test_me_lists_patients_policy_entitlements_and_consent(app, factory):
    contract = factory.contract()
    user, me = factory.member("anna", contract=contract)
    child = factory.patient(name="Kid", birth_date=date(2018, 2, 3), guardian=user, contract=contract)
    body = ApiClient(app, "anna").get("/api/v1/me").json
    assert (body["id"], body["role"]) == (user.id, "member")
    by_id = {p["id"]: p for p in body["patients"]}
    assert by_id[me.id]["is_adult"] is True and by_id[child.id]["is_adult"] is False
    assert by_id[child.id]["birth_date"] == "2018-02-03"
    assert by_id[me.id]["psychologist"] == {"limit": 3, "used": 0, "left": 3}
    assert by_id[child.id]["psychologist"]["left"] == 0
    assert body["entitlements"]["psychologist"][str(me.id)] == {"limit": 3, "used": 0, "left": 3}
    assert body["policy"]["contract"]["psychologist_limit"] == 3
    assert body["consent"] == {"current_version": "2026-01", "accepted": True}
    assert "doctor" not in body


def test_me_reads_a_family_in_as_many_statements_as_one_member(app, factory):
    """Own record first, then the children by birth date; the statements do not grow with them."""
    engine = app.extensions["telemed.db"].engine

    def me() -> tuple[dict, int]:
        with statements_run(engine) as statements:
            body = api.get("/api/v1/me").json
        return body, len(statements)

    contract = factory.contract()
    user, own = factory.member("anna", contract=contract)
    api = ApiClient(app, "anna")
    api.get("/api/v1/me")  # the token's first use is recorded once: not counted below
    alone, alone_statements = me()
    born = [date(2019, 1, 1), date(2015, 6, 1), date(2021, 3, 1)]
    kids = [
        factory.patient(name=f"Kid {k}", birth_date=b, guardian=user, contract=contract)
        for k, b in enumerate(born)
    ]
    family, family_statements = me()
    assert [p["id"] for p in alone["patients"]] == [own.id]
    assert [p["id"] for p in family["patients"]] == [own.id, kids[1].id, kids[0].id, kids[2].id]
    assert all(p["policy"]["contract"]["number"] == contract.number for p in family["patients"])
    assert family_statements == alone_statements


def test_me_for_a_doctor_names_the_doctor(app, factory):
    doctor = factory.doctor("cardiologist", username="drx")
    body = ApiClient(app, "drx").get("/api/v1/me").json
    assert body["doctor"] == {"id": doctor.id, "specialty": "cardiologist"} and body["patients"] == []


def test_consent_accept_and_withdraw(app, factory):
    factory.user("anna", consent=False)
    api = ApiClient(app, "anna")
    assert api.get("/api/v1/me").json["consent"]["accepted"] is False
    assert_error(api.post("/api/v1/me/consent", json={"version": "1999-01"}), 422, "validation_error")
    r = api.post("/api/v1/me/consent", json={"version": "2026-01"})
    assert r.status_code == 200 and r.json["accepted"] is True
    assert api.get("/api/v1/me").json["consent"]["accepted"] is True
    assert api.delete("/api/v1/me/consent").json["accepted"] is False
    assert api.get("/api/v1/me").json["consent"]["accepted"] is False


def test_login_attempts_are_rate_limited(db_url, tmp_path, factory):
    limited = make_app(db_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    for _ in range(3):
        assert client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 401
    assert_error(
        client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}), 429, "rate_limited"
    )
    limited.extensions["telemed.db"].dispose()


def test_unknown_api_path_and_method_use_the_error_shape(app, factory):
    factory.user("anna")
    api = ApiClient(app, "anna")
    assert_error(api.get("/api/v1/nope"), 404, "not_found")
    assert_error(api.client.put("/api/v1/me", headers=api._headers()), 405, "method_not_allowed")


def test_healthz(app, tmp_path):
    assert app.test_client().get("/healthz").json == {"status": "ok"}
    broken = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path)
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["status"] != "ok"


def test_the_username_limit_counts_the_name_as_login_looks_it_up(db_url, tmp_path, factory):
    """Locked out as ``member2``, the same name with spaces around it (or in capitals) is locked
    out too, even from another address and with the right password."""
    factory.member("member2")
    limited = make_app(db_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = limited.test_client()

    def attempt(username: str, password: str, address: str):
        return client.post(
            "/api/v1/auth/token",
            json={"username": username, "password": password},
            environ_base={"REMOTE_ADDR": address},
        )

    for i in range(3):
        assert attempt("member2", "wrong", f"10.0.0.{i + 1}").status_code == 401
    assert_error(attempt(" member2 ", PASSWORD, "10.0.1.1"), 429, "rate_limited")
    assert_error(attempt("Member2\u00a0", PASSWORD, "10.0.1.2"), 429, "rate_limited")
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.1.3"})
    r = client.post(
        "/login",
        data={"username": "\tmember2 ", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        environ_base={"REMOTE_ADDR": "10.0.1.3"},
    )
    assert r.status_code == 429
    limited.extensions["telemed.db"].dispose()


def test_a_password_is_checked_as_typed_spaces_included(app, factory):
    from telemed.auth import service as auth_service

    with factory.db.transaction() as s:
        auth_service.create_user(
            s, factory.passwords, username="spacey", password=" padded secret ", role="member", full_name="S"
        )
    client = app.test_client()
    ok = client.post("/api/v1/auth/token", json={"username": "spacey", "password": " padded secret "})
    assert ok.status_code == 200
    trimmed = client.post("/api/v1/auth/token", json={"username": "spacey", "password": "padded secret"})
    assert_error(trimmed, 401, "invalid_credentials")
    empty = client.post("/api/v1/auth/token", json={"username": "spacey", "password": ""})
    assert_error(empty, 422, "validation_error")

"""OpenID Connect login («Войти через Госуслуги») against a real provider started by the test run."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from telemed.auth.models import User
from telemed.auth.oidc_models import OidcIdentity
from telemed.members.models import Patient, Policy
from telemed.records.audit_models import AuditEvent
from tests.conftest import empty_tables, make_app
from tests.support import oidc

BORN = date(1990, 5, 17)


@pytest.fixture
def oapp(db_url, tmp_path, oidc_issuer):
    app = make_app(db_url, tmp_path, **oidc.oidc_config(oidc_issuer))
    empty_tables(app)
    yield app
    app.extensions["telemed.db"].dispose()


@pytest.fixture
def world(oapp):
    from tests.support.factories import Factory

    f = Factory(oapp)
    contract = f.contract()
    anna, patient = f.member("anna", contract=contract, birth_date=BORN)
    return {
        "factory": f,
        "contract": contract,
        "anna": anna,
        "patient": patient,
        "policy": _policy(oapp, patient.id),
    }


def _policy(app, patient_id: int) -> str:
    with app.extensions["telemed.db"].transaction() as s:
        return s.scalar(select(Policy.number).where(Policy.patient_id == patient_id))


def _claims(policy: str, birthdate: str = "1990-05-17", **extra) -> dict[str, object]:
    return {"birthdate": birthdate, "policy_number": policy, "name": "Someone Else", **extra}


def _count(app, model) -> int:
    with app.extensions["telemed.db"].transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def _links(app) -> list[tuple[str, int]]:
    with app.extensions["telemed.db"].transaction() as s:
        return [(row.subject, row.user_id) for row in s.scalars(select(OidcIdentity))]


def _audit(app) -> list[tuple[str, str, int | None]]:
    with app.extensions["telemed.db"].transaction() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action.like("oidc_%")).order_by(AuditEvent.id))
        return [(e.action, e.outcome, e.actor_id) for e in rows]


def test_the_login_page_shows_the_button_only_when_configured(oapp, app):
    assert "/auth/oidc/login" in oapp.test_client().get("/login").text
    assert "/auth/oidc/login" not in app.test_client().get("/login").text
    assert app.test_client().get("/auth/oidc/login").status_code == 404
    assert app.test_client().get("/auth/oidc/callback?code=x&state=y").status_code == 404


def test_the_login_starts_with_pkce_state_and_nonce(oapp, oidc_issuer):
    location = oidc.start(oapp.test_client())
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == oidc_issuer
    assert query["response_type"] == "code" and query["client_id"] == "telemed-test"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"] and query["scope"].split() == ["openid", "profile", "email"]
    assert query["redirect_uri"] == "http://localhost/auth/oidc/callback"


def test_first_login_links_by_policy_and_birthdate_and_lands_in_the_cabinet(oapp, world, oidc_issuer):
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    client = oapp.test_client()
    r = oidc.login(client, sub)
    assert r.status_code == 302 and r.headers["Location"] == "/cabinet", r.text
    assert _links(oapp) == [(sub, world["anna"].id)]
    r = client.get("/cabinet")
    assert r.status_code == 200 and 'href="/consent?next=' not in r.text  # anna accepted it before
    assert _audit(oapp) == [("oidc_link", "done", world["anna"].id), ("oidc_login", "done", world["anna"].id)]

    # later logins use the link, even when the claims no longer match anything
    oidc.provider_user(oidc_issuer, _claims("NO-SUCH", birthdate="2001-01-01"), sub=sub)
    other = oapp.test_client()
    r = oidc.login(other, sub)
    assert r.status_code == 302 and r.headers["Location"] == "/cabinet", r.text
    assert other.get("/cabinet").status_code == 200
    assert _links(oapp) == [(sub, world["anna"].id)]


def test_a_wrong_birthdate_gets_a_403_page_and_no_account(oapp, world, oidc_issuer):
    users = _count(oapp, User)
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"], birthdate="1990-05-18"))
    client = oapp.test_client()
    r = oidc.login(client, sub)
    assert r.status_code == 403
    assert "Не нашли полис" in r.text and "1990-05-18" not in r.text, r.text
    assert _count(oapp, User) == users and _links(oapp) == []
    assert client.get("/cabinet").status_code == 302  # not logged in
    assert _audit(oapp) == [("oidc_login", "denied", None)]


def test_a_name_alone_never_links(oapp, world, oidc_issuer):
    claims = {"name": world["anna"].full_name, "birthdate": "1990-05-17", "email": "anna@example.org"}
    sub = oidc.provider_user(oidc_issuer, claims)
    r = oidc.login(oapp.test_client(), sub)
    assert r.status_code == 403 and 'data-reason="missing_claim"' in r.text
    assert _links(oapp) == []


def test_a_patient_without_an_account_gets_a_member_account(oapp, world, oidc_issuer):
    f = world["factory"]
    patient = f.patient(name="Пётр Петров", birth_date=date(1985, 1, 2), contract=world["contract"])
    policy = _policy(oapp, patient.id)
    claims = _claims(policy, birthdate="1985-01-02", email="petr@example.org", email_verified=True)
    sub = oidc.provider_user(oidc_issuer, claims)
    client = oapp.test_client()
    r = oidc.login(client, sub)
    assert r.status_code == 302 and r.headers["Location"] == "/cabinet", r.text
    with oapp.extensions["telemed.db"].transaction() as s:
        user_id = s.scalar(select(Patient.user_id).where(Patient.id == patient.id))
        user = s.get(User, user_id)
        assert (user.role, user.full_name, user.email, user.is_active) == (
            "member",
            "Пётр Петров",
            "petr@example.org",
            True,
        )
    assert _links(oapp) == [(sub, user_id)]
    r = client.get("/cabinet")  # the new member is logged in, and asked for consent as every member is
    assert r.status_code == 200 and 'href="/consent?next=' in r.text


def test_a_child_is_not_given_an_account_of_their_own(oapp, world, oidc_issuer):
    child = world["factory"].patient(
        name="Маша Иванова", birth_date=date(2012, 4, 5), guardian=world["anna"], contract=world["contract"]
    )
    sub = oidc.provider_user(oidc_issuer, _claims(_policy(oapp, child.id), birthdate="2012-04-05"))
    r = oidc.login(oapp.test_client(), sub)
    assert r.status_code == 403 and 'data-reason="minor"' in r.text
    assert "родитель" in r.text
    assert _links(oapp) == []
    with oapp.extensions["telemed.db"].transaction() as s:
        assert s.get(Patient, child.id).user_id is None


def test_an_unverified_email_is_not_taken(oapp, world, oidc_issuer):
    patient = world["factory"].patient(name="Ирина", birth_date=BORN, contract=world["contract"])
    claims = _claims(_policy(oapp, patient.id), email="irina@example.org", email_verified=False)
    assert oidc.login(oapp.test_client(), oidc.provider_user(oidc_issuer, claims)).status_code == 302
    with oapp.extensions["telemed.db"].transaction() as s:
        assert (
            s.scalar(
                select(User.email).join(Patient, Patient.user_id == User.id).where(Patient.id == patient.id)
            )
            is None
        )


def test_staff_are_never_linked(oapp, world, oidc_issuer):
    f = world["factory"]
    doctor = f.user("drx", role="doctor", consent=False)
    patient = f.patient(name="Dr X", birth_date=date(1970, 3, 3), user=doctor, contract=world["contract"])
    sub = oidc.provider_user(oidc_issuer, _claims(_policy(oapp, patient.id), birthdate="1970-03-03"))
    r = oidc.login(oapp.test_client(), sub)
    assert r.status_code == 403 and 'data-reason="staff"' in r.text
    assert _links(oapp) == []


def test_a_deactivated_member_is_refused(oapp, world, oidc_issuer):
    with oapp.extensions["telemed.db"].transaction() as s:
        s.get(User, world["anna"].id).is_active = False
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    r = oidc.login(oapp.test_client(), sub)
    assert r.status_code == 403 and 'data-reason="inactive"' in r.text
    assert _links(oapp) == []


def test_a_tampered_state_is_refused(oapp, world, oidc_issuer):
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    client = oapp.test_client()
    location = oidc.authorize_at_provider(oidc.start(client), sub)
    tampered = location.replace("state=", "state=x")
    r = oidc.callback(client, tampered)
    assert r.status_code == 400 and 'data-reason="provider"' in r.text
    r = oidc.callback(client, location)  # the state was used up by the failed attempt too
    assert r.status_code == 400
    assert _links(oapp) == [] and client.get("/cabinet").status_code == 302


def test_a_callback_without_a_login_started_here_is_refused(oapp, world, oidc_issuer):
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    location = oidc.authorize_at_provider(oidc.start(oapp.test_client()), sub)
    r = oidc.callback(oapp.test_client(), location)  # another browser: no state of its own
    assert r.status_code == 400 and _links(oapp) == []


def test_oidc_logins_are_rate_limited_per_address_apart_from_password_logins(db_url, tmp_path, oidc_issuer):
    app = make_app(db_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute", **oidc.oidc_config(oidc_issuer))
    try:
        empty_tables(app)
        client = app.test_client()
        forged = [client.get("/auth/oidc/callback?code=x&state=y").status_code for _ in range(4)]
        assert forged == [400, 400, 400, 429]
        assert client.get("/auth/oidc/login").status_code == 429  # the login's start counts too
        # password logins keep their own count
        fresh = app.test_client()  # no session cookie: a plain API client from the same address
        assert fresh.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 401
        denied = [e for e in _audit(app) if e[1] == "denied"]
        assert len(denied) <= 3  # nothing past the limit reaches the audit log
    finally:
        app.extensions["telemed.db"].dispose()


def test_an_error_from_the_provider_gets_a_400_page(oapp, world):
    client = oapp.test_client()
    state = parse_qs(urlsplit(oidc.start(client)).query)["state"][0]
    r = client.get(f"/auth/oidc/callback?error=access_denied&state={state}")
    assert r.status_code == 400 and 'data-reason="provider"' in r.text
    assert _links(oapp) == []


def test_the_next_page_is_kept_across_the_login(oapp, world, oidc_issuer):
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    client = oapp.test_client()
    location = oidc.authorize_at_provider(oidc.start(client, "/account"), sub)
    r = oidc.callback(client, location)
    assert r.status_code == 302 and r.headers["Location"] == "/account"


def test_a_member_with_a_second_factor_still_enters_the_code(oapp, world, oidc_issuer):
    from datetime import UTC, datetime

    from telemed.auth import second_factor
    from tests.support import otp
    from tests.support.clients import pass_second_step

    with oapp.extensions["telemed.db"].transaction() as s:
        second_factor.enrol_with_secret(s, world["anna"].id, otp.SECRET, now=datetime.now(UTC))
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    client = oapp.test_client()
    r = oidc.login(client, sub)
    assert r.status_code == 302 and r.headers["Location"] == "/login/code"
    assert client.get("/cabinet").status_code == 302  # nothing granted before the code
    pass_second_step(client, "anna")
    assert client.get("/cabinet").status_code == 200


def test_an_id_token_not_signed_by_the_providers_key_is_refused(oapp, world, oidc_issuer, caplog):
    import requests
    from joserfc.jwk import ECKey, RSAKey

    published = requests.get(f"{oidc_issuer}/jwks", timeout=10).json()["keys"][0]
    make = RSAKey.generate_key if published["kty"] == "RSA" else ECKey.generate_key
    args = (2048,) if published["kty"] == "RSA" else (published["crv"],)
    forged = make(*args, parameters={"kid": published["kid"]}, private=True)
    sub = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    client = oapp.test_client()
    location = oidc.authorize_at_provider(oidc.start(client), sub)
    # the app now trusts another key under the provider's key id: the real ID token fails its check
    oapp.extensions["telemed.oidc"]._client.server_metadata["jwks"] = {
        "keys": [forged.as_dict(private=False)]
    }
    r = oidc.callback(client, location)
    assert r.status_code == 400 and 'data-reason="provider"' in r.text
    assert "BadSignatureError" in caplog.text
    assert _links(oapp) == [] and client.get("/cabinet").status_code == 302


def test_the_right_name_and_birthdate_with_another_policy_number_do_not_link(oapp, world, oidc_issuer):
    claims = {"name": world["anna"].full_name, "birthdate": "1990-05-17", "policy_number": "P-OTHER"}
    r = oidc.login(oapp.test_client(), oidc.provider_user(oidc_issuer, claims))
    assert r.status_code == 403 and 'data-reason="no_match"' in r.text
    assert _links(oapp) == []


def test_a_second_identity_of_the_same_provider_is_not_linked_to_a_linked_account(oapp, world, oidc_issuer):
    first = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    assert oidc.login(oapp.test_client(), first).status_code == 302
    second = oidc.provider_user(oidc_issuer, _claims(world["policy"]))
    r = oidc.login(oapp.test_client(), second)
    assert r.status_code == 403 and 'data-reason="linked_elsewhere"' in r.text
    assert _links(oapp) == [(first, world["anna"].id)]

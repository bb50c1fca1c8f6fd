"""Security headers on every page (CSP without inline script, Permissions-Policy per page, HSTS with
secure cookies) and CSRF on every cookie-authenticated request, whatever else it carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from telemed.auth import invitations
from tests.conftest import empty_tables, make_app
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.support.factories import PASSWORD, make_consultation

USERS = (None, "anna", "drt", "rec", "adm", "cur")
NOT_PAGES = ("healthz", "readyz", "metrics", "static", "favicon")  # favicon: a redirect to the static SVG
# OpenID Connect: redirects to and from the provider (404 when not configured), tested in tests/web/test_oidc_login.py
NOT_PAGES += ("oidc.login", "oidc.callback")
MEDIA_PAGES = ("room.room", "video.check")


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Доктор Т")
    factory.user("rec", role="records", consent=False)
    factory.user("adm", role="admin", consent=False)
    factory.user("cur", role="curator", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    slot = factory.slot(doctor, start + timedelta(days=2))
    opinion = ApiClient(factory.app, "anna").post(
        "/api/v1/second-opinions", json={"icd10": "M54.5", "condition": "Боль", "question": "Что делать?"}
    )
    assert opinion.status_code == 201, opinion.json
    newbie = factory.user("newbie", consent=False)
    with factory.db.transaction() as s:
        invitation = invitations.invite(s, newbie.id, now=datetime.now(UTC))
        token = invitations.mint(s, invitation.id, now=datetime.now(UTC))
    return {
        "contract": contract,
        "invite_token": token,
        "consultation": c,
        "patient": patient,
        "doctor": doctor,
        "slot": slot,
        "opinion": opinion.json["id"],
    }


def page_urls(app, world) -> dict[str, str]:
    """Every page route (GET, outside the API), its arguments filled with the world's ids."""
    values = {
        "consultation_id": world["consultation"].id,
        "patient_id": world["patient"].id,
        "doctor_id": world["doctor"].id,
        "slot_id": world["slot"].id,
        "opinion_id": world["opinion"],
        "code": "therapist",
        "contract_id": world["contract"].id,
        "token": world["invite_token"],
    }
    urls = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in NOT_PAGES:
            continue
        with app.test_request_context():
            from flask import url_for

            urls[rule.endpoint] = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
    return urls


class InlineCode(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts, ``on…`` handlers, inline styles."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


def permissions(value: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in value.split(","))


def check_page(r, *, media: bool) -> None:
    csp = r.headers.get("Content-Security-Policy", "")
    d = directives(csp)
    assert d.get("script-src") == "script-src 'self'", csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert d.get("object-src") == "object-src 'none'" and d.get("frame-ancestors") == "frame-ancestors 'none'"
    allowed = permissions(r.headers["Permissions-Policy"])
    expected = "(self)" if media else "()"
    assert (allowed["camera"], allowed["microphone"]) == (expected, expected)
    if r.status_code == 200:
        parser = InlineCode()
        parser.feed(r.text)
        assert parser.found == []


def test_every_page_has_a_strict_csp_and_the_camera_only_where_a_call_is_made(app, world):
    urls = page_urls(app, world)
    served = set()
    for username in USERS:
        client = page_login(app, username) if username else app.test_client()
        for endpoint, url in urls.items():
            r = client.get(url)
            assert r.mimetype == "text/html", (username, url)
            check_page(r, media=endpoint in MEDIA_PAGES and r.status_code == 200)
            if r.status_code == 200:
                served.add(endpoint)
    # these only redirect (the code and enrolment steps without a login waiting for them)
    assert served == set(urls) - {"auth.index", "records.my_record", "otp.code", "otp.enrol"}


def test_error_pages_have_the_policy_too(app, world):
    client = page_login(app, "anna")
    for url in ("/no-such-page", f"/patients/{world['patient'].id}/record/nope"):
        r = client.get(url)
        assert r.status_code == 404
        check_page(r, media=False)


def test_the_urgent_waiting_view_may_use_the_camera_as_it_turns_into_the_room(app, world):
    waiting = ApiClient(app, "anna").post("/api/v1/urgent", json={}).json["id"]
    client = page_login(app, "anna")
    check_page(client.get(f"/consultations/{waiting}"), media=True)
    check_page(client.get(f"/consultations/{world['consultation'].id}"), media=False)


def test_api_answers_deny_the_camera_and_are_not_framed(app, world):
    r = ApiClient(app, "anna").get("/api/v1/me")
    assert r.status_code == 200 and permissions(r.headers["Permissions-Policy"])["camera"] == "()"
    assert r.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("name", ["SECURE_COOKIES", "COOKIE_SECURE"])
def test_secure_cookies_and_hsts_when_asked(db_url, tmp_path, name):
    from tests.support.factories import Factory

    app = make_app(db_url, tmp_path, **{name: "1"})
    try:
        empty_tables(app)
        Factory(app).member("anna", contract=Factory(app).contract())
        client = app.test_client()
        r = client.get("/login")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        token = csrf_token(r.text)
        r = client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
        cookies = [v for k, v in r.headers.items() if k == "Set-Cookie"]
        assert r.status_code == 302 and cookies and all("; Secure" in c for c in cookies)
    finally:
        app.extensions["telemed.db"].dispose()


def test_no_hsts_and_plain_cookies_by_default(app, world):
    r = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in r.headers
    assert all("; Secure" not in v for k, v in r.headers.items() if k == "Set-Cookie")


# --- CSRF -----------------------------------------------------------------------------------------


def message_url(world) -> str:
    return f"/api/v1/consultations/{world['consultation'].id}/messages"


@pytest.mark.parametrize("authorization", [None, "Bearer forged", "Bearer VALID", "Basic YTpi"])
def test_a_cookie_session_needs_the_csrf_token_whatever_authorization_it_adds(app, world, authorization):
    client = page_login(app, "anna")
    headers = {}
    if authorization:
        token = ApiClient(app, "anna").token
        headers["Authorization"] = authorization.replace("VALID", token)
    r = client.post(message_url(world), json={"text": "без токена"}, headers=headers)
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    r = client.post("/logout", headers=headers)  # a page form: the same rule
    assert "/login" not in r.headers.get("Location", "") and client.get("/cabinet").status_code == 200
    headers["X-CSRFToken"] = csrf_token(client.get("/cabinet").text)
    assert client.post(message_url(world), json={"text": "с токеном"}, headers=headers).status_code == 201


def test_a_bearer_token_needs_no_csrf_token(app, world):
    api = ApiClient(app, "anna")
    assert api.post(message_url(world), json={"text": "API"}).status_code == 201
    api.client.get("/login")  # an anonymous session cookie beside the token changes nothing
    assert api.client.get_cookie("session") is not None
    assert api.post(message_url(world), json={"text": "API"}).status_code == 201

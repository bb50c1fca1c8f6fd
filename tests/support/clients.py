"""HTTP helpers for API and page tests."""

from __future__ import annotations

import re

from tests.support import otp
from tests.support.factories import PASSWORD


def token_login(post, username: str, password: str = PASSWORD, secret: str = otp.SECRET):
    """``POST /api/v1/auth/token`` through ``post(path, json)``; asked for a code (staff), again with
    the next authenticator code of ``secret``. Returns the last response."""
    r = post("/api/v1/auth/token", {"username": username, "password": password})
    if r.status_code == 401 and _code(r) == "otp_required":
        body = {"username": username, "password": password, "otp": otp.next_code(username, secret)}
        r = post("/api/v1/auth/token", body)
    return r


def _code(response) -> str | None:
    body = response.json() if callable(getattr(response, "json", None)) else response.json
    return ((body or {}).get("error") or {}).get("code")


class ApiClient:
    """A Flask test client that sends a bearer token."""

    def __init__(self, app, username: str | None = None, password: str = PASSWORD, secret: str = otp.SECRET):
        self.client = app.test_client()
        self.token = None
        if username:
            r = token_login(lambda path, body: self.client.post(path, json=body), username, password, secret)
            assert r.status_code == 200, r.json
            self.token = r.json["token"]

    def _headers(self, extra=None):
        return {**({"Authorization": f"Bearer {self.token}"} if self.token else {}), **(extra or {})}

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(headers), **kw)

    def put(self, path, json=None, headers=None, **kw):
        return self.client.put(path, json=json, headers=self._headers(headers), **kw)

    def delete(self, path, headers=None, **kw):
        return self.client.delete(path, headers=self._headers(headers), **kw)

    def open(self, path, method="GET", headers=None, **kw):
        return self.client.open(path, method=method, headers=self._headers(headers), **kw)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def page_login(app, username: str, password: str = PASSWORD, secret: str = otp.SECRET):
    """A test client logged in through the login form (and, when asked, the code form)."""
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.text
    if r.headers["Location"].endswith("/login/code"):
        r = pass_second_step(client, username, secret)
    return client


def pass_second_step(client, username: str, secret: str = otp.SECRET):
    """Answer the login's code form with the next code of ``secret``; asserts the login opened."""
    token = csrf_token(client.get("/login/code").text)
    data = {"code": otp.next_code(username, secret), "csrf_token": token}
    r = client.post("/login/code", data=data)
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.text
    return r


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def open_room(app) -> dict:
    """A consultation of member ``anna`` with doctor ``drt`` starting in 5 minutes (its room is open),
    with both users' API tokens: ``{"consultation", "member", "tokens": {"anna", "drt"}}``."""
    from datetime import UTC, datetime, timedelta

    from tests.support.factories import Factory, make_consultation

    factory = Factory(app)
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Доктор Т")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    consultation = make_consultation(factory, member, patient, doctor, contract, start=start)
    tokens = {name: ApiClient(app, name).token for name in ("anna", "drt")}
    return {"consultation": consultation, "member": member, "tokens": tokens}

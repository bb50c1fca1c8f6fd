"""HTTP helpers for API and page tests."""

from __future__ import annotations

import re

from tests.support.factories import PASSWORD


class ApiClient:
    """A Flask test client that sends a bearer token."""

    def __init__(self, app, username: str | None = None, password: str = PASSWORD):
        self.client = app.test_client()
        self.token = None
        if username:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": password})
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


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def page_login(app, username: str, password: str = PASSWORD):
    """A test client logged in through the login form."""
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.text
    return client


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

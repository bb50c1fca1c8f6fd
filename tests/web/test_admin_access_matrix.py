"""The access matrix of the admin area, walked from the app's own routes so that a new admin
endpoint or page is covered the day it is added: every ``/api/v1/admin/…`` endpoint answers 403
``forbidden`` to every other role and 401 to anonymous callers, whatever the body (an empty, a
malformed or a valid-looking one: the role is checked before the input), and every ``/admin/…``
page refuses them too."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from telemed.records.audit_models import AuditEvent
from tests.support.clients import ApiClient, csrf_token, page_login

ROLES = ["member", "doctor", "records", "curator"]
BODIES = [None, {}, {"name": 1}, "not json"]


def _routes(app, prefix: str) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return sorted(set(found))


def test_the_walk_finds_the_admin_area(app):
    api, pages = _routes(app, "/api/v1/admin/"), _routes(app, "/admin/")
    assert ("POST", "/api/v1/admin/contracts") in api and ("PUT", "/api/v1/admin/doctors/1/template") in api
    assert ("GET", "/admin/contracts") in pages and len(api) >= 15


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_admin_endpoint_refuses_everyone_but_admins(app, factory, role):
    factory.contract()
    factory.doctor("therapist")
    if role is not None:
        factory.user("someone", role=role)
    client = ApiClient(app, "someone" if role else None)
    wrong = []
    calls = 0
    for method, path in _routes(app, "/api/v1/admin/"):
        for body in BODIES:
            calls += 1
            if body == "not json":
                r = client.open(path, method=method, data="{", content_type="application/json")
            elif body is None:
                r = client.open(path, method=method)
            else:
                r = client.open(path, method=method, json=body)
            expected = (401, "not_authenticated") if role is None else (403, "forbidden")
            got = (r.status_code, (r.json or {}).get("error", {}).get("code"))
            if got != expected:
                wrong.append(f"{method} {path} body={body!r}: {got}")
    assert not wrong, "\n".join(wrong)
    with factory.db.session() as s:
        refused = s.scalar(
            select(func.count()).where(AuditEvent.object_type == "admin_area", AuditEvent.outcome == "denied")
        )
    assert refused == (0 if role is None else calls)  # each refusal of a person is logged; no one's is not


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_refuses_everyone_but_admins(app, factory, role):
    factory.contract()
    factory.doctor("therapist")
    factory.user("someone", role=role)
    client = page_login(app, "someone")
    token = csrf_token(client.get("/account").text)
    wrong = []
    for method, path in _routes(app, "/admin/"):
        if method == "GET":
            r = client.get(path)
            ok = r.status_code == 403
        else:
            r = client.open(path, method=method, data={"csrf_token": token})
            # a refused form post is flashed and sent back, never into the admin area
            ok = r.status_code in (302, 303, 403) and "/admin/" not in r.headers.get("Location", "")
        if not ok:
            wrong.append(f"{method} {path}: {r.status_code} {r.headers.get('Location')}")
    assert not wrong, "\n".join(wrong)

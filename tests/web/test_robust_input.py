"""Bad input gets a documented 4xx, never a 500, on SQLite and PostgreSQL (issue: robust input).

Each class of input the fuzzer found crashing the server has its tests here: integers beyond the id
columns, text the database cannot store, hostile JSON, dates at the edges, and authentication that
must come before any validation.
"""

from __future__ import annotations

import io

import pytest

from tests.support.clients import ApiClient, page_login
from tests.web.test_api_auth import assert_error
from tests.web.test_records_api import (
    DRAFT,
    world,  # noqa: F401  (fixture)
)

HUGE = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("number", HUGE)
def test_ids_beyond_the_columns_are_not_found(app, world, number):  # noqa: F811
    api = ApiClient(app, "anna")
    for path in (
        f"/api/v1/consultations/{number}",
        f"/api/v1/consultations/{number}/messages",
        f"/api/v1/doctors/{number}/slots",
        f"/api/v1/attachments/{number}",
        f"/api/v1/patients/{number}/record",
    ):
        assert_error(api.get(path), 404, "not_found")
    assert page_login(app, "anna").get(f"/consultations/{number}").status_code == 404


@pytest.mark.parametrize("number", HUGE)
def test_ids_in_bodies_beyond_the_columns_name_nothing(app, world, number):  # noqa: F811
    api = ApiClient(app, "anna")
    code = "slot_unavailable" if number < 2**63 else "validation_error"  # 2**63 and beyond: not an id at all
    assert_error(api.post("/api/v1/consultations", json={"slot_id": number}), 422, code)
    cid = world["consultation"].id
    r = api.post(f"/api/v1/consultations/{cid}/messages", json={"text": "x", "attachment_ids": [number]})
    assert_error(r, 422, "validation_error")
    assert_error(api.get(f"/api/v1/consultations/{cid}/messages?after={number}"), 422, "validation_error")


@pytest.mark.parametrize("bad", ["nul\x00here", "bell\x07", "esc\x1b[31m", "del\x7f"])
def test_control_characters_are_refused_everywhere(app, world, bad):  # noqa: F811
    cid = world["consultation"].id
    member, doctor, records = ApiClient(app, "anna"), ApiClient(app, "drt"), ApiClient(app, "rec")
    for r in (
        member.post(f"/api/v1/consultations/{cid}/messages", json={"text": bad}),
        member.post(f"/api/v1/consultations/{cid}/cancel", json={"reason": bad}),
        doctor.put(f"/api/v1/consultations/{cid}/conclusion", json={**DRAFT, "complaints": bad}),
        doctor.put(
            f"/api/v1/consultations/{cid}/conclusion",
            json={**DRAFT, "referrals": [{"kind": "in_person", "note": bad}]},
        ),
        records.get(f"/api/v1/patients?q={bad}"),
        records.get(f"/api/v1/patients/{world['patient'].id}/record?text={bad}"),
        records.post(
            f"/api/v1/patients/{world['patient'].id}/record/visits",
            json={"date": "2026-01-10", "clinic": bad, "doctor_name": "Д", "diagnosis": {"text": "x"}},
        ),
        ApiClient(app).post("/api/v1/auth/token", json={"username": bad, "password": "x"}),
    ):
        assert_error(r, 422, "validation_error")
    # line breaks and tabs are text
    r = member.post(f"/api/v1/consultations/{cid}/messages", json={"text": "строка 1\n\tстрока 2"})
    assert r.status_code == 201 and r.json["text"] == "строка 1\n\tстрока 2"


def test_a_login_form_with_a_nul_is_a_wrong_password(app, world):  # noqa: F811
    client = app.test_client()
    page = client.get("/login").text
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": token, "username": "an\x00na", "password": "x"})
    assert r.status_code == 401


def test_deeply_nested_json_is_a_400_not_a_crash(app, world):  # noqa: F811
    deep = "[" * 100_000 + "]" * 100_000
    for client, path in (
        (ApiClient(app), "/api/v1/auth/token"),
        (ApiClient(app, "anna"), "/api/v1/consultations"),
    ):
        r = client.client.post(path, data=deep, content_type="application/json", headers=client._headers())
        assert_error(r, 400, "bad_request")
    nested: dict = {}
    cursor = nested
    for _ in range(40):
        cursor["x"] = {}
        cursor = cursor["x"]
    assert_error(ApiClient(app, "anna").post("/api/v1/consultations", json=nested), 400, "bad_request")


def test_bodies_have_a_size_limit(app, world):  # noqa: F811
    big = {"slot_id": 1, "reason": "x" * (300 * 1024)}
    assert_error(ApiClient(app, "anna").post("/api/v1/consultations", json=big), 413, "payload_too_large")
    # a body without a declared length is bounded too
    body = b'{"username": "' + b"a" * (300 * 1024) + b'"}'
    r = app.test_client().post(
        "/api/v1/auth/token",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(r, 413, "payload_too_large")


def test_authentication_comes_before_validation(app, world):  # noqa: F811
    anonymous = ApiClient(app)
    cid = world["consultation"].id
    for r in (
        anonymous.post("/api/v1/consultations", json={"slot_id": "not a number"}),
        anonymous.client.put(
            f"/api/v1/consultations/{cid}/conclusion", data="{not json", content_type="application/json"
        ),
        anonymous.get("/api/v1/doctors/1/slots?from=garbage"),
        anonymous.post("/api/v1/consultations", json={"reason": "x" * (300 * 1024)}),
    ):
        assert_error(r, 401, "not_authenticated")


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59+00:00"]
)
def test_dates_at_the_edges_are_refused(app, world, value):  # noqa: F811
    from urllib.parse import quote

    q = quote(value)
    api, records = ApiClient(app, "anna"), ApiClient(app, "rec")
    assert_error(api.get(f"/api/v1/doctors/1/slots?from={q}"), 422, "validation_error")
    assert_error(api.get(f"/api/v1/doctors/1/slots?to={q}"), 422, "validation_error")
    pid = world["patient"].id
    assert_error(records.get(f"/api/v1/patients/{pid}/record?from={q}"), 422, "validation_error")
    r = records.post(
        f"/api/v1/patients/{pid}/record/visits",
        json={"date": value, "clinic": "К", "doctor_name": "Д", "diagnosis": {"text": "x"}},
    )
    assert_error(r, 422, "validation_error")
    page = page_login(app, "rec").get(f"/patients/{pid}/record?from={value[:10]}&to={value[:10]}")
    assert page.status_code == 200


def test_a_wrong_method_names_the_allowed_ones(app, world):  # noqa: F811
    r = ApiClient(app, "anna").delete("/api/v1/specialties")
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["Allow"].split(", ")) >= {"GET"}

"""The API does what its OpenAPI document says (issue: robust input, the Schemathesis findings).

Each class of disagreement the fuzzer (tests/fuzz) found between the document and the server has
its test here, so a regression shows up without the fuzzer's luck.
"""

from __future__ import annotations

import pytest

from tests.support.clients import ApiClient
from tests.web.test_api_auth import assert_error
from tests.web.test_records_api import world  # noqa: F401  (fixture)


def test_a_huge_id_is_not_found_whatever_the_method(app, world):  # noqa: F811
    """An id beyond the id columns once made Werkzeug answer 405 (another method's rule matched)."""
    api = ApiClient(app, "anna")
    for number in (2**31, 5496007644424457216, 10**29):
        r = api.post(f"/api/v1/consultations/{number}/messages", json={"text": "hi"})
        assert_error(r, 404, "not_found")
    assert_error(api.get("/api/v1/consultations/" + "9" * 31), 404, "not_found")


def test_a_number_without_a_fraction_is_an_integer(app, world):  # noqa: F811
    """JSON Schema counts 2.0 as an integer, so the API does too (over HTTP)."""
    api = ApiClient(app, "anna")
    cid = world["consultation"].id
    r = api.post("/api/v1/consultations", json={"slot_id": 1.0e3})
    assert_error(r, 422, "slot_unavailable")  # read as slot 1000, which does not exist
    assert_error(api.post("/api/v1/consultations", json={"slot_id": 1.5}), 422, "validation_error")
    r = api.post(f"/api/v1/consultations/{cid}/messages", json={"text": "hi", "attachment_ids": [7.0]})
    assert r.json["error"]["details"] == {"field": "attachment_ids"}  # an unknown upload, not a type error
    assert "Unknown" in r.json["error"]["message"]


def test_nan_and_infinity_are_not_json(app, world):  # noqa: F811
    api = ApiClient(app, "anna")
    for body in ('{"slot_id": NaN}', '{"slot_id": Infinity}'):
        r = api.post("/api/v1/consultations", data=body, headers={"Content-Type": "application/json"})
        assert_error(r, 400, "bad_request")


@pytest.mark.parametrize("query", ["to=", "from=", "limit=", "kind="])
def test_an_empty_query_value_is_refused_not_ignored(app, world, query):  # noqa: F811
    records = ApiClient(app, "rec")
    r = records.get(f"/api/v1/patients/{world['patient'].id}/record?{query}")
    assert_error(r, 422, "validation_error")
    assert r.json["error"]["details"]["field"] == query.rstrip("=")


@pytest.mark.parametrize(
    "moment",
    [
        "2000-02-29t06:41z",
        "2000-02-29 06:41Z",
        "2016-12-31T23:59:60Z",
        "2026-05-01T09:00:00.123456789%2B03:00",
    ],
)
def test_every_date_time_the_document_allows_is_read(app, world, moment):  # noqa: F811
    records = ApiClient(app, "rec")
    r = records.get(f"/api/v1/patients/{world['patient'].id}/record?from={moment}")
    assert r.status_code == 200, r.json


@pytest.mark.parametrize(
    "moment", ["1965-02-30T20:51Z", "2100-02-29T00:00Z", "2026-05-01T09:00", "2026-05-01"]
)
def test_a_date_time_the_calendar_or_the_document_does_not_have_is_refused(app, world, moment):  # noqa: F811
    records = ApiClient(app, "rec")
    r = records.get(f"/api/v1/patients/{world['patient'].id}/record?from={moment}")
    assert_error(r, 422, "validation_error")


def test_a_visit_long_ago_is_dated_in_rfc_3339(app, world):  # noqa: F811
    """Moscow's local mean time in 1900 (+02:30:17) has no RFC 3339 offset: such moments are UTC."""
    records = ApiClient(app, "rec")
    body = {"date": "1900-01-01", "clinic": "Клиника", "doctor_name": "Врач"}
    r = records.post(f"/api/v1/patients/{world['patient'].id}/record/visits", json=body)
    assert r.status_code == 201, r.json
    assert r.json["date"] == "1900-01-01T09:29:43+00:00"
    listed = records.get(f"/api/v1/patients/{world['patient'].id}/record?kind=visit").json
    assert [e["date"] for e in listed] == ["1900-01-01T09:29:43+00:00"]


def test_text_is_measured_as_sent_and_controls_at_the_ends_count(app, world):  # noqa: F811
    api = ApiClient(app, "anna")
    assert_error(
        api.post("/api/v1/consultations", json={"slot_id": 1, "reason": " " * 2001}), 422, "validation_error"
    )
    for reason in ("\x0bheadache", "headache\x1c"):  # trimming would have dropped them unseen
        r = api.post("/api/v1/consultations", json={"slot_id": 1, "reason": reason})
        assert_error(r, 422, "validation_error")
        assert r.json["error"]["details"] == {"field": "reason"}


def test_optional_text_may_be_null_but_not_another_type(app, world):  # noqa: F811
    records = ApiClient(app, "rec")
    base = {"date": "2020-01-01", "clinic": "Клиника", "doctor_name": "Врач"}
    url = f"/api/v1/patients/{world['patient'].id}/record/visits"
    assert records.post(url, json={**base, "notes": None}).status_code == 201
    for notes in (False, 0, []):
        assert_error(records.post(url, json={**base, "notes": notes}), 422, "validation_error")
    doctor = ApiClient(app, "drt")
    cid = world["consultation"].id
    assert_error(
        doctor.put(f"/api/v1/consultations/{cid}/conclusion", json={"referrals": ""}), 422, "validation_error"
    )
    assert doctor.put(f"/api/v1/consultations/{cid}/conclusion", json={"referrals": None}).status_code == 200


def test_choices_are_checked_where_the_document_lists_them(app, world):  # noqa: F811
    assert_error(ApiClient(app, "anna").get("/api/v1/doctors?specialty=astrologer"), 422, "validation_error")
    assert ApiClient(app, "anna").get("/api/v1/doctors?specialty=therapist").status_code == 200
    assert_error(ApiClient(app, "drt").get("/api/v1/icd10?q=J06&lang=de"), 422, "validation_error")


def test_icd10_codes_are_read_as_the_document_says(app, world):  # noqa: F811
    doctor = ApiClient(app, "drt")
    url = f"/api/v1/consultations/{world['consultation'].id}/conclusion"
    r = doctor.put(url, json={"diagnosis": {"icd10": "\xa0j069 "}})
    assert r.status_code == 200 and r.json["diagnosis"]["icd10"] == "J06.9"
    r = doctor.put(url, json={"diagnosis": {"icd10": "\x1cJ06.9"}})
    assert_error(r, 422, "validation_error")


def test_a_wrong_consent_version_names_its_field(app, world):  # noqa: F811
    r = ApiClient(app, "anna").post("/api/v1/me/consent", json={"version": "1999-01"})
    assert_error(r, 422, "validation_error")
    assert r.json["error"]["details"]["field"] == "version"
    assert r.json["error"]["details"]["current_version"] == app.config["CONSENT_VERSION"]

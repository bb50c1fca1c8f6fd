"""The admin API of doctors and schedules: create, list, update, template (validation, 409 then
keep/cancel), exceptions, generate-slots; 403 ``forbidden`` to every other role, 401 anonymous."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from telemed.notifications.models import Notification
from telemed.scheduling.models import Consultation
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation
from tests.web.test_api_auth import assert_error
from tests.web.test_attachments import multipart

PROFILE = {
    "full_name": "Иванова Анна Петровна",
    "specialty": "neurologist",
    "career_start": "2012-09-01",
    "education": "РНИМУ им. Пирогова, 2012",
    "degree": "к.м.н.",
    "bio": "Головные боли, мигрень.",
}
ALL_WEEK = {
    "slot_minutes": 30,
    "days": [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)],
}


@pytest.fixture
def admin(factory):
    factory.user("admin1", role="admin")
    return ApiClient(factory.app, "admin1")


def test_an_admin_creates_lists_and_updates_a_doctor(app, factory, admin):
    account = factory.user("drivanova", role="doctor")
    r = admin.post("/api/v1/admin/doctors", json={**PROFILE, "user_id": account.id})
    assert r.status_code == 201, r.json
    doctor = r.json
    assert doctor["full_name"] == PROFILE["full_name"] and doctor["specialty"] == "neurologist"
    assert (
        doctor["is_active"] is True and doctor["user_id"] == account.id and doctor["experience_years"] >= 13
    )
    listed = admin.get("/api/v1/admin/doctors?specialty=neurologist").json
    assert [d["id"] for d in listed] == [doctor["id"]]
    r = admin.put(f"/api/v1/admin/doctors/{doctor['id']}", json={**PROFILE, "is_active": False})
    assert r.status_code == 200 and r.json["is_active"] is False and r.json["user_id"] is None
    one = admin.get(f"/api/v1/admin/doctors/{doctor['id']}").json
    assert one["template"] is None and one["exceptions"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"specialty": "astrologer"}, "specialty"),
        ({"career_start": "2999-01-01"}, "career_start"),
        ({"career_start": "01.09.2012"}, "career_start"),
        ({"full_name": " "}, "full_name"),
        ({"specialty": {}}, "specialty"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_a_bad_profile_is_refused(app, factory, admin, change, field):
    r = admin.post("/api/v1/admin/doctors", json={**PROFILE, **change})
    assert_error(r, 422, "validation_error")
    assert r.json["error"]["details"]["field"] == field


def test_an_account_links_to_one_doctor_only(app, factory, admin):
    account = factory.user("drx", role="doctor")
    member = factory.user("memberx")
    assert admin.post("/api/v1/admin/doctors", json={**PROFILE, "user_id": account.id}).status_code == 201
    assert_error(
        admin.post("/api/v1/admin/doctors", json={**PROFILE, "user_id": account.id}), 409, "conflict"
    )
    assert_error(
        admin.post("/api/v1/admin/doctors", json={**PROFILE, "user_id": member.id}), 422, "validation_error"
    )


def test_template_generation_and_a_bad_template(app, factory, admin):
    doctor = factory.doctor()
    base = f"/api/v1/admin/doctors/{doctor.id}"
    assert_error(admin.post(f"{base}/generate-slots", json={"days": 2}), 409, "conflict")
    r = admin.put(f"{base}/template", json={**ALL_WEEK, "slot_minutes": 3})
    assert_error(r, 422, "validation_error")
    assert r.json["error"]["details"]["field"] == "slot_minutes"
    assert_error(
        admin.put(f"{base}/template", json={**ALL_WEEK, "timezone": "Moscow"}), 422, "validation_error"
    )
    r = admin.put(f"{base}/template", json=ALL_WEEK)
    assert r.status_code == 200, r.json
    assert r.json["template"]["timezone"] == "Europe/Moscow"  # the clinic's
    r = admin.post(f"{base}/generate-slots", json={"days": 2})
    assert r.status_code == 200 and r.json["created"] >= 2 * 47 - 2
    assert admin.post(f"{base}/generate-slots", json={"days": 2}).json == {"created": 0}
    assert_error(admin.post(f"{base}/generate-slots", json={"days": 0}), 422, "validation_error")


def test_removing_booked_hours_answers_409_then_cancels_and_notifies(app, factory, admin):
    doctor = factory.doctor()
    contract = factory.contract()
    user, patient = factory.member(contract=contract)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    c = make_consultation(factory, user, patient, doctor, contract, start=start)
    base = f"/api/v1/admin/doctors/{doctor.id}"
    local_day = start.astimezone(ZoneInfo("Europe/Moscow")).date().isoformat()
    body = {"first_day": local_day, "last_day": local_day, "kind": "sick", "reason": "Врач заболел"}
    r = admin.post(f"{base}/exceptions", json=body)
    assert_error(r, 409, "conflict")
    assert [x["id"] for x in r.json["error"]["details"]["consultations"]] == [c.id]
    r = admin.post(f"{base}/exceptions", json={**body, "on_booked": "cancel"})
    assert r.status_code == 201, r.json
    assert r.json["cancelled"] == [c.id] and r.json["exception"]["kind"] == "sick"
    with factory.db.session() as s:
        assert s.get(Consultation, c.id).status == "cancelled"
        kinds = s.scalars(select(Notification.kind).where(Notification.user_id == user.id)).all()
    assert "cancelled" in kinds


def test_a_template_removing_booked_hours_can_keep_them(app, factory, admin):
    doctor = factory.doctor()
    contract = factory.contract()
    user, patient = factory.member(contract=contract)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    c = make_consultation(factory, user, patient, doctor, contract, start=start)
    base = f"/api/v1/admin/doctors/{doctor.id}"
    none = {"slot_minutes": 30, "days": []}
    assert_error(admin.put(f"{base}/template", json=none), 409, "conflict")
    r = admin.put(f"{base}/template", json={**none, "on_booked": "keep"})
    assert r.status_code == 200 and r.json["kept"] == [c.id]
    r = admin.put(f"{base}/template", json={**none, "on_booked": "cancel"})
    assert_error(r, 422, "validation_error")  # a cancellation needs a reason


ENDPOINTS = [
    ("post", "/api/v1/admin/doctors", PROFILE),
    ("get", "/api/v1/admin/doctors", None),
    ("get", "/api/v1/admin/doctors/{id}", None),
    ("put", "/api/v1/admin/doctors/{id}", PROFILE),
    ("put", "/api/v1/admin/doctors/{id}/template", ALL_WEEK),
    (
        "post",
        "/api/v1/admin/doctors/{id}/exceptions",
        {"first_day": "2030-01-01", "last_day": "2030-01-02", "kind": "vacation", "reason": "x"},
    ),
    ("post", "/api/v1/admin/doctors/{id}/generate-slots", {"days": 1}),
]


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator", None])
def test_only_admins_may_use_the_doctor_endpoints(app, factory, role):
    doctor = factory.doctor()
    if role is not None:
        factory.user("someone", role=role)
    client = ApiClient(app, "someone" if role else None)
    for method, path, body in ENDPOINTS:
        kw = {"json": body} if body is not None else {}
        r = getattr(client, method)(path.format(id=doctor.id), **kw)
        if role is None:
            assert_error(r, 401, "not_authenticated")
        else:
            assert_error(r, 403, "forbidden")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _upload(client, doctor_id, data: bytes, name="photo.png"):
    body, ctype = multipart(data, name, "image/png")
    return client.put(f"/api/v1/admin/doctors/{doctor_id}/photo", data=body, content_type=ctype)


def test_a_photo_is_sniffed_stored_and_served_to_logged_in_users(app, factory, admin):
    doctor = factory.doctor()
    assert_error(_upload(admin, doctor.id, b"%PDF-1.4\n%%EOF\n", "cv.png"), 415, "unsupported_type")
    assert_error(_upload(admin, doctor.id, PNG + b"\x00" * (2 * 1024 * 1024)), 413, "file_too_large")
    r = _upload(admin, doctor.id, PNG)
    assert r.status_code == 200 and r.json["has_photo"] is True
    factory.member("anna")
    got = ApiClient(app, "anna").get(f"/api/v1/doctors/{doctor.id}/photo")
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert_error(app.test_client().get(f"/api/v1/doctors/{doctor.id}/photo"), 401, "not_authenticated")
    assert_error(ApiClient(app, "anna").get(f"/api/v1/doctors/{factory.doctor().id}/photo"), 404, "not_found")
    assert_error(_upload(ApiClient(app, "anna"), doctor.id, PNG), 403, "forbidden")

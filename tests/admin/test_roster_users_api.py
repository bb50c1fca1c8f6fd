"""The duty roster (shifts, coverage with gaps, the urgent queue's status during a gap) and staff
users (create with an invitation call site, reset the second factor, deactivate); admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from telemed.auth.models import Invitation, OtpEnrolment, User
from telemed.notifications.models import Notification
from telemed.records.audit_models import AuditEvent
from tests.support.clients import ApiClient, page_login
from tests.web.test_api_auth import assert_error


@pytest.fixture
def admin(factory):
    factory.user("admin1", role="admin")
    return ApiClient(factory.app, "admin1")


def _hour(delta_hours: int) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=delta_hours)


def _shift(admin, doctor, start, end, specialty="therapist"):
    return admin.post(
        "/api/v1/admin/roster",
        json={
            "doctor_id": doctor.id,
            "specialty": specialty,
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
        },
    )


def test_shifts_are_planned_and_coverage_shows_the_gaps(app, factory, admin):
    a, b = factory.doctor("therapist"), factory.doctor("therapist")
    r = _shift(admin, a, _hour(0), _hour(12))
    assert r.status_code == 201, r.json
    assert r.json["doctor_id"] == a.id and r.json["specialty"] == "therapist"
    assert _shift(admin, b, _hour(12), _hour(24)).status_code == 201
    assert_error(_shift(admin, a, _hour(11), _hour(13)), 409, "conflict")  # overlaps a's own shift
    assert_error(_shift(admin, a, _hour(30), _hour(29)), 422, "validation_error")
    assert_error(_shift(admin, a, _hour(30), _hour(31), "pediatrician"), 422, "validation_error")
    listed = admin.get("/api/v1/admin/roster").json
    assert [s["doctor_id"] for s in listed] == [a.id, b.id]
    cover = admin.get("/api/v1/admin/roster/coverage").json
    therapist = cover["specialties"]["therapist"]
    assert cover["hours"] == 168 and therapist["planned"][:24] == [1] * 24 and therapist["planned"][24] == 0
    assert therapist["gaps"] == [{"starts_at": _hour(24).isoformat(), "ends_at": _hour(168).isoformat()}]
    assert cover["specialties"]["pediatrician"]["gaps"] == [
        {"starts_at": _hour(0).isoformat(), "ends_at": _hour(168).isoformat()}
    ]


def test_the_urgent_status_says_when_no_doctor_is_planned(app, factory, admin):
    contract = factory.contract()
    factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist")
    anna = ApiClient(app, "anna")
    # no roster kept: nothing is said
    queue = anna.post("/api/v1/urgent", json={"reason": "Температура"}).json["queue"]
    assert queue["coverage_gap"] is None
    assert _shift(admin, doctor, _hour(3), _hour(9)).status_code == 201
    c = anna.get("/api/v1/consultations?when=upcoming").json[0]
    r = anna.get(f"/api/v1/consultations/{c['id']}")
    assert r.json["queue"]["coverage_gap"] == {"until": _hour(3).isoformat()}
    page = page_login(app, "anna").get(f"/consultations/{c['id']}")
    assert page.status_code == 200 and "Дежурный врач не запланирован до" in page.text
    assert _shift(admin, factory.doctor("therapist"), _hour(-1), _hour(3)).status_code == 201
    assert anna.get(f"/api/v1/consultations/{c['id']}").json["queue"]["coverage_gap"] is None


def test_an_admin_creates_staff_resets_the_second_factor_and_deactivates(app, factory, admin):
    body = {"username": "drnew", "full_name": "Петров Пётр", "role": "doctor", "email": "petrov@example.org"}
    r = admin.post("/api/v1/admin/users", json=body)
    assert r.status_code == 201, r.json
    user = r.json
    assert (user["role"], user["email"], user["is_active"]) == ("doctor", "petrov@example.org", True)
    assert user["invited"] is True  # the one-time link to set a password goes by e-mail
    with factory.db.session() as s:
        [invitation] = s.scalars(select(Invitation).where(Invitation.user_id == user["id"]))
        kinds = s.scalars(select(Notification.kind).where(Notification.user_id == user["id"])).all()
    assert invitation.used_at is None and kinds == ["invite"]
    assert_error(admin.post("/api/v1/admin/users", json=body), 409, "conflict")
    assert_error(
        admin.post("/api/v1/admin/users", json={**body, "username": "x2", "role": "member"}),
        422,
        "validation_error",
    )
    assert_error(
        admin.post("/api/v1/admin/users", json={**body, "username": "x3", "email": "nope"}),
        422,
        "validation_error",
    )
    # nobody knows the password: the account cannot log in with a guess
    r = app.test_client().post("/api/v1/auth/token", json={"username": "drnew", "password": "secret-pass"})
    assert r.status_code == 401

    staff = factory.user("records1", role="records")
    with factory.db.session() as s:
        assert s.scalar(select(OtpEnrolment.user_id).where(OtpEnrolment.user_id == staff.id)) == staff.id
    r = admin.post(f"/api/v1/admin/users/{staff.id}/reset-second-factor")
    assert r.status_code == 200 and r.json["id"] == staff.id
    with factory.db.session() as s:
        assert s.scalar(select(OtpEnrolment.user_id).where(OtpEnrolment.user_id == staff.id)) is None
    r = admin.post(f"/api/v1/admin/users/{staff.id}/deactivate")
    assert r.status_code == 204  # the existing account operation, reused
    with factory.db.session() as s:
        assert s.get(User, staff.id).is_active is False
        actions = s.execute(
            select(AuditEvent.object_type, AuditEvent.action, AuditEvent.outcome).where(
                AuditEvent.object_id == str(staff.id)
            )
        ).all()
    assert ("staff_user", "reset_2fa", "allowed") in actions and ("account", "deactivate", "done") in actions
    assert_error(admin.post("/api/v1/admin/users/999999/reset-second-factor"), 404, "not_found")


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator", None])
def test_only_admins_may_use_the_roster_and_user_endpoints(app, factory, role):
    doctor = factory.doctor("therapist")
    target = factory.user("target", role="doctor")
    if role is not None:
        factory.user("someone", role=role)
    client = ApiClient(app, "someone" if role else None)
    calls = [
        ("get", "/api/v1/admin/roster", None),
        ("get", "/api/v1/admin/roster/coverage", None),
        (
            "post",
            "/api/v1/admin/roster",
            {
                "doctor_id": doctor.id,
                "specialty": "therapist",
                "starts_at": _hour(1).isoformat(),
                "ends_at": _hour(2).isoformat(),
            },
        ),
        (
            "post",
            "/api/v1/admin/users",
            {"username": "zz", "full_name": "Z", "role": "doctor", "email": "z@example.org"},
        ),
        ("post", f"/api/v1/admin/users/{target.id}/reset-second-factor", None),
        ("post", f"/api/v1/admin/users/{target.id}/deactivate", None),
    ]
    for method, path, body in calls:
        kw = {"json": body} if body is not None else {}
        r = getattr(client, method)(path, **kw)
        if role is None:
            assert_error(r, 401, "not_authenticated")
        else:
            assert_error(r, 403, "forbidden")
    with factory.db.session() as s:
        assert s.get(User, target.id).is_active is True

"""Taking a shift off the duty roster: one yet to start is deleted, one under way ends now, one that
is over is kept as it was (409); the page's button does the same; admins only, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from telemed.records.audit_models import AuditEvent
from telemed.urgent.models import PlannedShift
from tests.admin.test_roster_users_api import _hour, _shift
from tests.admin.test_roster_users_api import admin as admin  # the fixture
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.web.test_api_auth import assert_error


def _stored(factory, shift_id: int) -> PlannedShift | None:
    with factory.db.session() as s:
        return s.get(PlannedShift, shift_id)


def test_a_future_shift_is_deleted_and_a_running_one_ends_now(factory, admin):
    doctor = factory.doctor("therapist")
    running = _shift(admin, doctor, _hour(-1), _hour(2)).json["id"]
    later = _shift(admin, doctor, _hour(5), _hour(8)).json["id"]

    r = admin.delete(f"/api/v1/admin/roster/{later}")
    assert r.status_code == 204, r.data
    assert _stored(factory, later) is None

    before = datetime.now(UTC)
    assert admin.delete(f"/api/v1/admin/roster/{running}").status_code == 204
    kept = _stored(factory, running)
    assert kept is not None and kept.starts_at == _hour(-1)
    assert before <= kept.ends_at <= datetime.now(UTC)
    # over now: the plan of the past stays as it was
    assert_error(admin.delete(f"/api/v1/admin/roster/{running}"), 409, "conflict")
    assert_error(admin.delete("/api/v1/admin/roster/999999"), 404, "not_found")
    listed = admin.get(
        "/api/v1/admin/roster", query_string={"from": _hour(-2).strftime("%Y-%m-%dT%H:%M:%SZ")}
    ).json
    assert [s["id"] for s in listed] == [running]

    with factory.db.session() as s:
        writes = s.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "roster",
                AuditEvent.action == "write",
                AuditEvent.outcome == "allowed",
            )
        ).all()
    assert str(later) in writes and str(running) in writes


def test_a_shift_that_is_over_cannot_be_removed(factory, admin):
    doctor = factory.doctor("pediatrician")
    with factory.db.transaction() as s:
        past = PlannedShift(
            doctor_id=doctor.id,
            specialty_code="pediatrician",
            starts_at=_hour(-30),
            ends_at=_hour(-20),
            created_at=_hour(-40),
        )
        s.add(past)
        s.flush()
        past_id = past.id
    assert_error(admin.delete(f"/api/v1/admin/roster/{past_id}"), 409, "conflict")
    assert _stored(factory, past_id).ends_at == _hour(-20)


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator", None])
def test_only_admins_may_remove_a_shift(app, factory, admin, role):
    doctor = factory.doctor("therapist")
    shift_id = _shift(admin, doctor, _hour(3), _hour(4)).json["id"]
    if role is not None:
        factory.user("someone", role=role)
    r = ApiClient(app, "someone" if role else None).delete(f"/api/v1/admin/roster/{shift_id}")
    assert_error(r, 401 if role is None else 403, "not_authenticated" if role is None else "forbidden")
    assert _stored(factory, shift_id) is not None


def test_the_roster_page_removes_a_shift_and_ends_a_running_one(app, factory, admin):
    doctor = factory.doctor("therapist", name="Сменова Ольга Петровна")
    running = _shift(admin, doctor, _hour(-1), _hour(1)).json["id"]
    later = _shift(admin, doctor, _hour(6), _hour(9)).json["id"]
    client = page_login(app, "admin1")
    page = client.get("/admin/roster").text
    assert f'data-shift="{running}"' in page and f'data-shift="{later}"' in page
    assert "Завершить сейчас" in page and "Удалить" in page
    token = csrf_token(page)

    r = client.post(f"/admin/roster/{later}/remove", data={"csrf_token": token})
    assert r.status_code == 302
    assert _stored(factory, later) is None
    client.post(f"/admin/roster/{running}/remove", data={"csrf_token": token})
    assert _stored(factory, running).ends_at <= datetime.now(UTC)

    again = client.post(f"/admin/roster/{running}/remove", data={"csrf_token": token})
    assert again.status_code == 409
    assert "Это дежурство уже закончилось." in again.text
    missing = client.post("/admin/roster/999999/remove", data={"csrf_token": token})
    assert missing.status_code == 404


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_other_roles_cannot_remove_a_shift_on_the_page(app, factory, admin, role):
    doctor = factory.doctor("therapist")
    shift_id = _shift(admin, doctor, _hour(3), _hour(4)).json["id"]
    factory.user("someone", role=role)
    client = page_login(app, "someone")
    token = csrf_token(client.get("/account").text)
    r = client.post(f"/admin/roster/{shift_id}/remove", data={"csrf_token": token})
    # a refused form post is flashed and sent back (the pages' convention), nothing removed
    assert r.status_code == 302 and "/admin/roster" not in r.headers["Location"]
    assert _stored(factory, shift_id).ends_at == _hour(4)

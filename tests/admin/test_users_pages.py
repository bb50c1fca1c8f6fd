"""The admin area's users: the list API (filters, paging, open invitations), the page (search, create
and invite a staff user, reset a second factor, deactivate, never oneself), the doctor's photo upload
page; every write audited; other roles refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from telemed.auth.models import Invitation, OtpEnrolment, User
from telemed.catalog.models import Doctor
from telemed.records.audit_models import AuditEvent
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.web.test_api_auth import assert_error

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
STAFF = {"username": "drnew", "full_name": "Петров Пётр", "role": "doctor", "email": "petrov@example.org"}


@pytest.fixture
def admin(factory):
    factory.user("adm", role="admin", consent=False, name="Админ Анна")
    return ApiClient(factory.app, "adm")


@pytest.fixture
def admin_page(factory, admin):
    return page_login(factory.app, "adm")


def _audit(db, object_type: str, object_id) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.outcome).where(
                AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id)
            )
        ).all()
    return [tuple(r) for r in rows]


def _names(r) -> list[str]:
    assert r.status_code == 200, r.json
    return [u["username"] for u in r.json]


# --- the API --------------------------------------------------------------------------------------


def test_the_user_list_filters_by_role_and_text_and_pages_newest_first(app, factory, admin):
    factory.user("rec1", role="records", name="Смирнова Ольга")
    factory.user("cur1", role="curator", name="Орлов Иван")
    factory.member("anna")
    created = admin.post("/api/v1/admin/users", json=STAFF)
    assert created.status_code == 201, created.json

    everyone = _names(admin.get("/api/v1/admin/users"))
    assert everyone[:5] == ["drnew", "anna", "cur1", "rec1", "adm"]  # newest first
    assert _names(admin.get("/api/v1/admin/users?limit=2")) == everyone[:2]
    assert _names(admin.get("/api/v1/admin/users?limit=2&offset=2")) == everyone[2:4]
    assert _names(admin.get("/api/v1/admin/users?role=curator")) == ["cur1"]
    assert _names(admin.get("/api/v1/admin/users?role=member")) == ["anna"]
    # any case, Cyrillic included, in the username, the full name or the e-mail
    assert _names(admin.get("/api/v1/admin/users?q=СМИРНОВА")) == ["rec1"]
    assert _names(admin.get("/api/v1/admin/users?q=пётр")) == ["drnew"]
    assert _names(admin.get("/api/v1/admin/users?q=PETROV@EXAMPLE")) == ["drnew"]
    assert _names(admin.get("/api/v1/admin/users?q=REC")) == ["rec1"]
    assert _names(admin.get("/api/v1/admin/users?q=r&role=records")) == ["rec1"]
    assert _names(admin.get("/api/v1/admin/users?q=%25")) == []  # a wildcard is a plain character
    assert_error(admin.get("/api/v1/admin/users?role=superuser"), 422, "validation_error")
    assert_error(admin.get("/api/v1/admin/users?limit=0"), 422, "validation_error")
    assert_error(admin.get("/api/v1/admin/users?limit=201"), 422, "validation_error")


def test_invited_means_an_unused_unexpired_invitation_is_open(app, factory, admin):
    user_id = admin.post("/api/v1/admin/users", json=STAFF).json["id"]

    def invited() -> bool:
        [row] = [u for u in admin.get("/api/v1/admin/users?q=drnew").json if u["id"] == user_id]
        return row["invited"]

    assert invited() is True
    with factory.db.transaction() as s:
        s.execute(update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert invited() is False
    with factory.db.transaction() as s:
        s.execute(update(Invitation).values(expires_at=datetime.now(UTC) + timedelta(days=1)))
    assert invited() is True
    with factory.db.transaction() as s:
        s.execute(update(Invitation).values(used_at=datetime.now(UTC)))
    assert invited() is False
    assert [u["invited"] for u in admin.get("/api/v1/admin/users?q=adm").json] == [False]


def test_creating_staff_and_resetting_a_second_factor_are_audited(app, factory, admin):
    user_id = admin.post("/api/v1/admin/users", json=STAFF).json["id"]
    assert ("write", "allowed") in _audit(factory.db, "staff_user", user_id)
    staff = factory.user("rec1", role="records")
    records = ApiClient(app, "rec1")
    assert admin.post(f"/api/v1/admin/users/{staff.id}/reset-second-factor").status_code == 200
    assert _audit(factory.db, "staff_user", staff.id) == [("reset_2fa", "allowed")]
    # a refusal is in the log too, under the one who tried
    assert_error(records.post(f"/api/v1/admin/users/{user_id}/reset-second-factor"), 403, "forbidden")
    path = f"/api/v1/admin/users/{user_id}/reset-second-factor"
    assert ("write", "denied") in _audit(factory.db, "admin_area", path)  # refused at the admin area's gate


# --- the page -------------------------------------------------------------------------------------


def test_an_admin_creates_a_staff_user_on_the_page_and_it_is_invited(app, factory, admin_page):
    page = admin_page.get("/admin/users")
    assert page.status_code == 200
    assert "Пользователи" in page.text and "Создать сотрудника" in page.text
    token = csrf_token(page.text)
    form = {"csrf_token": token, **STAFF}
    bad = admin_page.post("/admin/users", data={**form, "email": "nope"})
    assert bad.status_code == 422 and "Укажите правильный адрес электронной почты" in bad.text
    assert 'value="Петров Пётр"' in bad.text  # the input is kept
    bad = admin_page.post("/admin/users", data={**form, "role": "member"})
    assert bad.status_code == 422
    bad = admin_page.post("/admin/users", data={**form, "full_name": "  "})
    assert bad.status_code == 422
    r = admin_page.post("/admin/users", data=form)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/users")
    page = admin_page.get("/admin/users")
    assert "petrov@example.org" in page.text and "Приглашение отправлено" in page.text
    with factory.db.session() as s:
        user = s.scalar(select(User).where(User.username == "drnew"))
        assert (user.role, user.full_name, user.is_active) == ("doctor", "Петров Пётр", True)
        assert s.scalar(select(Invitation.used_at).where(Invitation.user_id == user.id)) is None
    assert ("write", "allowed") in _audit(factory.db, "staff_user", user.id)
    again = admin_page.post("/admin/users", data=form)
    assert again.status_code == 409 and "уже существует" in again.text


def test_the_page_searches_and_filters_by_role(app, factory, admin_page):
    factory.user("rec1", role="records", name="Смирнова Ольга")
    factory.user("cur1", role="curator", name="Орлов Иван")
    page = admin_page.get("/admin/users?q=смирнова")
    assert 'data-username="rec1"' in page.text and 'data-username="cur1"' not in page.text
    page = admin_page.get("/admin/users?role=curator")
    assert 'data-username="cur1"' in page.text and 'data-username="rec1"' not in page.text
    page = admin_page.get("/admin/users?role=nonsense&q=" + "x" * 500)  # ignored, not an error
    assert page.status_code == 200 and 'data-username="rec1"' in page.text
    page = admin_page.get("/admin/users?q=никого")
    assert "Никого не нашли" in page.text


def test_an_admin_resets_a_second_factor_and_deactivates_on_the_page(app, factory, admin_page):
    staff = factory.user("rec1", role="records")
    token = csrf_token(admin_page.get("/admin/users").text)
    r = admin_page.post(f"/admin/users/{staff.id}/reset-second-factor", data={"csrf_token": token})
    assert r.status_code == 302
    assert "Второй фактор rec1 сброшен" in admin_page.get("/admin/users").text
    with factory.db.session() as s:
        assert s.scalar(select(OtpEnrolment.user_id).where(OtpEnrolment.user_id == staff.id)) is None
    assert ("reset_2fa", "allowed") in _audit(factory.db, "staff_user", staff.id)

    r = admin_page.post(f"/admin/users/{staff.id}/deactivate", data={"csrf_token": token})
    assert r.status_code == 302
    page = admin_page.get("/admin/users")
    assert "Учётная запись деактивирована" in page.text
    with factory.db.session() as s:
        assert s.get(User, staff.id).is_active is False
    assert ("deactivate", "done") in _audit(factory.db, "account", staff.id)
    # a deactivated account has no buttons left
    item = page.text.split('data-username="rec1"', 1)[1].split("</li>", 1)[0]
    assert "/deactivate" not in item and "/reset-second-factor" not in item

    # refused posts come back with the reason, as everywhere on the pages
    for action in ("reset-second-factor", "deactivate"):
        r = admin_page.post(f"/admin/users/999999/{action}", data={"csrf_token": token})
        assert r.status_code == 302 and "Пользователь не найден" in admin_page.get("/admin/users").text
    other = factory.user("rec2", role="records")
    r = admin_page.post(f"/admin/users/{other.id}/deactivate", data={})  # no csrf_token
    assert r.status_code == 302 and "Форма устарела" in admin_page.get("/admin/users").text
    with factory.db.session() as s:
        assert s.get(User, other.id).is_active is True


def test_an_admin_cannot_deactivate_themselves(app, factory, admin_page):
    page = admin_page.get("/admin/users")
    with factory.db.session() as s:
        me = s.scalar(select(User).where(User.username == "adm"))
    mine = page.text.split('data-username="adm"', 1)[1].split("</li>", 1)[0]
    assert "/deactivate" not in mine  # no button for oneself
    r = admin_page.post(f"/admin/users/{me.id}/deactivate", data={"csrf_token": csrf_token(page.text)})
    assert r.status_code == 302
    assert "Нельзя деактивировать собственную учётную запись" in admin_page.get("/admin/users").text
    with factory.db.session() as s:
        assert s.get(User, me.id).is_active is True


def test_the_page_is_in_english_too(app, factory, admin_page):
    page = admin_page.get("/admin/users?lang=en")
    assert page.status_code == 200
    assert "Create a staff user" in page.text and "Reset the second factor" in page.text
    assert "Создать сотрудника" not in page.text


# --- the doctor's photo ---------------------------------------------------------------------------


def _form(fields: dict[str, str], data: bytes, name: str) -> tuple[bytes, str]:
    """A multipart form with ``fields`` and one ``file`` (werkzeug's own encoder leaks a temporary
    file for large bodies)."""
    parts = [
        f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = f'--B\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    return b"".join([*parts, head, data, b"\r\n--B--\r\n"]), "multipart/form-data; boundary=B"


def _photo(client, doctor_id: int, data: bytes, name: str = "photo.png", token: str | None = None):
    token = token or csrf_token(client.get(f"/admin/doctors/{doctor_id}").text)
    body, content_type = _form({"csrf_token": token}, data, name)
    return client.post(f"/admin/doctors/{doctor_id}/photo", data=body, content_type=content_type)


def test_an_admin_uploads_a_doctors_photo_on_the_page(app, factory, admin_page):
    doctor = factory.doctor("therapist")
    page = admin_page.get(f"/admin/doctors/{doctor.id}")
    assert "Фотографии пока нет" in page.text and 'class="doctor-photo"' not in page.text
    r = _photo(admin_page, doctor.id, b"%PDF-1.4\n%%EOF\n", "cv.png")
    assert r.status_code == 302
    assert "Фотография должна быть в формате PNG или JPEG" in admin_page.get(r.headers["Location"]).text
    for size in (2 * 1024 * 1024, 3 * 1024 * 1024):  # found reading it; refused unread
        r = _photo(admin_page, doctor.id, PNG + b"\x00" * size)
        assert r.status_code == 302
        assert "больше 2 МБ" in admin_page.get(r.headers["Location"]).text
    token = csrf_token(admin_page.get(f"/admin/doctors/{doctor.id}").text)
    r = admin_page.post(
        f"/admin/doctors/{doctor.id}/photo", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert "Выберите файл PNG или JPEG" in admin_page.get(r.headers["Location"]).text
    with factory.db.session() as s:
        assert s.get(Doctor, doctor.id).photo_key is None

    r = _photo(admin_page, doctor.id, PNG)
    assert r.status_code == 302
    page = admin_page.get(r.headers["Location"])
    assert "Фотография сохранена" in page.text
    assert f'src="/api/v1/doctors/{doctor.id}/photo?v=' in page.text
    with factory.db.session() as s:
        assert s.get(Doctor, doctor.id).photo_type == "image/png"
    got = admin_page.get(f"/api/v1/doctors/{doctor.id}/photo")
    assert got.status_code == 200 and got.data == PNG
    assert ("write", "allowed") in _audit(factory.db, "doctor", doctor.id)
    # an unknown doctor: refused with the reason, nothing stored
    body, content_type = _form({"csrf_token": csrf_token(page.text)}, PNG, "p.png")
    r = admin_page.post(
        "/admin/doctors/999999/photo",
        data=body,
        content_type=content_type,
        headers={"Referer": "/admin/doctors"},
    )
    assert r.status_code == 302 and "Врач не найден" in admin_page.get("/admin/doctors").text
    assert ("write", "denied") in _audit(factory.db, "doctor", 999999)


# --- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_other_roles_get_403_on_the_user_pages_api_and_photo_upload(app, factory, role):
    doctor = factory.doctor()
    target = factory.user("target", role="doctor")
    factory.user("someone", role=role)
    client = page_login(app, "someone")
    token = csrf_token(client.get("/account").text)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users?q=target").status_code == 403
    # a refused post comes back with the reason (the pages' way), and changes nothing
    posts = [
        ("/admin/users", {**STAFF, "csrf_token": token}),
        (f"/admin/users/{target.id}/reset-second-factor", {"csrf_token": token}),
        (f"/admin/users/{target.id}/deactivate", {"csrf_token": token}),
    ]
    for path, data in posts:
        r = client.post(path, data=data, headers={"Referer": "/account"})
        assert r.status_code == 302 and r.headers["Location"].endswith("/account"), path
        shown = client.get("/account").text
        assert "Это могут делать только администраторы" in shown or "У вас нет прав" in shown, path
    body, content_type = _form({"csrf_token": token}, PNG, "p.png")
    r = client.post(
        f"/admin/doctors/{doctor.id}/photo",
        data=body,
        content_type=content_type,
        headers={"Referer": "/account"},
    )
    assert r.status_code == 302 and "Это могут делать только администраторы" in client.get("/account").text
    assert_error(ApiClient(app, "someone").get("/api/v1/admin/users"), 403, "forbidden")
    with factory.db.session() as s:
        assert s.get(User, target.id).is_active is True
        assert s.scalar(select(OtpEnrolment.user_id).where(OtpEnrolment.user_id == target.id)) == target.id
        assert s.scalar(select(User.id).where(User.username == STAFF["username"])) is None
        assert s.get(Doctor, doctor.id).photo_key is None

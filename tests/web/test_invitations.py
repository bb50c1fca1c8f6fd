"""New members are invited by e-mail: a one-time link to set a password, never a password."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from telemed.auth import invitations
from telemed.auth.models import Invitation, User
from telemed.db import Base
from telemed.notifications import mailer
from telemed.worker import run_due
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.support.smtp import SmtpServer

PASSWORD = "Колокольчик-над-рекой-42"
CSV = (
    "policy_number,full_name,birth_date,relation,main_policy_number,valid_from,valid_to,email\n"
    "P-700,Орлова Вера,01.02.1980,self,,01.01.2026,31.12.2026,vera@example.org\n"
)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def invited(app, factory, smtp):
    app.extensions["telemed.smtp"] = mailer.SmtpSettings.from_url(smtp.url)
    factory.user("root", role="admin")
    contract = factory.contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    r = ApiClient(app, "root").post(
        f"/api/v1/admin/contracts/{contract.id}/insured",
        data={"file": (io.BytesIO(CSV.encode()), "list.csv")},
        content_type="multipart/form-data",
    )
    assert r.json["applied"] is True, r.json


def link_in(message) -> str:
    body = message.get_body(("plain",)).get_content()
    [path] = re.findall(r"https?://[^/\s]+(/auth/invite/[A-Za-z0-9_-]+)", body)
    return path


def set_password(client, path: str, password: str = PASSWORD):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"password": password, "csrf_token": csrf_token(page.text)})


def test_the_invitation_link_sets_the_password_once(app, db, smtp, invited):
    run_due(app)
    [mail] = smtp.inbox.wait_for(1)
    assert smtp.inbox.envelopes[0][1] == ["vera@example.org"]
    assert "Приглашение" in mail["Subject"]
    path = link_in(mail)
    token = path.rsplit("/", 1)[1]
    with db.session() as s:  # the raw token is nowhere in the database
        dump = "\n".join(
            str(row) for table in Base.metadata.sorted_tables for row in s.execute(select(table))
        )
        assert token not in dump
        assert s.scalar(select(Invitation.token_hash)) == invitations.digest(token)
    assert "vera@example.org" in mail.get_body(("plain",)).get_content()  # the login to use

    client = app.test_client()
    assert set_password(client, path, "short").status_code == 422
    r = set_password(client, path)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert page_login(app, "vera@example.org", PASSWORD) is not None
    assert set_password(app.test_client(), path, PASSWORD + "!").status_code == 404  # used up
    with db.session() as s:
        assert s.scalar(select(Invitation.used_at)) is not None


def test_a_retry_mints_a_new_link_and_voids_the_older(app, db, smtp, invited):
    with db.session() as s:
        invitation_id = s.scalar(select(Invitation.id))
    with db.transaction() as s:
        first = invitations.mint(s, invitation_id, now=datetime.now(UTC))
    run_due(app)
    path = link_in(smtp.inbox.wait_for(1)[0])
    assert first and not path.endswith(first)
    assert set_password(app.test_client(), f"/auth/invite/{first}").status_code == 404
    assert set_password(app.test_client(), path).status_code == 302


def test_an_expired_link_is_refused(app, db, smtp, invited):
    run_due(app)
    path = link_in(smtp.inbox.wait_for(1)[0])
    with db.transaction() as s:
        s.execute(update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert set_password(app.test_client(), path).status_code == 404
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "vera@example.org"))
        assert not user.password_hash.startswith("$argon2")


def test_invite_is_usable_for_any_user_and_writes_its_notification(app, db, factory):
    user = factory.user("newdoc", role="doctor")
    with db.transaction() as s:
        s.execute(update(User).where(User.id == user.id).values(email="doc@example.org"))
        invitation = invitations.invite(s, user.id, now=datetime.now(UTC))
        assert invitation.expires_at - invitation.created_at == timedelta(days=7)
        assert invitation.token_hash is None
    with db.session() as s:
        rows = s.execute(
            text("SELECT kind, params FROM notifications WHERE user_id = :u"), {"u": user.id}
        ).all()
    assert [r[0] for r in rows] == ["invite"]

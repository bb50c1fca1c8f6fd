"""An admin in Chromium on «Пользователи»: creates a staff user, whose invitation arrives at a real SMTP
server; the new person follows the link, sets a password, logs in and sets up an authenticator. Then
the admin resets another user's second factor (they must enrol again) and deactivates them (they can
no longer log in)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from telemed.auth.models import OtpEnrolment, User
from telemed.notifications import mailer
from telemed.worker import run_due
from tests.e2e.test_accessibility import DESKTOP, open_menu
from tests.support import otp
from tests.support.factories import PASSWORD
from tests.support.smtp import SmtpServer
from tests.web.test_invitations import link_in

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "Колокольчик-над-рекой-42"


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.extensions["telemed.smtp"] = mailer.SmtpSettings.from_url(server.url)
        yield server


def _context(browser, live):
    return browser.new_context(base_url=live.url, viewport=DESKTOP)


def _log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _confirm(page, username: str, action: str, confirm: str) -> None:
    """Open the user's disclosure ``action`` and press its confirmation button ``confirm``."""
    item = page.locator(f"li[data-username={username}]")
    item.locator("summary", has_text=action).click()
    with page.expect_navigation():
        item.get_by_role("button", name=confirm).click()


def test_an_admin_creates_invites_resets_and_deactivates_users(app, db, factory, browser, live, smtp):
    factory.user("adm", role="admin", consent=False)
    factory.user("rec1", role="records", consent=False, name="Смирнова Ольга")
    context = _context(browser, live)
    try:
        page = context.new_page()
        _log_in(page, "adm", PASSWORD)
        if page.url.endswith("/login/code"):
            page.fill("input[name=code]", otp.next_code("adm"))
            with page.expect_navigation():
                page.click("button[type=submit]")
        open_menu(page)  # on a desktop the menu's links stand in the header
        page.get_by_role("link", name="Пользователи").click()
        page.wait_for_url("**/admin/users")

        # create a staff user: the invitation goes out by e-mail
        page.fill("input[name=username]", "drnew")
        page.fill("input[name=full_name]", "Петров Пётр")
        page.select_option("select[name=role]", "records")
        page.fill("input[name=email]", "petrov@example.org")
        with page.expect_navigation():
            page.get_by_role("button", name="Создать сотрудника").click()
        assert "Приглашение отправлено на petrov@example.org" in page.text_content("main")
        assert page.locator("li[data-username=drnew]").is_visible()
        run_due(app)
        [mail] = smtp.inbox.wait_for(1)
        assert smtp.inbox.envelopes[0][1] == ["petrov@example.org"]

        # the new person follows the link, sets a password, logs in and enrols an authenticator
        newcomer = _context(browser, live)
        try:
            own = newcomer.new_page()
            own.goto(link_in(mail))
            own.fill("input[name=password]", NEW_PASSWORD)
            with own.expect_navigation():
                own.get_by_role("button", name="Задать пароль").click()
            assert own.url.endswith("/login")
            _log_in(own, "drnew", NEW_PASSWORD)
            assert own.url.endswith("/login/enrol")
            secret = own.text_content(".otp-secret").strip()
            own.fill("input[name=code]", otp.next_code("drnew", secret))
            with own.expect_navigation():
                own.click("button[type=submit]")
            own.goto("/patients")
            assert own.url.endswith("/patients")  # the session is open: a records page answers
        finally:
            newcomer.close()

        # reset rec1's second factor: their next login asks them to enrol again
        _confirm(page, "rec1", "Сбросить второй фактор", "Да, сбросить")
        assert "Второй фактор rec1 сброшен" in page.text_content("main")
        with db.session() as s:
            rec1 = s.scalar(select(User).where(User.username == "rec1"))
            assert s.scalar(select(OtpEnrolment.user_id).where(OtpEnrolment.user_id == rec1.id)) is None
        other = _context(browser, live)
        try:
            theirs = other.new_page()
            _log_in(theirs, "rec1", PASSWORD)
            assert theirs.url.endswith("/login/enrol")
        finally:
            other.close()

        # deactivate rec1: the account can no longer log in
        _confirm(page, "rec1", "Деактивировать", "Да, деактивировать")
        assert "Учётная запись деактивирована" in page.text_content("main")
        assert page.locator("li[data-username=rec1] .badge", has_text="Деактивирован").is_visible()
        with db.session() as s:
            assert s.get(User, rec1.id).is_active is False
        other = _context(browser, live)
        try:
            theirs = other.new_page()
            _log_in(theirs, "rec1", PASSWORD)
            assert theirs.url.endswith("/login")
        finally:
            other.close()
        # and the admin has no button to deactivate themselves
        assert page.locator("li[data-username=adm] summary", has_text="Деактивировать").count() == 0
    finally:
        context.close()

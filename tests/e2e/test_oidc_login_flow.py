"""A member logs in through «Войти через Госуслуги» in Chromium: the login page, the real OpenID
provider's form, back to the cabinet."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from telemed.members.models import Policy
from tests.conftest import empty_tables, make_app
from tests.support import oidc

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(db_url, tmp_path, oidc_issuer):
    """The test app with the OpenID Connect login on (the e2e ``live`` server serves it)."""
    app = make_app(db_url, tmp_path, **oidc.oidc_config(oidc_issuer))
    empty_tables(app)
    yield app
    app.extensions["telemed.db"].dispose()


def test_a_member_logs_in_through_the_provider_and_lands_in_the_cabinet(
    app, factory, browser, live, oidc_issuer
):
    _anna, patient = factory.member("anna", contract=factory.contract(), birth_date=date(1990, 5, 17))
    with app.extensions["telemed.db"].transaction() as s:
        policy = s.scalar(select(Policy.number).where(Policy.patient_id == patient.id))
    sub = oidc.provider_user(oidc_issuer, {"birthdate": "1990-05-17", "policy_number": policy})
    context = browser.new_context(base_url=live.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.click("text=Войти через Госуслуги")
        page.wait_for_url(f"{oidc_issuer}/**")
        page.fill("input[name=sub]", sub)
        page.click("button:has-text('Authorize')")
        page.wait_for_url(f"{live.url}/cabinet")
        assert page.locator("h1").count() >= 1 and "/login" not in page.url
        assert page.locator("form[action='/logout']").count() == 1
    finally:
        context.close()


def test_the_button_and_the_refusal_page_pass_axe_and_tap_targets_on_a_phone(app, browser, live, oidc_issuer):
    from tests.e2e.test_accessibility import PHONE, severe_violations, small_targets

    sub = oidc.provider_user(oidc_issuer, {"birthdate": "1990-05-17", "policy_number": "NO-SUCH"})
    context = browser.new_context(base_url=live.url, viewport=PHONE, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/login")
        assert severe_violations(page) == [] and small_targets(page) == []
        page.click("text=Войти через Госуслуги")
        page.fill("input[name=sub]", sub)
        page.click("button:has-text('Authorize')")
        page.wait_for_url(f"{live.url}/auth/oidc/callback**")
        assert "Не нашли полис" in page.text_content("main")
        assert severe_violations(page) == [] and small_targets(page) == []
        page.click("text=Вернуться ко входу")
        page.wait_for_url(f"{live.url}/login")
    finally:
        context.close()

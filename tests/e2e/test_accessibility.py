"""The main pages in Chromium: axe-core finds no serious or critical violation (on a phone and on a
desktop), the phone header fits in one line behind a «Меню» button, and tap targets are at least 44 px.

axe-core comes from npm (``package.json``; ``npm ci`` puts it in ``node_modules``); it is injected
into each page by Playwright, in a context that bypasses the page's Content-Security-Policy (the
pages allow no inline script, which is how Playwright injects it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.browser import log_in
from tests.support.clients import ApiClient
from tests.support.factories import PASSWORD, make_consultation

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SEVERE = ("serious", "critical")
#: what a phone user taps: the header, buttons, form fields, the booking flow's days and slots, the pages' own
#: navigation (views, filters) and disclosure buttons
TAP_TARGETS = (
    "header a, header button, header summary, main button, main .button, main input:not([type=hidden]),"
    " main select, main textarea, main .day, main .slot, main .tile, main .row > a, main nav a, main summary"
)


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    factory.doctor("therapist", name="Иванов Пётр")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    current = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    later = make_consultation(factory, anna, patient, doctor, contract, start=start + timedelta(days=3))
    for status, days in (("cancelled", 4), ("completed", -3), ("no_show", -6)):
        make_consultation(
            factory, anna, patient, doctor, contract, start=start + timedelta(days=days), status=status
        )
    for username in ("anna", "drt"):
        sent = ApiClient(factory.app, username).post(
            f"/api/v1/consultations/{current.id}/messages", json={"text": f"Сообщение от {username}"}
        )
        assert sent.status_code == 201, sent.json
    slot = factory.slot(doctor, start + timedelta(days=2))
    return {"current": current, "later": later, "patient": patient, "doctor": doctor, "slot": slot}


def member_pages(w) -> list[str]:
    return [
        "/cabinet",
        "/consultations/new",
        "/consultations/new/therapist",
        f"/consultations/new/doctor/{w['doctor'].id}",
        f"/consultations/new/slot/{w['slot'].id}",
        f"/consultations/{w['current'].id}",
        f"/consultations/{w['later'].id}",
        f"/consultations/{w['current'].id}/room",
        "/check",
        "/record",
        "/second-opinions",
    ]


def doctor_pages(w) -> list[str]:
    return [
        "/schedule",
        f"/consultations/{w['current'].id}",
        f"/consultations/{w['current'].id}/room",
        f"/consultations/{w['current'].id}/conclusion",
        "/check",
        f"/patients/{w['patient'].id}/record",
    ]


@pytest.fixture
def open_as(browser, live):
    """``open_as(username or None, viewport)``: a page (logged in unless None) that axe can be injected into."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run 'npm ci' (axe-core is a dev dependency in package.json)")
    contexts = []
    errors: list[str] = []

    def open_page(username: str | None, viewport: dict):
        context = browser.new_context(base_url=live.url, viewport=viewport, bypass_csp=True)
        contexts.append(context)
        if username is None:
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            return page
        return log_in(context, username, PASSWORD, errors)

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def severe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on ``page``, one line each (rule, impact, elements)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in SEVERE
    ]


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)


def open_menu(page) -> None:
    """On a phone the links are behind «Меню»: open it so that axe and the tap check see them."""
    summary = page.locator("header details.menu > summary")
    if summary.count() and summary.is_visible():
        summary.click()
        assert page.locator("header details.menu").get_attribute("open") is not None


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_main_pages_have_no_serious_or_critical_axe_violations(world, open_as, viewport) -> None:
    found: list[str] = []
    page = open_as(None, viewport)
    visit(page, "/login")
    found += severe_violations(page)
    for username, urls in (("anna", member_pages(world)), ("drt", doctor_pages(world))):
        found += findings(open_as(username, viewport), urls)
    assert not found, "\n".join(found)


def findings(page, urls, *, targets: bool = False) -> list[str]:
    """axe-core's serious and critical violations on each of ``urls`` (the phone menu opened), and
    with ``targets`` the visible tap targets under 44 px, one line each."""
    found: list[str] = []
    for url in urls:
        visit(page, url)
        open_menu(page)
        found += severe_violations(page)
        if targets:
            found += [f"{url}: {target}" for target in small_targets(page)]
    return found


def small_targets(page) -> list[str]:
    """Visible tap targets smaller than 44 × 44 CSS pixels (a radio button's or check box's target is
    its label, which a tap on the text toggles as well)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .map((el) => (el.matches('[type=radio], [type=checkbox]') && el.closest('label')) || el)
            .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([el, r]) => r.width < 44 || r.height < 44)
            .map(([el, r]) => `${el.tagName.toLowerCase()}.${el.className} «${(el.textContent || el.name || '')
              .trim().slice(0, 30)}» ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        TAP_TARGETS,
    )


def test_phone_header_is_one_line_with_a_menu_and_tap_targets_are_44_px(world, open_as) -> None:
    page = open_as("anna", PHONE)
    visit(page, "/cabinet")
    header = page.locator("header.topbar")
    summary = page.locator("header details.menu > summary")
    assert summary.is_visible() and summary.text_content().strip() == "Меню"
    assert not page.locator("header nav a[href='/record']").is_visible()  # collapsed
    assert header.bounding_box()["height"] <= 64  # one line: brand, languages, the menu button
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    summary.click()
    page.locator("header nav a[href='/record']").click()  # the menu opens and its links work
    page.wait_for_url("**/patients/*/record")

    small: list[str] = []
    for username, urls in (("anna", member_pages(world)), ("drt", doctor_pages(world))):
        page = open_as(username, PHONE)
        for url in urls:
            visit(page, url)
            open_menu(page)
            small += [f"{url}: {target}" for target in small_targets(page)]
    assert not small, "\n".join(small)


def test_desktop_header_shows_the_links_without_a_menu_button(world, open_as) -> None:
    page = open_as("anna", DESKTOP)
    visit(page, "/cabinet")
    assert not page.locator("header details.menu > summary").is_visible()
    assert page.locator("header nav a[href='/record']").is_visible()
    assert page.locator("header.topbar").bounding_box()["height"] <= 64

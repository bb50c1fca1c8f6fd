"""Urgent consultation end to end: a member asks, a doctor on duty sees the request appear live on the
duty desk, takes it, and the member's waiting page turns into the video room without a reload."""

import pytest

from tests.e2e.conftest import wait_connected
from tests.support import urgent as u

pytestmark = pytest.mark.e2e

ON_DUTY = "document.querySelector('.duty-switch').checked"


@pytest.fixture
def w(factory):
    return u.world(factory)


def test_member_requests_doctor_takes_it_and_they_see_each_other(logged_in_page, w):
    doctor = logged_in_page("drt1")
    doctor.goto("/duty")
    doctor.wait_for_selector("#desk[data-live=true]")
    doctor.locator(".duty-switch").check()
    doctor.wait_for_selector(".duty-status >> text=Вы на дежурстве")
    assert doctor.evaluate(ON_DUTY)
    assert doctor.locator(".urgent-item").count() == 0

    member = logged_in_page("anna", viewport={"width": 390, "height": 844})
    member.goto("/cabinet")
    member.fill(".urgent-form textarea[name=reason]", "Температура 39")
    with member.expect_navigation():
        member.click(".urgent-form button[type=submit]")
    assert "/consultations/" in member.url
    member.wait_for_selector(".queue-position >> text=Ваше место в очереди: 1")
    assert "0–5 мин" in member.locator(".queue-estimate").inner_text()
    assert member.locator("#room").is_hidden()
    member.evaluate("window.sameDocument = true")  # gone after any reload or navigation

    item = doctor.locator(".urgent-item")  # appeared live, by the `urgent_queue` event
    item.wait_for()
    assert "Температура 39" in item.inner_text() and w["patient"].full_name in item.inner_text()
    doctor.wait_for_selector(".desk-alert >> text=Новая срочная заявка")
    assert doctor.title().startswith("(1)")
    with doctor.expect_navigation():
        item.locator("button.claim").click()
    assert doctor.url.endswith("/room")

    member.wait_for_selector("#room:not([hidden])")
    wait_connected(member)
    wait_connected(doctor)
    assert member.evaluate("window.sameDocument") is True  # no reload: the same page became the room
    assert member.locator("#urgent-waiting .queue-taken").is_visible()

    with doctor.expect_navigation():
        doctor.click("button.finish")
    doctor.wait_for_selector("text=Консультация завершена")

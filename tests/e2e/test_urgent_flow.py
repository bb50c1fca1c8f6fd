"""Urgent consultation end to end: a member asks, a doctor on duty sees the request appear live on the
duty desk, takes it, and the member's waiting page turns into the video room without a reload."""

import pytest

from tests.e2e.conftest import wait_connected
from tests.support import urgent as u
from tests.support.browser import wait_for

pytestmark = pytest.mark.e2e

ON_DUTY = "document.querySelector('.duty-switch').checked"
# Counts the desk's beeps (oscillators started through the Web Audio API).
COUNT_BEEPS = """
window.beeps = 0;
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.beeps += 1;
  return realStart.apply(this, args);
};
"""
# Keeps the desk's Socket.IO connection reachable (`window.deskSocket`), so a test can cut it.
KEEP_SOCKET = """
let realIo;
Object.defineProperty(window, "io", {
  configurable: true,
  get() { return realIo && ((...args) => (window.deskSocket = realIo(...args))); },
  set(value) { realIo = value; },
});
"""


@pytest.fixture
def w(factory):
    return u.world(factory)


def go_on_duty(page):
    page.goto("/duty")
    page.wait_for_selector("#desk[data-live=true]")
    page.locator(".duty-switch").check()
    page.wait_for_selector(".duty-status >> text=Вы на дежурстве")


def request_urgent(page, reason):
    page.goto("/cabinet")
    page.fill(".urgent-form textarea[name=reason]", reason)
    with page.expect_navigation():
        page.click(".urgent-form button[type=submit]")
    assert "/consultations/" in page.url


def test_member_requests_doctor_takes_it_and_they_see_each_other(logged_in_page, w):
    doctor = logged_in_page("drt1")
    doctor.add_init_script(COUNT_BEEPS)
    go_on_duty(doctor)
    assert doctor.evaluate(ON_DUTY)
    assert doctor.locator(".urgent-item").count() == 0

    member = logged_in_page("anna", viewport={"width": 390, "height": 844})
    request_urgent(member, "Температура 39")
    member.wait_for_selector(".queue-position >> text=Ваше место в очереди: 1")
    assert "0–5 мин" in member.locator(".queue-estimate").inner_text()
    assert member.locator("#room").is_hidden()
    member.evaluate("window.sameDocument = true")  # gone after any reload or navigation

    item = doctor.locator(".urgent-item").first  # appeared live, by the `urgent_queue` event
    item.wait_for()
    assert "Температура 39" in item.inner_text() and w["patient"].full_name in item.inner_text()
    doctor.wait_for_selector(".desk-alert >> text=Новая срочная заявка")
    assert doctor.title().startswith("(1)")
    assert doctor.evaluate("window.beeps") == 1
    second = logged_in_page("boris")  # behind anna in the queue
    request_urgent(second, "Кашель")
    second.wait_for_selector(".queue-position >> text=Ваше место в очереди: 2")
    wait_for(doctor, "document.querySelectorAll('.urgent-item').length === 2")
    with doctor.expect_navigation():
        item.locator("button.claim").click()
    assert doctor.url.endswith("/room")

    member.wait_for_selector("#room:not([hidden])")
    wait_connected(member)
    wait_connected(doctor)
    assert member.evaluate("window.sameDocument") is True  # no reload: the same page became the room
    assert member.locator("#urgent-waiting .queue-taken").is_visible()
    second.wait_for_selector(".queue-position >> text=Ваше место в очереди: 1")  # moved up, live
    assert second.locator("#room").is_hidden()

    with doctor.expect_navigation():
        doctor.click("button.finish")
    doctor.wait_for_selector("text=Консультация завершена")
    member.wait_for_selector("#urgent-waiting .queue-ended")  # told live, still on the same page
    assert member.evaluate("window.sameDocument") is True


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_request_another_doctor_took_leaves_the_desk_with_a_message(logged_in_page, w):
    first, second = logged_in_page("drt1"), logged_in_page("drt2")
    second.add_init_script(KEEP_SOCKET)
    for doctor in (first, second):
        go_on_duty(doctor)
    request_urgent(logged_in_page("anna"), "Боль в груди")
    for doctor in (first, second):
        doctor.locator(".urgent-item").wait_for()
    second.evaluate("window.deskSocket.disconnect()")  # it will not hear that the request was taken
    with first.expect_navigation():
        first.click(".urgent-item button.claim")
    second.click(".urgent-item button.claim")
    second.wait_for_selector(".desk-error >> text=Эту заявку уже взял другой врач.")
    assert second.locator(".urgent-item").count() == 0
    assert second.url.endswith("/duty")

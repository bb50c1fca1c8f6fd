"""A member and a doctor meet in the video room: two Chromium contexts with fake devices."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS, launch
from tests.support.factories import make_consultation

pytestmark = pytest.mark.e2e

CONNECTED = "document.querySelector('#room').dataset.callState === 'connected'"
REMOTE_PLAYING = ("(() => { const v = document.querySelector('video.remote');"
                  " return v.videoWidth > 0 && !v.paused && v.readyState >= 2; })()")


@pytest.fixture
def call(factory):
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    factory.member("boris", contract=contract)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return make_consultation(factory, member, patient, doctor, contract, start=start)


def wait_connected(page, timeout=30_000):
    page.wait_for_function(CONNECTED, timeout=timeout)
    page.wait_for_function(REMOTE_PLAYING, timeout=timeout)


def test_member_and_doctor_see_each_other_and_chat(logged_in_page, call):
    member = logged_in_page("anna", viewport={"width": 390, "height": 844})
    member.goto(f"/consultations/{call.id}/room")
    member.wait_for_function("document.querySelector('#room').dataset.callState === 'waiting'")
    doctor = logged_in_page("drt")
    doctor.goto(f"/consultations/{call.id}/room")
    wait_connected(member)
    wait_connected(doctor)
    member.fill("#chat textarea", "Доктор, вы меня слышите?")
    member.click("#chat button[type=submit]")
    doctor.wait_for_selector("#chat .message:not(.mine) >> text=Доктор, вы меня слышите?")

    member.reload()  # a reload brings the member back into the same call
    wait_connected(member)
    doctor.wait_for_function(f"{CONNECTED} && {REMOTE_PLAYING}", timeout=30_000)
    assert member.locator("#chat .message.mine").count() == 1  # the history came back too

    doctor.click("button.hangup")
    member.wait_for_function("document.querySelector('#room').dataset.callState === 'peer-left'")
    assert doctor.locator("button.rejoin").is_visible()
    doctor.click("button.rejoin")
    wait_connected(doctor)
    wait_connected(member)


def test_a_stranger_cannot_open_the_room(logged_in_page, call):
    page = logged_in_page("boris")
    response = page.goto(f"/consultations/{call.id}/room")
    assert response.status == 404


def test_denied_camera_shows_instructions_and_still_receives(playwright, logged_in_page, call):
    strict = launch(playwright, [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
                    + ["--deny-permission-prompts"])
    try:
        member = logged_in_page("anna", in_browser=strict, permissions=[])
        member.goto(f"/consultations/{call.id}/room")
        help_box = member.locator(".room-help")
        help_box.wait_for(state="visible")
        assert "камер" in help_box.inner_text()
        doctor = logged_in_page("drt")
        doctor.goto(f"/consultations/{call.id}/room")
        wait_connected(member)  # the member still sees and hears the doctor
    finally:
        strict.close()


"""A member and a doctor meet in the video room: two Chromium contexts with fake devices."""

import random
import time
from datetime import timedelta

import pytest

from telemed.video import service as video_service
from tests.e2e.conftest import CHROMIUM_ARGS, CONNECTED, REMOTE_PLAYING, launch, wait_connected
from tests.support.browser import wait_for

pytestmark = pytest.mark.e2e

CALL_CONTROLS = ("mic", "cam", "switch-camera", "hangup")
LOCAL_TRACKS = "document.querySelector('video.local').srcObject.getTracks()"


def test_member_and_doctor_see_each_other_and_chat(logged_in_page, call):
    member = logged_in_page("anna", viewport={"width": 390, "height": 844})
    member.goto(f"/consultations/{call.id}/room")
    wait_for(member, "document.querySelector('#room').dataset.callState === 'waiting'")
    doctor = logged_in_page("drt")
    doctor.goto(f"/consultations/{call.id}/room")
    wait_connected(member)
    wait_connected(doctor)
    member.fill("#chat textarea", "Доктор, вы меня слышите?")
    member.click("#chat button[type=submit]")
    doctor.wait_for_selector("#chat .message:not(.mine) >> text=Доктор, вы меня слышите?")

    member.reload()  # a reload brings the member back into the same call
    wait_connected(member)
    wait_for(doctor, f"{CONNECTED} && {REMOTE_PLAYING}", timeout=30_000)
    assert member.locator("#chat .message.mine").count() == 1  # the history came back too

    wait_for(doctor, "document.querySelector('.quality').textContent !== ''")  # shown in a call
    doctor.evaluate(f"window.tracksBefore = {LOCAL_TRACKS}")
    doctor.click("button.hangup")
    wait_for(member, "document.querySelector('#room').dataset.callState === 'peer-left'")
    assert doctor.evaluate("window.tracksBefore.map(t => t.readyState)") == ["ended", "ended"]  # camera off
    assert doctor.evaluate("document.querySelector('.quality').hidden")  # not just emptied
    assert [doctor.locator(f"button.{name}").is_visible() for name in CALL_CONTROLS] == [False] * 4
    assert doctor.locator("button.rejoin").is_visible()
    doctor.click("button.rejoin")
    wait_connected(doctor)
    wait_connected(member)
    assert doctor.evaluate(f"{LOCAL_TRACKS}.map(t => t.readyState)") == ["live", "live"]  # the media again
    assert doctor.locator("button.hangup").is_visible()


@pytest.mark.parametrize(
    ("start_in", "status", "says"),
    [
        (timedelta(hours=-3), "scheduled", "Видеокомната закрыта."),
        (timedelta(minutes=5), "cancelled", "Консультация отменена."),
        (timedelta(hours=2), "scheduled", "за 15 минут до начала"),
    ],
    ids=["over", "cancelled", "not-yet-open"],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_closed_room_shows_no_call_controls(logged_in_page, book_call, start_in, status, says):
    c = book_call(start_in=start_in, status=status)
    member = logged_in_page("anna")
    member.goto(f"/consultations/{c.id}/room")
    wait_for(member, "document.querySelector('#room').dataset.callState === 'closed'")
    assert says in member.locator(".room-status").inner_text()
    assert [member.locator(f"button.{name}").is_visible() for name in CALL_CONTROLS] == [False] * 4
    assert member.locator("button.rejoin").is_hidden()
    assert member.evaluate("document.querySelector('video.local').srcObject") is None  # no camera asked for


def test_a_stranger_cannot_open_the_room(logged_in_page, call):
    page = logged_in_page("boris")
    response = page.goto(f"/consultations/{call.id}/room")
    assert response.status == 404


def test_denied_camera_shows_instructions_and_still_receives(playwright, logged_in_page, call):
    strict = launch(
        playwright,
        [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"] + ["--deny-permission-prompts"],
    )
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


@pytest.fixture
def signal_jitter(monkeypatch):
    """The server handles each ``signal`` 0-60 ms late, as a loaded server may: in separate threads,
    so signals sent back to back without waiting for the ack would be relayed out of order."""
    validate = video_service.clean_signal

    def late(data):
        time.sleep(random.uniform(0, 0.06))
        return validate(data)

    monkeypatch.setattr(video_service, "clean_signal", late)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_entering_at_the_same_time_connects(logged_in_page, call, signal_jitter):
    # Both pages send `restart` and start negotiating at once: answers and candidates in flight for
    # a peer connection the other side has just replaced must not be applied to its new one.
    member, doctor = logged_in_page("anna"), logged_in_page("drt")
    member.goto(f"/consultations/{call.id}/room")
    doctor.goto(f"/consultations/{call.id}/room")
    for page in (member, doctor):
        wait_connected(page)

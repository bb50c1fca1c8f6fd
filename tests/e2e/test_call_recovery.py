"""A call survives network drops in the same page: ICE restarts, a signaling rejoin, no reload.

Media outages: both pages are relay-only (``ICE_TRANSPORT_POLICY=relay``) through a real coturn on
127.0.0.1, so killing coturn really cuts the media (Chromium's offline emulation does not touch
WebRTC). coturn then starts again on the same port with the same secret, and both pages must get
back to a connected call with remote video frames advancing, in the same document.

Signaling drops: the member's context goes offline and its Socket.IO connection is closed; back
online, the page rejoins (the chat catches up) and the call is connected again.

The pages' console output is printed, so a failure shows what the pages logged.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import CONNECTED, wait_connected
from tests.support.browser import wait_for
from tests.support.turn import Coturn, start_coturn

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

RECONNECTING = "document.querySelector('#room').dataset.callState === 'reconnecting'"
CHAT_OFFLINE = "document.querySelector('#chat').dataset.state === 'offline'"
# Counts the frames the remote <video> presents, whatever stream it shows, and marks the document.
WATCH = """() => {
  const video = document.querySelector('video.remote');
  window.remoteFrames = 0;
  window.sameDocument = performance.timeOrigin;
  const tick = () => { window.remoteFrames += 1; video.requestVideoFrameCallback(tick); };
  video.requestVideoFrameCallback(tick);
}"""
RECOVERY_TIMEOUT_MS = 60_000


@pytest.fixture
def coturn(app, tmp_path) -> Iterator[Coturn]:
    """A coturn the app hands out as its only ICE server, with the relay-only policy."""
    server = start_coturn(tmp_path)
    app.config.update(
        STUN_URLS="",
        TURN_URLS=server.url,
        TURN_SECRET=server.secret,
        TURN_TTL_SECONDS=600,
        ICE_TRANSPORT_POLICY="relay",
    )
    try:
        yield server
    finally:
        server.stop()


def in_call(logged_in_page, call) -> tuple[object, object, list[str]]:
    """Member and doctor pages in a connected call, watched; returns them and a navigation log."""
    member = logged_in_page("anna")
    doctor = logged_in_page("drt")
    navigations: list[str] = []
    for name, page in (("member", member), ("doctor", doctor)):
        page.on("console", lambda msg, name=name: print(f"{name} console: {msg.text}"))
        page.goto(f"/consultations/{call.id}/room")
        if name == "member":
            wait_for(page, "document.querySelector('#room').dataset.callState === 'waiting'")
    for page in (member, doctor):
        wait_connected(page)
        page.evaluate(WATCH)
        frames_advance(page)
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
    return member, doctor, navigations


def frames_advance(page, count: int = 15, timeout: int = 30_000) -> None:
    before = page.evaluate("window.remoteFrames")
    wait_for(page, f"window.remoteFrames >= {before + count}", timeout=timeout)


def assert_recovered(pages, navigations: list[str]) -> None:
    """Both pages connected again with remote video advancing, in the documents watched before."""
    for page in pages:
        wait_for(page, CONNECTED, timeout=RECOVERY_TIMEOUT_MS)
        frames_advance(page, timeout=RECOVERY_TIMEOUT_MS)
        assert page.evaluate("window.sameDocument === performance.timeOrigin")  # not reloaded
    assert navigations == []


def cut_media(coturn: Coturn, pages) -> None:
    """Kill coturn: every relay allocation is gone, so no media flows; both pages notice."""
    coturn.kill()
    for page in pages:
        wait_for(page, RECONNECTING, timeout=30_000)
    stalled = [page.evaluate("window.remoteFrames") for page in pages]
    pages[0].wait_for_timeout(1000)
    assert [page.evaluate("window.remoteFrames") for page in pages] == stalled


@pytest.mark.parametrize("outage_ms", [0, 8000], ids=["short", "long"])
def test_call_recovers_from_a_media_outage_without_reload(logged_in_page, call, coturn, outage_ms):
    # "long": the first ICE restarts happen while coturn is still down, so they must be retried
    member, doctor, navigations = in_call(logged_in_page, call)
    allocations = coturn.allocations()
    assert allocations >= 2  # both pages relay through coturn

    cut_media(coturn, (member, doctor))
    member.wait_for_timeout(outage_ms)
    coturn.start()  # same port, same secret: the credentials the pages hold are valid again

    assert_recovered((member, doctor), navigations)
    assert coturn.allocations() > allocations  # the pages allocated new relays after the outage


def test_rejoin_after_a_signaling_drop(logged_in_page, call):
    member, doctor, navigations = in_call(logged_in_page, call)
    member.context.set_offline(True)
    member.evaluate("window.telemedSocket.io.engine.close()")
    wait_for(member, CHAT_OFFLINE)
    doctor.fill("#chat textarea", "Вы меня слышите?")
    doctor.click("#chat button[type=submit]")
    doctor.wait_for_selector("#chat .message.mine >> text=Вы меня слышите?")

    member.context.set_offline(False)
    member.wait_for_selector(
        "#chat .message:not(.mine) >> text=Вы меня слышите?", timeout=20_000
    )  # caught up
    assert_recovered((member, doctor), navigations)


def test_rejoin_after_a_signaling_drop_during_a_media_outage(logged_in_page, call, coturn):
    # ICE restarts made while the member is away are stale when it rejoins: the member's page holds
    # its own and the doctor's reach nobody; the rejoin's `restart` must still end in a working call.
    member, doctor, navigations = in_call(logged_in_page, call)
    member.context.set_offline(True)
    member.evaluate("window.telemedSocket.io.engine.close()")
    wait_for(member, CHAT_OFFLINE)
    cut_media(coturn, (member, doctor))
    doctor.wait_for_timeout(6000)  # the doctor's page restarts ICE (3 s after the drop) in vain
    coturn.start()

    member.context.set_offline(False)
    assert_recovered((member, doctor), navigations)

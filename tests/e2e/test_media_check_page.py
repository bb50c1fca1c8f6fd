"""The pre-call check from Chromium (fake camera and microphone) against the server's aiortc peer."""

from __future__ import annotations

import pytest

from telemed.video.runtime import EXTENSION_KEY, media_check_service
from tests.e2e.conftest import CHROMIUM_ARGS, launch
from tests.support.browser import wait_for
from tests.video.test_media_check import wait_until

pytestmark = pytest.mark.e2e

REMOTE_VIDEO = """() => {
  const v = document.querySelector("#media-check .mc-remote");
  return {width: v.videoWidth, height: v.videoHeight, paused: v.paused, ready: v.readyState, time: v.currentTime};
}"""


def text(page, key: str) -> str:
    """A message of the page's (translated) message table."""
    return page.evaluate(f"JSON.parse(document.querySelector('#media-check .mc-i18n').textContent)[{key!r}]")


@pytest.fixture
def member(factory):
    return factory.member("anna", contract=factory.contract())


def test_check_connects_echoes_video_measures_and_hangs_up(app, member, logged_in_page) -> None:
    page = logged_in_page("anna", viewport={"width": 390, "height": 844})
    page.click("header details.menu > summary")  # a phone: the links are behind «Меню»
    page.click("header nav a[href='/check']")
    page.wait_for_url("**/check")
    root = page.locator("#media-check")
    assert root.get_attribute("data-state") == "idle"
    assert EXTENSION_KEY not in app.extensions  # nothing starts before the first check

    page.click("#media-check .mc-start")
    page.wait_for_selector('#media-check[data-state="connected"]', timeout=20_000)
    service = media_check_service(app)
    assert service.active_count() == 1
    page.wait_for_selector('#media-check[data-verdict="ok"]', timeout=20_000)

    video = page.evaluate(REMOTE_VIDEO)
    assert video["width"] > 0 and video["height"] > 0, video
    assert not video["paused"] and video["ready"] >= 2, video
    wait_for(
        page,
        f"() => document.querySelector('#media-check .mc-remote').currentTime > {video['time']}",
        timeout=5_000,
    )  # playing, not a frozen frame
    assert 0 <= int(root.get_attribute("data-rtt-ms")) < 300
    assert page.text_content("#media-check .mc-rtt").startswith(root.get_attribute("data-rtt-ms") + " ")
    assert float(root.get_attribute("data-loss-pct")) < 3
    assert int(root.get_attribute("data-audio-level") or 0) >= 0
    assert page.text_content("#media-check .mc-verdict") == text(page, "ok")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone, no sideways scroll

    page.click("#media-check .mc-stop")
    assert root.get_attribute("data-state") == "ended"
    assert root.get_attribute("data-verdict") == "ok"  # the result stays after hanging up
    assert wait_until(lambda: service.active_count() == 0, 10), "the server peer outlived the hang-up"
    assert page.evaluate("document.querySelector('#media-check .mc-local').srcObject") is None
    assert page.text_content("#media-check .mc-start") == text(page, "again")
    assert page.is_visible("#media-check .mc-start") and page.is_hidden("#media-check .mc-stop")


def test_leaving_the_page_closes_the_server_peer(app, member, logged_in_page) -> None:
    page = logged_in_page("anna")
    page.goto("/check")
    page.click("#media-check .mc-start")
    page.wait_for_selector('#media-check[data-state="connected"]', timeout=20_000)
    service = media_check_service(app)
    page.goto("/cabinet")
    assert wait_until(lambda: service.active_count() == 0, 10)


@pytest.fixture(scope="module")
def denying_browser(playwright):
    """A Chromium whose (fake) permission prompt always answers "block"."""
    args = [
        "--use-fake-ui-for-media-stream=deny" if a == "--use-fake-ui-for-media-stream" else a
        for a in CHROMIUM_ARGS
    ]
    browser = launch(playwright, args)
    yield browser
    browser.close()


def test_denied_camera_gets_plain_instructions(app, member, logged_in_page, denying_browser) -> None:
    page = logged_in_page("anna", in_browser=denying_browser, permissions=[])
    page.goto("/check")
    page.click("#media-check .mc-start")
    page.wait_for_selector('#media-check[data-verdict="denied"]', timeout=10_000)
    assert page.text_content("#media-check .mc-verdict") == text(page, "denied")
    assert page.locator("#media-check").get_attribute("data-state") == "error"
    assert EXTENSION_KEY not in app.extensions  # no offer was sent

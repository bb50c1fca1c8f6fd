"""The Debian Chromium for the end-to-end tests, one per test session (driven by Playwright's sync
API), shared by ``tests/e2e`` and ``tests/topology``: the root ``conftest.py`` imports its fixtures.

The browser has fake camera and microphone devices and grants them without a prompt. Without
``/usr/bin/chromium`` the tests that use it are skipped, unless ``TELEMED_REQUIRE_BROWSER=1`` (set by
``scripts/test.sh``), which makes that a failure. ``playwright install`` is not used: its browser
downloads are not available here.
"""

from __future__ import annotations

import os

import pytest

from tests.support import otp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
CONNECTED = "document.querySelector('#room').dataset.callState === 'connected'"
REMOTE_PLAYING = (
    "(() => { const v = document.querySelector('video.remote');"
    " return v.videoWidth > 0 && !v.paused && v.readyState >= 2; })()"
)


def launch(playwright, args=CHROMIUM_ARGS):
    """Start a headless Debian Chromium with ``args``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(args))


@pytest.fixture(scope="session")
def playwright():
    """Playwright's sync API for the session; skips (or fails) without the Debian Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing (Debian package 'chromium')"
        if os.environ.get("TELEMED_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and TELEMED_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    """One headless Chromium with fake camera and microphone that are allowed without a prompt."""
    browser = launch(playwright)
    try:
        yield browser
    finally:
        browser.close()


def wait_connected(page, timeout=30_000):
    """Wait until the room shows a connected call with the remote video playing."""
    page.wait_for_function(CONNECTED, timeout=timeout)
    page.wait_for_function(REMOTE_PLAYING, timeout=timeout)


def log_in(context, username: str, password: str, page_errors: list[str], secret: str = otp.SECRET):
    """A new page of ``context`` logged in as ``username`` through the real login form (and the code
    form, when asked: the next code of ``secret``); its uncaught errors are appended to ``page_errors``."""
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if page.url.endswith("/login/code"):
        page.fill("input[name=code]", otp.next_code(username, secret))
        with page.expect_navigation():
            page.click("button[type=submit]")
    assert "/login" not in page.url, f"login as {username!r} failed"
    return page

"""The Debian Chromium for the end-to-end tests, one per test session (driven by Playwright's sync
API), shared by ``tests/e2e`` and ``tests/topology``: the root ``conftest.py`` imports its fixtures.

The browser has fake camera and microphone devices and grants them without a prompt. Without
``/usr/bin/chromium`` the tests that use it are skipped, unless ``TELEMED_REQUIRE_BROWSER=1`` (set by
``scripts/test.sh``), which makes that a failure. ``playwright install`` is not used: its browser
downloads are not available here.
"""

from __future__ import annotations

import os
import time

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


def wait_for(page, expression: str, timeout: float = 30_000, polling: float = 0.1) -> None:
    """Wait until ``expression`` is truthy in ``page`` (``page.wait_for_function`` compiles it with
    ``new Function``, which the pages' Content-Security-Policy refuses; ``evaluate`` is not affected)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout / 1000:.0f} s: {expression}")
        time.sleep(polling)


def wait_connected(page, timeout=30_000):
    """Wait until the room shows a connected call with the remote video playing."""
    wait_for(page, CONNECTED, timeout=timeout)
    wait_for(page, REMOTE_PLAYING, timeout=timeout)


POLICY_VIOLATIONS = ("Content Security Policy", "Content-Security-Policy", "Permissions policy")


def _policy_violation(message, page_errors: list[str]) -> None:
    """Chromium reports a refused inline script, style, connection or device use on the console."""
    if any(marker in message.text for marker in POLICY_VIOLATIONS):
        page_errors.append(f"{message.type}: {message.text}")


def log_in(context, username: str, password: str, page_errors: list[str], secret: str = otp.SECRET):
    """A new page of ``context`` logged in as ``username`` through the real login form (and the code
    form, when asked: the next code of ``secret``); its uncaught errors, and what the browser refused
    by the page's Content-Security-Policy or Permissions-Policy, are appended to ``page_errors``."""
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("console", lambda message: _policy_violation(message, page_errors))
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

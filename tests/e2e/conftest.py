"""End-to-end fixtures: the Debian Chromium driven by Playwright against a live app.

The browser has fake camera and microphone devices and grants them without a
prompt. Without ``/usr/bin/chromium`` the e2e tests are skipped, unless
``TELEMED_REQUIRE_BROWSER=1`` (set by ``scripts/test.sh``), which makes that a failure.
``playwright install`` is not used: its browser downloads are not available here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from telemed.video.runtime import shutdown_media
from tests.support.browser import (  # noqa: F401  (re-exported for the e2e tests)
    CHROMIUM,
    CHROMIUM_ARGS,
    CONNECTED,
    REMOTE_PLAYING,
    launch,
    log_in,
    wait_connected,
)
from tests.support.factories import PASSWORD, make_consultation
from tests.support.live import LiveServer


@pytest.fixture
def live(app) -> Iterator[LiveServer]:
    """The test ``app`` served on 127.0.0.1; its media checks are shut down afterwards."""
    try:
        with LiveServer(app) as server:
            yield server
    finally:
        shutdown_media(app)


@pytest.fixture
def logged_in_page(browser, live) -> Iterator[Callable[..., object]]:
    """``logged_in_page(username, *, in_browser=None, **context_options)``: a logged-in page.

    Each call opens a fresh context (in ``in_browser``, by default the session's browser) that may
    use the camera and microphone, and logs in through the real login form. Uncaught page errors
    fail the test at teardown.
    """
    contexts = []
    page_errors: list[str] = []

    def open_page(username: str, *, in_browser=None, **context_options):
        options = {"permissions": ["camera", "microphone"], **context_options}
        context = (in_browser or browser).new_context(base_url=live.url, **options)
        contexts.append(context)
        return log_in(context, username, PASSWORD, page_errors)

    yield open_page
    for context in contexts:
        context.close()
    assert page_errors == []


@pytest.fixture
def book_call(factory) -> Callable[..., object]:
    """``book_call(*, start_in=timedelta(minutes=5), status="scheduled")``: a consultation of member
    ``anna`` with doctor ``drt`` (``boris`` is a member of the same contract, not party to it)."""
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    factory.member("boris", contract=contract)

    def book(*, start_in: timedelta = timedelta(minutes=5), status: str = "scheduled"):
        start = datetime.now(UTC).replace(microsecond=0) + start_in
        return make_consultation(factory, member, patient, doctor, contract, start=start, status=status)

    return book


@pytest.fixture
def call(book_call):
    """A consultation of member ``anna`` with doctor ``drt`` starting in 5 minutes (the room is open)."""
    return book_call()

"""The pre-call check over HTTP: ``POST /api/v1/media-check/offer`` and the ``/check`` page.

A real aiortc client (from tests/video/test_media_check.py) stands in for the browser.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from telemed.video.aioloop import AsyncioThread
from telemed.video.runtime import EXTENSION_KEY, media_check_service, shutdown_media
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.video.test_media_check import EchoClient, no_logged_warnings, wait_until  # noqa: F401 (autouse fixture)

OFFER = "/api/v1/media-check/offer"


@pytest.fixture(autouse=True)
def media(app) -> Iterator[None]:
    """No loop thread or peer outlives a test."""
    yield
    shutdown_media(app)


@pytest.fixture
def client_loop() -> Iterator[AsyncioThread]:
    thread = AsyncioThread("test-client").start()
    yield thread
    thread.stop()


@pytest.fixture
def anna(factory):
    return factory.member("anna", contract=factory.contract())


def new_client(loop: AsyncioThread, **kwargs) -> EchoClient:
    """An aiortc client closed with the loop. Close it only once connected: EchoClient's readers
    never end when its connection closes before any media arrived."""
    client = EchoClient(**kwargs)
    loop.add_shutdown_callback(client.close)
    return client


def offer_json(loop: AsyncioThread, client: EchoClient) -> dict:
    sdp, kind = loop.run(client.offer())
    return {"sdp": sdp, "type": kind}


def test_anonymous_is_refused(app) -> None:
    r = app.test_client().post(OFFER, json={"sdp": "v=0\r\n", "type": "offer"})
    assert r.status_code == 401 and r.json["error"]["code"] == "not_authenticated"
    assert EXTENSION_KEY not in app.extensions  # refused before anything started


@pytest.mark.parametrize(
    "body",
    [
        {"type": "answer", "sdp": "v=0\r\n"},
        {"sdp": "v=0\r\n"},
        {"type": "offer"},
        {"type": "offer", "sdp": 42},
        {"type": "offer", "sdp": ["v=0"]},
        {"type": "offer", "sdp": "   "},
        {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 5000},  # over 20 kB
        {"type": "offer", "sdp": "hello"},
        {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video nonsense\r\n"},
        {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"},  # no media
    ],
)
def test_bad_offers_are_422_invalid_offer(app, anna, body) -> None:
    r = ApiClient(app, "anna").post(OFFER, json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid_offer" and r.json["error"]["message"]
    assert EXTENSION_KEY not in app.extensions or media_check_service(app).active_count() == 0


def test_a_body_that_is_not_json_is_a_400_and_a_huge_one_422(app, anna) -> None:
    api = ApiClient(app, "anna")
    r = api.client.post(
        OFFER,
        data="sdp=v%3D0",
        headers={**api._headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    r = api.post(OFFER, json={"type": "offer", "sdp": "v=0\r\n", "padding": "x" * 100_000})
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_offer"


def test_real_client_gets_an_answer_and_its_media_echoed(app, anna, client_loop) -> None:
    client = new_client(client_loop)
    r = ApiClient(app, "anna").post(OFFER, json=offer_json(client_loop, client))
    assert r.status_code == 200, r.json
    assert r.json["type"] == "answer" and r.json["sdp"].startswith("v=0")
    assert "a=candidate:" in r.json["sdp"]  # complete: no trickle ICE needed
    client_loop.run(client.accept(r.json))
    assert wait_until(lambda: client.state == "connected", 10), client.state
    service = media_check_service(app)
    assert service.active_count() == 1

    assert wait_until(lambda: len(client.counters) >= 10 and len(client.audio_rms) >= 10, 10)
    decoded = [n for n in client.counters if n is not None]
    assert len(set(decoded)) >= 5 and decoded == sorted(decoded)  # our own frames, in order
    assert max(client.audio_rms) > 1000

    client_loop.run(client.close(), timeout=10)  # hang up
    assert wait_until(lambda: service.active_count() == 0, 5)


def test_page_session_needs_the_csrf_header(app, anna, client_loop) -> None:
    browser = page_login(app, "anna")
    token = csrf_token(browser.get("/check").text)
    client = new_client(client_loop, size=(160, 120), audio=False)
    body = offer_json(client_loop, client)
    refused = browser.post(OFFER, json=body)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    r = browser.post(OFFER, json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json["type"] == "answer"


def test_busy_is_503_until_a_check_ends(app, anna, client_loop) -> None:
    app.config["MEDIA_CHECK_MAX_PEERS"] = 1  # read when the service starts, on the first check
    api = ApiClient(app, "anna")
    first, second = (new_client(client_loop, size=(160, 120), audio=False) for _ in range(2))
    r = api.post(OFFER, json=offer_json(client_loop, first))
    client_loop.run(first.accept(r.json))
    assert wait_until(lambda: first.state == "connected", 10), first.state
    busy = api.post(OFFER, json=offer_json(client_loop, second))
    assert busy.status_code == 503 and busy.json["error"]["code"] == "media_check_busy"
    client_loop.run(first.close(), timeout=10)
    assert wait_until(lambda: media_check_service(app).active_count() == 0, 5)
    third = new_client(client_loop, size=(160, 120), audio=False)
    assert api.post(OFFER, json=offer_json(client_loop, third)).status_code == 200


def test_rate_limited_per_user(app, factory, anna) -> None:
    app.config["MEDIA_CHECK_RATE_LIMIT"] = "2 per minute"
    factory.member("boris")
    anna_api, boris_api = ApiClient(app, "anna"), ApiClient(app, "boris")
    bad = {"type": "offer", "sdp": "hello"}
    assert [anna_api.post(OFFER, json=bad).status_code for _ in range(3)] == [422, 422, 429]
    assert anna_api.post(OFFER, json=bad).json["error"]["code"] == "rate_limited"
    assert boris_api.post(OFFER, json=bad).status_code == 422  # another user is not affected


def test_shutdown_closes_checks_and_a_later_check_starts_afresh(app, anna, client_loop) -> None:
    api = ApiClient(app, "anna")
    client = new_client(client_loop, size=(160, 120), audio=False)
    r = api.post(OFFER, json=offer_json(client_loop, client))
    client_loop.run(client.accept(r.json))
    service = media_check_service(app)
    assert wait_until(lambda: client.state == "connected", 10)
    shutdown_media(app)
    assert service.active_count() == 0 and EXTENSION_KEY not in app.extensions
    assert wait_until(lambda: client.state == "closed", 5), client.state  # the server hung up
    again = new_client(client_loop, size=(160, 120), audio=False)
    assert api.post(OFFER, json=offer_json(client_loop, again)).status_code == 200
    assert media_check_service(app) is not service


# -- the page (its behaviour in a browser: tests/e2e/test_media_check_page.py) --


def test_check_page_needs_login_and_starts_nothing(app, anna) -> None:
    r = app.test_client().get("/check")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    html = page_login(app, "anna").get("/check").text
    assert 'id="media-check"' in html and 'data-state="idle"' in html
    assert '"offerUrl": "/api/v1/media-check/offer"' in html and "media-check.js" in html
    assert 'href="/check"' in html  # the navigation link
    assert EXTENSION_KEY not in app.extensions


def test_check_page_hands_the_browser_the_configured_ice_servers(app, anna) -> None:
    app.config.update(
        STUN_URLS="stun:stun.example.org:3478", TURN_URLS="turn:turn.example.org:3478", TURN_SECRET="s3cret"
    )
    html = page_login(app, "anna").get("/check").text
    assert "stun:stun.example.org:3478" in html and "turn:turn.example.org:3478" in html
    assert '"credential":' in html and "s3cret" not in html

"""An ended login's connections end within a second: every serving process polls the count of
ended logins (``sockets.watch_endings``) and disconnects its connections whose credential no
longer holds, so a logged-out, revoked, password-changed, ended or deactivated device stops
receiving what is sent to its rooms."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from telemed.auth import service as auth_service
from telemed.auth.models import User
from telemed.sockets import end_revoked, live_connections, watch_endings
from tests.support.clients import ApiClient
from tests.support.factories import PASSWORD
from tests.support.live import SocketClient
from tests.support.sql import statements_run


@pytest.fixture
def relay(app, live):
    relay = app.extensions["telemed.relay"].start()  # as `telemed serve` does
    yield relay
    relay.stop()


def until(condition, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_a_revoked_token_s_connection_is_ended_and_hears_nothing_more(app, live, relay, connect, world):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    for client in (anna, doctor):
        assert client.call("join", {"consultation_id": cid})["ok"] is True
    assert len(live_connections(app)) == 2

    r = requests.delete(
        f"{live.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {world['tokens']['anna']}"},
        timeout=10,
    )
    assert r.status_code == 204
    until(lambda: not anna.sio.connected)  # within the relay's revalidation period
    assert (
        anna.received("disconnect")[-1] == "server disconnect"
    )  # the server ended it: no automatic reconnect
    assert doctor.sio.connected and len(live_connections(app)) == 1

    doctor.call("message", {"consultation_id": cid, "text": "после выхода"})
    time.sleep(0.3)
    assert [m["text"] for m in anna.received("message")] == []


def test_valid_connections_are_left_alone(app, live, connect, world):
    connect("anna")
    connect("drt")
    assert end_revoked(app) == 0
    assert len(live_connections(app)) == 2


def _ended_within(client, started: float, bound: float = 3.0) -> float:
    """Wait for the server to end ``client``'s connection; the seconds it took (asserted under a
    generous ``bound``: the design's figure is under a second, see ``ENDINGS_POLL_SECONDS``)."""
    until(lambda: not client.sio.connected, timeout=bound)
    assert client.received("disconnect")[-1] == "server disconnect"
    return time.monotonic() - started


def test_a_revoked_socket_is_out_of_its_room_within_a_second(app, live, relay, connect, world):
    """Point 1 of issue 13: a revoked socket stops receiving the room's chat messages and is
    disconnected within about a second (the bound here is 3 s against a loaded machine)."""
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    for client in (anna, doctor):
        assert client.call("join", {"consultation_id": cid})["ok"] is True
    assert doctor.call("message", {"consultation_id": cid, "text": "до"})["ok"] is True
    assert [m["text"] for m in anna.wait_for("message")] == ["до"]

    started = time.monotonic()
    r = requests.delete(
        f"{live.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {world['tokens']['anna']}"},
        timeout=10,
    )
    assert r.status_code == 204
    took = _ended_within(anna, started)
    print(f"\nrevoked socket disconnected after {took:.2f} s")
    assert doctor.call("message", {"consultation_id": cid, "text": "после"})["ok"] is True
    assert [m["text"] for m in doctor.wait_for("message", 2)] == ["до", "после"]
    time.sleep(0.3)
    assert [m["text"] for m in anna.received("message")] == ["до"]


def _page_login(live, username: str) -> requests.Session:
    """Log in through the login form of the live server."""
    http = requests.Session()
    page = http.get(f"{live.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    r = http.post(
        f"{live.url}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302
    return http


def test_logout_of_a_page_ends_its_socket(app, live, relay, world):
    http = _page_login(live, "anna")
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    page = SocketClient(live.url, headers={"Cookie": cookie}).connect()
    try:
        html = http.get(f"{live.url}/account", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]  # type: ignore[index]
        started = time.monotonic()
        r = http.post(f"{live.url}/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].endswith("/login")
        _ended_within(page, started)
    finally:
        page.close()


def test_a_password_change_ends_the_other_logins_sockets_not_its_own(app, live, relay, connect, world):
    anna = connect("anna")
    other_token = ApiClient(app, "anna").token
    other = SocketClient(live.url, token=other_token).connect()
    try:
        started = time.monotonic()
        r = requests.post(
            f"{live.url}/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": "violet-harbour-quantum-7"},
            headers={"Authorization": f"Bearer {world['tokens']['anna']}"},
            timeout=10,
        )
        assert r.status_code == 204, r.text
        _ended_within(other, started)
        assert anna.sio.connected and anna.call("join", {"consultation_id": world["consultation"].id})["ok"]
    finally:
        other.close()


def test_ending_a_session_from_the_list_ends_its_socket(app, live, relay, connect, world):
    anna, boris = connect("anna"), connect("boris")
    api = ApiClient(app, "anna")
    target = next(s for s in api.get("/api/v1/me/sessions").json if not s["current"])
    started = time.monotonic()
    assert api.delete(f"/api/v1/me/sessions/{target['id']}").status_code == 204
    _ended_within(anna, started)
    assert boris.sio.connected


def test_deactivating_a_user_ends_their_sockets(app, live, relay, connect, world, factory):
    factory.user("root", role="admin")
    anna, doctor = connect("anna"), connect("drt")
    started = time.monotonic()
    r = ApiClient(app, "root").post(f"/api/v1/admin/users/{world['member'].id}/deactivate")
    assert r.status_code == 204
    _ended_within(anna, started)
    assert doctor.sio.connected


def test_an_idle_poll_reads_one_value(app, live, connect, world):
    """With no ending and no expiry due, a poll is one primary-key read, however many connect."""
    connect("anna")
    connect("drt")
    assert watch_endings(app) == 0  # learns the connections' expiries
    with statements_run(app.extensions["telemed.db"].engine) as statements:
        assert watch_endings(app) == 0
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == [
        next(s for s in statements if "credential_endings" in s)
    ]


def test_a_connection_ends_when_its_token_expires(app, live, world):
    """No ending is counted when a token expires: the poll re-checks a credential at its expiry."""
    with app.extensions["telemed.db"].transaction() as s:
        user = s.get(User, world["member"].id)
        raw = auth_service.issue_token(s, user, now=datetime.now(UTC), ttl=timedelta(seconds=1.5))
    client = SocketClient(live.url, token=raw).connect()
    try:
        assert watch_endings(app) == 0
        time.sleep(1.6)
        assert watch_endings(app) == 1
        until(lambda: not client.sio.connected, timeout=3)
    finally:
        client.close()


def test_closing_a_websocket_whose_socket_is_already_closed_is_quiet(app):
    """The race a server disconnect can meet under gunicorn: Engine.IO's writer thread closes the
    WebSocket after the request's thread has closed the socket (EBADF)."""
    from telemed.extensions import socketio

    wrapper = socketio.server.eio._async["websocket"].func

    class ClosedSocket:
        connected = True

        def close(self):
            raise OSError(9, "Bad file descriptor")

    ws = wrapper.__new__(wrapper)
    ws.ws = ClosedSocket()
    ws.close()  # no exception

"""A revoked credential's connections end: every serving process checks its own connections'
credentials periodically (``sockets.end_revoked``) and disconnects those that no longer hold, so a
logged-out device stops receiving what is sent to its rooms."""

import time

import pytest
import requests

from telemed.sockets import end_revoked, live_connections


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

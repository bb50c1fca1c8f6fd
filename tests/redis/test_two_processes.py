"""Two ``telemed serve`` processes over one PostgreSQL and one Redis (``TELEMED_REDIS_URL``) act as
one: login rate limits count across both, and Socket.IO events reach clients on the other process."""

import time

import pytest
import requests

from tests.conftest import empty_tables, make_app
from tests.support import urgent as u
from tests.support.clients import ApiClient, open_room
from tests.support.factories import Factory
from tests.support.live import SocketClient
from tests.support.serve import ServeProcess

BAD_LOGIN = {"username": "nobody", "password": "wrong"}


@pytest.fixture(scope="module")
def servers(postgresql_url, redis_server, tmp_path_factory):
    """Processes A and B: the same database, the same Redis, the default login limit (10 a minute)."""
    base = tmp_path_factory.mktemp("two-processes")
    settings = {
        "DATABASE_URL": postgresql_url,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "test-secret",
        "PASSWORD_HASH": "argon2-fast",
        "LOGIN_RATE_LIMIT": "10 per minute",
        "INSTANCE_DIR": str(base / "instance"),
    }
    started: list[ServeProcess] = []
    try:
        for name in ("A", "B"):
            started.append(ServeProcess(name, settings, base / f"{name}.log").start())
        yield started
    finally:
        for server in started:
            server.stop()
    for server in started:  # e.g. "Cannot publish to redis... giving up": an emit was dropped
        assert "Traceback" not in server.log() and "redis..." not in server.log(), server.log()[-3000:]


@pytest.fixture
def pg_app(postgresql_url, tmp_path, redis_url):
    """An in-test app on the servers' database, emptied; ``redis_url`` empties Redis too."""
    app = make_app(postgresql_url, tmp_path)
    empty_tables(app)
    yield app
    app.extensions["telemed.db"].dispose()


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_ten_bad_logins_spread_over_both_processes_refuse_the_eleventh(servers, pg_app):
    a, b = servers
    for i in range(10):
        server = (a, b)[i % 2]  # five on each: neither process alone reaches its limit
        r = requests.post(f"{server.url}/api/v1/auth/token", json=BAD_LOGIN, timeout=10)
        assert r.status_code == 401, (server.name, i, r.text)
    for server in (a, b):
        assert_rate_limited(requests.post(f"{server.url}/api/v1/auth/token", json=BAD_LOGIN, timeout=10))


@pytest.fixture
def world(pg_app):
    return open_room(pg_app)


@pytest.fixture
def clients():
    opened: list[SocketClient] = []
    yield opened
    for client in opened:
        client.close()


def test_chat_crosses_processes(servers, world, clients):
    a, b = servers
    cid = world["consultation"].id
    anna = SocketClient(a.url, token=world["tokens"]["anna"]).connect()  # the member on A
    clients.append(anna)
    doctor = SocketClient(b.url, token=world["tokens"]["drt"]).connect()  # the doctor on B
    clients.append(doctor)
    assert anna.call("join", {"consultation_id": cid})["ok"] is True
    assert doctor.call("join", {"consultation_id": cid})["ok"] is True
    presence = anna.wait_for("presence", 2)  # the doctor joining on B is heard on A
    assert len(presence) >= 2, presence

    ack = anna.call("message", {"consultation_id": cid, "text": "from A"})
    assert ack["ok"] is True
    got = doctor.wait_for("message")
    assert [(m["id"], m["text"]) for m in got] == [(ack["id"], "from A")]

    reply = doctor.call("message", {"consultation_id": cid, "text": "from B"})
    assert reply["ok"] is True
    heard = anna.wait_for("message", 2)
    assert [m["text"] for m in heard] == ["from A", "from B"]  # each exactly once, in order
    assert [m["text"] for m in doctor.received("message")] == ["from A", "from B"]


def test_webrtc_signals_cross_processes(servers, world, clients):
    a, b = servers
    cid = world["consultation"].id
    anna = SocketClient(a.url, token=world["tokens"]["anna"]).connect()
    clients.append(anna)
    doctor = SocketClient(b.url, token=world["tokens"]["drt"]).connect()
    clients.append(doctor)
    assert anna.call("join", {"consultation_id": cid})["ok"] is True
    assert doctor.call("join", {"consultation_id": cid})["ok"] is True
    offer = {"consultation_id": cid, "type": "offer", "sdp": "v=0\r\n", "pc": "d1"}
    assert doctor.call("signal", offer) == {"ok": True, "delivered": 1}
    got = anna.wait_for("signal")
    assert [(m["type"], m["sdp"], m["from"]["role"]) for m in got] == [("offer", "v=0\r\n", "doctor")]
    answer = {"consultation_id": cid, "type": "answer", "sdp": "v=0\r\n", "pc": "m1", "to_pc": "d1"}
    assert anna.call("signal", answer) == {"ok": True, "delivered": 1}
    assert [m["type"] for m in doctor.wait_for("signal")] == ["answer"]


def test_an_api_message_on_one_process_reaches_sockets_on_the_other(servers, world, clients):
    a, b = servers
    cid = world["consultation"].id
    doctor = SocketClient(b.url, token=world["tokens"]["drt"]).connect()
    clients.append(doctor)
    assert doctor.call("join", {"consultation_id": cid})["ok"] is True
    r = requests.post(
        f"{a.url}/api/v1/consultations/{cid}/messages",
        json={"text": "posted on A"},
        headers={"Authorization": f"Bearer {world['tokens']['anna']}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    got = doctor.wait_for("message")
    assert [m["text"] for m in got] == ["posted on A"]


def test_the_urgent_queue_crosses_processes(servers, pg_app, clients):
    """A request made on A reaches the doctor on duty connected to B; B's claim reaches the member on A."""
    a, b = servers
    u.world(Factory(pg_app))
    tokens = {name: ApiClient(pg_app, name).token for name in ("anna", "drt1")}

    def api(server, name, method, path, body=None):
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        return requests.request(method, f"{server.url}/api/v1{path}", json=body, headers=headers, timeout=10)

    doctor = SocketClient(b.url, token=tokens["drt1"]).connect()
    clients.append(doctor)
    assert api(b, "drt1", "PUT", "/duty", {"on_duty": True}).status_code == 200
    asked = api(a, "anna", "POST", "/urgent", {"reason": "Fever"})
    assert asked.status_code == 201, asked.text
    cid = asked.json()["id"]
    added = doctor.wait_for("urgent_queue")
    assert [(e["action"], e["request"]["id"]) for e in added] == [("added", cid)]

    anna = SocketClient(a.url, token=tokens["anna"]).connect()
    clients.append(anna)
    assert anna.call("join", {"consultation_id": cid})["ok"] is True
    assert api(b, "drt1", "POST", f"/urgent/{cid}/claim").status_code == 200
    deadline = time.monotonic() + 10
    while not [s for s in anna.received("urgent_status") if s["status"] == "in_progress"]:
        assert time.monotonic() < deadline, anna.received("urgent_status")
        time.sleep(0.02)
    taken = [s for s in anna.received("urgent_status") if s["status"] == "in_progress"]
    assert taken[0]["doctor"]["name"] == "Therapist One" and taken[0]["queue"] is None


def test_a_token_revoked_on_one_process_ends_its_socket_on_the_other(servers, world, clients):
    """Issue 13, point 1: B notices A's revocation through the database within about a second,
    and the socket hears nothing more of its room."""
    a, b = servers
    cid = world["consultation"].id
    anna = SocketClient(b.url, token=world["tokens"]["anna"]).connect()  # the member on B
    clients.append(anna)
    doctor = SocketClient(a.url, token=world["tokens"]["drt"]).connect()
    clients.append(doctor)
    for client in (anna, doctor):
        assert client.call("join", {"consultation_id": cid})["ok"] is True
    started = time.monotonic()
    r = requests.delete(
        f"{a.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {world['tokens']['anna']}"},
        timeout=10,
    )
    assert r.status_code == 204
    while anna.sio.connected:
        assert time.monotonic() - started < 3, "the socket on B was not ended"
        time.sleep(0.02)
    print(f"\nsocket on the other process disconnected after {time.monotonic() - started:.2f} s")
    assert anna.received("disconnect")[-1] == "server disconnect"
    assert doctor.call("message", {"consultation_id": cid, "text": "после"})["ok"] is True
    time.sleep(0.5)
    assert [m["text"] for m in anna.received("message")] == []

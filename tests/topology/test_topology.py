"""Over the production topology (``conftest.py``): nginx's shipped site serves HTTPS, WebSocket and
long-polling to two app processes, trusts and passes exactly the client's address, refuses oversize
bodies in the app's error shape; and a process killed mid-conversation loses nothing: its member
reconnects through nginx to the other process and catches up, and its ghosts expire."""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import time

import pytest
import requests
from sqlalchemy import select

from telemed.urgent.models import DutyConnection
from telemed.video.aioloop import AsyncioThread
from telemed.video.models import RoomPresence
from tests.support import urgent as u
from tests.support.clients import ApiClient, open_room
from tests.support.factories import Factory
from tests.support.live import SocketClient
from tests.support.nginx import Nginx
from tests.support.rtc_peer import DOCTOR_TAG, MEMBER_TAG, RtcPeer

# the clients trust the test's self-signed certificate without verifying it
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def until(condition, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def https(nginx: Nginx, method: str, path: str, *, source: str = "127.0.0.1", body=None, headers=None):
    """A request to nginx from the loopback address ``source`` (the client's address nginx sees)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection(
        "127.0.0.1", nginx.https_port, context=context, source_address=(source, 0), timeout=30
    )
    try:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        hdrs = {"Content-Type": "application/json", **(headers or {})} if data is not None else headers or {}
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_the_shipped_site_passes_nginx_t(tmp_path):
    result = Nginx(tmp_path, [8001, 8002]).check()
    assert result.returncode == 0, result.stderr


def test_plain_http_is_redirected_and_https_names_no_version(topology):
    r = requests.get(
        f"http://127.0.0.1:{topology.nginx.http_port}/healthz", allow_redirects=False, timeout=10
    )
    assert r.status_code == 301 and r.headers["Location"].startswith("https://")
    status, headers, body = https(topology.nginx, "GET", "/readyz")
    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}
    assert headers["Server"] == "nginx"  # no version, no app server
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_app_sees_the_client_address_nginx_saw_and_nothing_a_client_forged(topology, pg_app):
    """Login limits count per client address: ten bad logins from one address refuse its eleventh,
    while another address (even one forging X-Forwarded-For) still gets an honest 401."""
    for i in range(10):  # a different username each time: only the address limit can trip
        status, _h, _b = https(
            topology.nginx,
            "POST",
            "/api/v1/auth/token",
            source="127.0.0.2",
            body={"username": f"nobody{i}", "password": "wrong"},
        )
        assert status == 401
    status, _h, body = https(
        topology.nginx,
        "POST",
        "/api/v1/auth/token",
        source="127.0.0.2",
        body={"username": "someone", "password": "wrong"},
    )
    assert status == 429 and json.loads(body)["error"]["code"] == "rate_limited"
    status, _h, _b = https(
        topology.nginx,
        "POST",
        "/api/v1/auth/token",
        source="127.0.0.3",
        body={"username": "someone", "password": "wrong"},
        headers={"X-Forwarded-For": "127.0.0.2"},
    )
    assert status == 401


def test_a_body_over_the_upload_limit_is_refused_in_the_app_s_error_shape(topology):
    status, headers, body = https(
        topology.nginx,
        "POST",
        "/api/v1/consultations/1/attachments",
        body=b"x" * (27 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 413 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def _world(pg_app):
    room = open_room(pg_app)
    return room["consultation"].id, room["tokens"]


def test_websocket_and_long_polling_both_work_through_nginx(topology, pg_app):
    cid, tokens = _world(pg_app)
    anna = SocketClient(topology.nginx.url, token=tokens["anna"], ssl_verify=False).connect()
    doctor = SocketClient(
        topology.nginx.url, token=tokens["drt"], ssl_verify=False, transports=("polling",)
    ).connect()
    try:
        assert anna.sio.transport() == "websocket" and doctor.sio.transport() == "polling"
        assert anna.call("join", {"consultation_id": cid}, timeout=30)["ok"] is True
        assert doctor.call("join", {"consultation_id": cid}, timeout=30)["ok"] is True
        sent = doctor.call("message", {"consultation_id": cid, "text": "Добрый день"})
        assert [m["id"] for m in anna.wait_for("message")] == [sent["id"]]
    finally:
        anna.close()
        doctor.close()


def _serving_behind_nginx(topology):
    """The app process nginx sends this machine's Socket.IO clients to (``ip_hash``, and they all
    share one address): the one that knows the Engine.IO session of a handshake made through nginx
    (posting the session's close packet answers 200 there, 400 on the other)."""
    opened = requests.get(
        f"{topology.nginx.url}/socket.io/?EIO=4&transport=polling", verify=False, timeout=10
    )
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    sid = json.loads(opened.text[1:])["sid"]
    knows = [
        server
        for server in topology.servers
        if requests.post(
            f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="1", timeout=10
        ).status_code
        == 200
    ]
    assert len(knows) == 1, f"{len(knows)} processes know the session"
    return knows[0]


def kill(server) -> None:
    """SIGKILL to the ``telemed serve`` process and its worker at once: a crash, no goodbye."""
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)


def test_a_process_killed_mid_conversation_loses_nothing_and_leaves_no_ghost(topology, pg_app):
    cid, tokens = _world(pg_app)
    db = pg_app.extensions["telemed.db"]
    anna = SocketClient(
        topology.nginx.url, token=tokens["anna"], ssl_verify=False, reconnection=True
    ).connect()
    assert anna.call("join", {"consultation_id": cid}, timeout=30)["ok"] is True
    first = _serving_behind_nginx(topology)
    other = topology.b if first is topology.a else topology.a
    doctor = SocketClient(other.url, token=tokens["drt"]).connect()  # the doctor on the other process
    try:
        assert doctor.call("join", {"consultation_id": cid}, timeout=30)["ok"] is True
        hello = doctor.call("message", {"consultation_id": cid, "text": "Здравствуйте"})
        assert [m["id"] for m in anna.wait_for("message")] == [hello["id"]]
        last_seen = hello["id"]

        kill(first)  # mid-conversation
        missed = [
            doctor.call("message", {"consultation_id": cid, "text": f"пока вас не было {i}"})["id"]
            for i in range(3)
        ]

        until(lambda: len(anna.received("connect")) >= 2)  # reconnected, through nginx, to the other process
        caught_up = anna.call("join", {"consultation_id": cid, "after": last_seen}, timeout=30)
        assert [m["id"] for m in caught_up["messages"]] == missed
        reply = anna.call("message", {"consultation_id": cid, "text": "Я снова здесь"})
        until(lambda: reply["id"] in [m["id"] for m in doctor.received("message")])  # the other way too

        def ghosts() -> list[str]:
            with db.session() as s:
                rows = s.scalars(select(RoomPresence).where(RoomPresence.consultation_id == cid))
                return sorted({r.process_id for r in rows})

        until(lambda: len(ghosts()) == 1)  # the worker removed the killed process's presence
        # both are there, each once (anna's place in the order is her new arrival's, before or after the
        # ghost's expiry announced it)
        until(
            lambda: (
                sorted(p["role"] for p in anna.received("presence")[-1]["participants"])
                == ["doctor", "member"]
            )
        )
    finally:
        anna.close()
        doctor.close()
        first.start()  # the next test has both processes again
        until(lambda: requests.get(f"{first.url}/healthz", timeout=2).status_code == 200)


def test_a_killed_process_s_doctor_is_off_duty_after_the_grace_time(topology, pg_app):
    w = u.world(Factory(pg_app))
    token = ApiClient(pg_app, "drt1").token
    first = topology.a
    doctor = SocketClient(first.url, token=token).connect()
    try:
        r = requests.put(
            f"{first.url}/api/v1/duty",
            json={"on_duty": True},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["on_duty"] is True
        kill(first)

        def duty() -> bool:
            r = requests.get(
                f"{topology.b.url}/api/v1/duty", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            return r.json()["on_duty"]

        def connections() -> list:
            with pg_app.extensions["telemed.db"].session() as s:
                return s.scalars(select(DutyConnection).where(DutyConnection.doctor_id == w["t1"].id)).all()

        until(lambda: not duty() and connections() == [], timeout=30)  # the worker forgot the ghost
    finally:
        doctor.close()
        first.start()


def test_a_request_for_another_host_name_never_reaches_the_app(topology):
    status = None
    try:
        status, _h, _b = https(topology.nginx, "GET", "/healthz", headers={"Host": "evil.example.com"})
    except (http.client.RemoteDisconnected, ConnectionResetError):
        pass  # 444: nginx closes the connection without an answer
    assert status is None


def test_an_aiortc_call_between_a_member_on_one_process_and_a_doctor_on_the_other(topology, pg_app):
    cid, _tokens = _world(pg_app)
    loops = AsyncioThread("member-peer").start(), AsyncioThread("doctor-peer").start()
    member = RtcPeer(topology.a.url, "anna", cid, loops[0])
    doctor = RtcPeer(topology.b.url, "drt", cid, loops[1])
    try:
        member.start()
        doctor.start()
        assert member.join()["room_open"] is True
        doctor.join()
        assert member.wait_connected(20), (member.states, member.log)
        assert doctor.wait_connected(20), (doctor.states, doctor.log)
        assert member.wait_frames(10) and doctor.wait_frames(10), (member.frames, doctor.frames)
        for peer, tag in ((member, DOCTOR_TAG), (doctor, MEMBER_TAG)):  # frames the other side made
            assert {t for t, _ in peer.decoded()} == {tag}
            assert all(s["ack"] == {"ok": True, "delivered": 1} for s in peer.log.sent)  # across processes
    finally:
        for peer in (member, doctor):
            peer.close()
        for loop in loops:
            loop.stop()


def test_a_logout_on_one_process_ends_the_connections_on_the_other(topology, pg_app):
    cid, tokens = _world(pg_app)
    anna = SocketClient(topology.b.url, token=tokens["anna"]).connect()
    try:
        assert anna.call("join", {"consultation_id": cid}, timeout=30)["ok"] is True
        r = requests.delete(
            f"{topology.a.url}/api/v1/auth/token",
            headers={"Authorization": f"Bearer {tokens['anna']}"},
            timeout=10,
        )
        assert r.status_code == 204
        until(lambda: not anna.sio.connected)
        assert anna.received("disconnect")[-1] == "server disconnect"
    finally:
        anna.close()

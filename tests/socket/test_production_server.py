"""``telemed serve`` (gunicorn, gthread worker) as a real process on a loopback port: HTTP, Socket.IO
over WebSocket, no version in ``Server``, and a graceful stop on SIGTERM (in-flight requests finish,
Socket.IO clients reconnect, no chat message is lost or half-written)."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import threading
import time
import warnings

import pytest
import requests
import socketio
import websocket

from bench.servers import ServerProcess, free_port, telemed_serve_argv
from telemed import errors
from telemed.chat.models import Message
from telemed.chat.writer import Outgoing
from telemed.shutdown import Outcome, shutdown
from tests.support.clients import PASSWORD


class Serve:
    """Starts ``telemed serve`` processes on the test's database; stops them all at the end."""

    def __init__(self, db_url: str, tmp_path):
        self.env = {
            **os.environ,
            "TELEMED_DATABASE_URL": db_url,
            "TELEMED_INSTANCE_DIR": str(tmp_path / "instance"),
            "TELEMED_SECRET_KEY": "test-secret",
            "TELEMED_PASSWORD_HASH": "argon2-fast",
            "TELEMED_LOGIN_RATE_LIMIT": "1000 per minute",
        }
        self.tmp_path = tmp_path
        self.started: list[ServerProcess] = []

    def start(self, port: int | None = None) -> ServerProcess:
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        server = ServerProcess(
            "telemed serve",
            telemed_serve_argv(port),
            self.env,
            self.tmp_path / f"serve-{len(self.started)}.log",
            f"{url}/healthz",
        )
        self.started.append(server)
        server.wait_ready()
        server.url = url  # type: ignore[attr-defined]
        server.port = port  # type: ignore[attr-defined]
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def serve(db_url, tmp_path):
    s = Serve(db_url, tmp_path)
    yield s
    s.stop_all()


def terminate(server: ServerProcess, timeout: float = 15) -> int:
    """SIGTERM to ``telemed serve`` (gunicorn's master, which stops its worker); its exit status."""
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(timeout)


class Client:
    """A python-socketio client over WebSocket that reconnects by itself and records its
    connections, disconnect reasons and ``message`` events."""

    def __init__(self, url: str, token: str):
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5)
        self.connects, self.reasons, self.messages = 0, [], []
        self._cond = threading.Condition()
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("message", self._on_message)
        self.sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def _note(self, update) -> None:
        with self._cond:
            update()
            self._cond.notify_all()

    def _on_connect(self):
        self._note(lambda: setattr(self, "connects", self.connects + 1))

    def _on_disconnect(self, reason=None):
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None and reason == self.sio.reason.TRANSPORT_ERROR:
            ws.shutdown()  # python-engineio leaves a dropped WebSocket's socket open
        self._note(lambda: self.reasons.append(reason))

    def _on_message(self, data):
        self._note(lambda: self.messages.append(data))

    def wait(self, predicate, timeout: float = 20) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def reconnected(self, times: int, timeout: float = 30) -> bool:
        """Wait until connected for the ``times``-th time (``connected`` is set just after ``connect``)."""
        deadline = time.monotonic() + timeout
        if not self.wait(lambda: self.connects >= times, timeout):
            return False
        while not self.sio.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sio.connected

    def close(self):
        """Disconnect (without waiting for a WebSocket close frame), or stop trying to reconnect."""
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:
            close = ws.close
            ws.close = lambda *args, **kwargs: close(timeout=0.2)
        self.sio.shutdown()


@pytest.fixture(autouse=True)
def _collect_dropped_client_sockets():
    """The socket of a connection a server dropped may be left by the python-engineio client (and
    by a refused ``requests`` call) for the garbage collector. Collect it when the test that made it
    ends, so its ``ResourceWarning`` does not surface in a later test's setup: a client library's
    leftover, not the server's."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def clients():
    made: list[Client] = []

    def make(url: str, token: str) -> Client:
        made.append(Client(url, token))
        return made[-1]

    yield make
    for client in made:
        client.close()


def test_shutdown_drops_the_transports_closes_the_writer_and_stops_the_relay(app, live, clients, world):
    """The function ``telemed serve`` runs on SIGTERM, in process (here under Werkzeug)."""
    relay = app.extensions["telemed.relay"].start()
    anna = clients(live.url, world["tokens"]["anna"])
    assert shutdown(app, timeout=5) == Outcome(sockets_closed=1, chat_drained=True)
    assert anna.wait(lambda: anna.reasons)
    assert anna.reasons == [anna.sio.reason.TRANSPORT_ERROR]
    assert not relay.running
    with pytest.raises(errors.DomainError) as refused:
        app.extensions["telemed.chat_writer"].send(Outgoing(object(), world["consultation"].id, "late"))
    assert refused.value.code == "internal_error"
    assert anna.reconnected(2)  # the server itself still runs here: the client is back at once


@pytest.mark.slow
def test_http_and_socketio_work_and_no_header_names_a_version(serve, clients, world):
    server = serve.start()
    r = requests.get(f"{server.url}/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    missing = requests.get(f"{server.url}/no-such-page", timeout=5)
    assert missing.status_code == 404
    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=5
    )
    try:
        upgrade_headers = ws.getheaders()
        assert ws.recv().startswith("0{")  # Engine.IO "open" over a real WebSocket
    finally:
        ws.close(timeout=0.2)
    for headers in (r.headers, missing.headers, upgrade_headers):
        server_header = headers.get("Server") or headers.get("server") or ""
        assert not any(ch.isdigit() for ch in server_header), server_header
        assert "python" not in server_header.lower() and "werkzeug" not in server_header.lower()

    cid = world["consultation"].id
    anna = clients(server.url, world["tokens"]["anna"])
    doctor = clients(server.url, world["tokens"]["drt"])
    assert anna.sio.transport() == "websocket"
    assert anna.sio.call("join", {"consultation_id": cid}, timeout=10)["ok"]
    assert doctor.sio.call("join", {"consultation_id": cid}, timeout=10)["ok"]
    ack = anna.sio.call("message", {"consultation_id": cid, "text": "hello over gunicorn"}, timeout=10)
    assert ack["ok"]
    assert doctor.wait(lambda: any(m["id"] == ack["id"] for m in doctor.messages))


@pytest.mark.slow
def read_response(conn: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length: (status line and headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, body
        body += chunk
    return head, body


def test_sigterm_lets_an_inflight_request_finish(serve, world):
    server = serve.start()
    body = json.dumps({"username": "anna", "password": PASSWORD}).encode()
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    try:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(conn)[0].startswith(b"HTTP/1.1 200")  # the worker has this connection
        conn.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)  # the request is being handled: the app waits for the rest of the body
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.proc.poll() is None  # still running: it waits for this request
        conn.sendall(body[10:])
        head, payload = read_response(conn)
    finally:
        conn.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["token"]
    assert server.proc.wait(15) == 0
    with pytest.raises(requests.ConnectionError):  # and it no longer serves
        requests.get(f"{server.url}/healthz", timeout=2)


@pytest.mark.slow
def test_sigterm_makes_socketio_clients_reconnect_and_loses_no_chat_message(serve, clients, app, world):
    server = serve.start()
    cid = world["consultation"].id
    anna = clients(server.url, world["tokens"]["anna"])
    assert anna.sio.call("join", {"consultation_id": cid}, timeout=10)["ok"]
    first = anna.sio.call("message", {"consultation_id": cid, "text": "before"}, timeout=10)
    assert first["ok"]

    doctor = clients(server.url, world["tokens"]["drt"])
    assert doctor.sio.call("join", {"consultation_id": cid}, timeout=10)["ok"]
    acks: dict[str, dict] = {}
    answered = threading.Event()

    def answer(text: str):
        def record(ack):
            acks[text] = ack
            answered.set()

        return record

    sent = []
    for i in range(30):  # not waiting for the acks: many are still unread or being stored at SIGTERM
        for name, client in (("anna", anna), ("drt", doctor)):
            sent.append(f"{name} {i}")
            client.sio.emit("message", {"consultation_id": cid, "text": sent[-1]}, callback=answer(sent[-1]))
    assert answered.wait(10)
    assert terminate(server) == 0
    for client in (anna, doctor):
        assert client.wait(lambda c=client: c.reasons)
        assert client.reasons[0] == client.sio.reason.TRANSPORT_ERROR  # not SERVER_DISCONNECT: it reconnects
        assert client.connects == 1

    again = serve.start(port=server.port)  # the same address, restarted
    assert anna.reconnected(2)
    rejoin = anna.sio.call("join", {"consultation_id": cid, "after": first["id"]}, timeout=10)
    assert rejoin["ok"]
    with app.extensions["telemed.db"].session() as s:
        stored = [m.text for m in s.query(Message).filter_by(consultation_id=cid).order_by(Message.id)]
    assert stored[0] == "before"
    assert set(stored[1:]) <= set(sent)  # whole messages only, each at most once
    assert len(stored[1:]) == len(set(stored[1:]))
    for text, ack in acks.items():  # an acknowledged message is stored; a refused one is not
        assert (text in stored) == bool(ack["ok"]), (text, ack)
    assert [m["text"] for m in rejoin["messages"]] == stored[1:]
    assert terminate(again) == 0


@pytest.mark.slow
def test_sigterm_is_not_held_by_a_websocket_client_that_never_answers(serve):
    server = serve.start()
    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=5
    )
    try:
        assert ws.recv().startswith("0{")  # then reads nothing more: the close frame goes unanswered
        started = time.monotonic()
        try:
            status = terminate(server, timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"SIGTERM held for 20 s; the server said:\n{server.log_tail()}") from None
        assert status == 0
        assert time.monotonic() - started < 10  # not the 30 s graceful timeout
    finally:
        ws.shutdown()
    assert "cut 1 WebSocket connections" in server.log_tail()

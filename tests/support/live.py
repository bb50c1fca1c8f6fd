"""A live HTTP + Socket.IO server on 127.0.0.1 for socket and browser tests."""

from __future__ import annotations

import contextlib
import itertools
import json
import struct
import threading
import time

import requests
import socketio
import websocket
from werkzeug.serving import make_server


class LiveServer:
    """Serves ``app`` on a free port in a thread.

    On exit it also waits (up to ``drain_seconds``) for the threads of the requests it accepted: a
    WebSocket's thread runs the ``disconnect`` handler after its client has gone, and that work must
    finish while the test's database engine still exists (else a connection is left to the garbage
    collector, and psycopg warns).
    """

    def __init__(self, app, drain_seconds: float = 15):
        self.app = app
        self.drain_seconds = drain_seconds
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._requests: list[threading.Thread] = []
        self.server.process_request = self._process_request  # type: ignore[method-assign]

    def _process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.server.process_request_thread, args=(request, client_address), daemon=True
        )
        self._requests.append(thread)
        thread.start()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        deadline = time.monotonic() + self.drain_seconds
        for thread in self._requests:
            thread.join(max(0.0, deadline - time.monotonic()))


class SocketClient:
    """A python-socketio client that records the events it receives."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        headers: dict | None = None,
        transports: tuple[str, ...] = ("websocket",),
        reconnection: bool = False,
        ssl_verify: bool = True,
    ):
        self.url, self.token, self.headers, self.transports = url, token, headers or {}, list(transports)
        http = None
        if not ssl_verify:  # a test's self-signed certificate; the environment's CA bundle must not win
            http = requests.Session()
            http.trust_env, http.verify = False, False
        self.sio = socketio.Client(
            reconnection=reconnection, reconnection_delay=0.2, ssl_verify=ssl_verify, http_session=http
        )
        self.events: dict[str, list] = {}
        self._cond = threading.Condition()
        for name in (
            "message",
            "typing",
            "read",
            "presence",
            "signal",
            "urgent_queue",
            "urgent_status",
            "notification",
        ):
            self.sio.on(name, self._recorder(name))
        # every (re)connection, and every disconnection with its reason (e.g. "transport close")
        self.sio.on("connect", lambda: self._recorder("connect")(True))
        self.sio.on("disconnect", lambda *reason: self._recorder("disconnect")(reason[0] if reason else None))

    def _recorder(self, name):
        def record(data):
            with self._cond:
                self.events.setdefault(name, []).append(data)
                self._cond.notify_all()

        return record

    def connect(self):
        self.sio.connect(
            self.url,
            auth={"token": self.token} if self.token else None,
            headers=self.headers,
            transports=self.transports,
            wait_timeout=10,
        )
        return self

    def call(self, event: str, data, timeout: float = 10):
        return self.sio.call(event, data, timeout=timeout)

    def wait_for(self, name: str, count: int = 1, timeout: float = 10) -> list:
        with self._cond:
            self._cond.wait_for(lambda: len(self.events.get(name, [])) >= count, timeout)
            return list(self.events.get(name, []))

    def received(self, name: str) -> list:
        with self._cond:
            return list(self.events.get(name, []))

    def close(self):
        """Disconnect without waiting 3 s for the server's WebSocket close frame, which it never sends."""
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:
            close = ws.close
            ws.close = lambda *args, **kwargs: close(timeout=0.2)
        if self.sio.connected:
            self.sio.disconnect()


class Closed(Exception):
    """The server closed the WebSocket, with this close code."""

    def __init__(self, code: int | None):
        super().__init__(f"closed by the server ({code})")
        self.code = code


class RawSocketIO:
    """A Socket.IO v5 client speaking the wire protocol itself over a WebSocket, to send packets
    that no client library would (broken JSON, oversize frames, binary data)."""

    def __init__(self, url: str, token: str):
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(ws_url, timeout=10)
        assert self.receive().startswith("0{")  # Engine.IO "open"
        self.send("0" + json.dumps({"token": token}))  # Socket.IO CONNECT to "/"
        connected = self.receive()
        assert connected.startswith("0{"), connected
        self._ids = itertools.count(1)

    def send(self, packet: str | bytes) -> None:
        """Send a Socket.IO packet (as an Engine.IO message), or bytes as a binary message."""
        if isinstance(packet, bytes):
            self.ws.send_binary(packet)
        else:
            self.ws.send("4" + packet)

    def receive(self, timeout: float = 10) -> str:
        """The next Engine.IO packet: a message's payload (a Socket.IO packet), else the whole packet
        (Engine.IO pings are answered on the way); ``Closed`` when the server closes."""
        self.ws.settimeout(timeout)
        while True:
            try:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("nothing received") from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise Closed(struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None)
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            data = frame.data.decode()
            if data == "2":
                self.ws.send("3")
                continue
            return data[1:] if data.startswith("4") else data

    def call(self, raw: str, timeout: float = 10):
        """Send ``2<id><raw>`` (an event asking for an ack) and return the ack's data."""
        ack_id = next(self._ids)
        self.send(f"2{ack_id}{raw}")
        return self.ack(ack_id, timeout)

    def ack(self, ack_id: int, timeout: float = 10):
        while True:
            data = self.receive(timeout)
            if data.startswith(f"3{ack_id}["):
                return json.loads(data[len(f"3{ack_id}") :])[0]

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close(timeout=0.2)
        self.ws.shutdown()  # the socket, even when the close handshake failed

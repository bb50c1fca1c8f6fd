"""The Socket.IO event contract at its edges (issue 10): every refusal is an ack with a documented code,
over real sockets, on SQLite and PostgreSQL."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import socketio

from tests.support.live import SocketClient

ROOT = Path(__file__).resolve().parents[2]


def test_a_stranger_cannot_leave_a_room_and_nobody_hears_of_it(connect, world):
    cid = world["consultation"].id
    anna, boris = connect("anna"), connect("boris")
    assert anna.call("join", {"consultation_id": cid})["ok"]
    before = len(anna.wait_for("presence"))
    ack = boris.call("leave", {"consultation_id": cid})
    assert ack == {"ok": False, "error": {"code": "not_found", "message": "Consultation not found."}}
    time.sleep(0.2)
    assert len(anna.received("presence")) == before and boris.received("presence") == []


def test_a_party_leaves_and_the_room_hears_it(connect, world):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": cid})
    doctor.call("join", {"consultation_id": cid})
    assert [p["role"] for p in anna.wait_for("presence", 2)[-1]["participants"]] == ["member", "doctor"]
    assert doctor.call("leave", {"consultation_id": cid}) == {"ok": True}
    assert [p["role"] for p in anna.wait_for("presence", 3)[-1]["participants"]] == ["member"]
    anna.call("message", {"consultation_id": cid, "text": "still there?"})
    anna.wait_for("message")
    time.sleep(0.2)
    assert doctor.received("message") == []  # left the room: hears nothing more


def refusal_of(url: str, **kwargs) -> list:
    """Connect and return what the client's ``connect_error`` handler received."""
    client = SocketClient(url, **kwargs)
    got: list = []
    client.sio.on("connect_error", lambda *data: got.extend(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()
    return got


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_refused_connection_says_why_in_json(live, world, token):
    """The CONNECT_ERROR packet is ``{message, data: {code, message}}``: socket.io-client's
    ``connect_error`` gives ``err.message`` and ``err.data.code``; other clients read the same JSON."""
    (data,) = refusal_of(live.url, token=token)
    assert data == {
        "message": "Please log in.",
        "data": {"code": "not_authenticated", "message": "Please log in."},
    }


def test_a_refusal_speaks_the_handshakes_language(live, world):
    (data,) = refusal_of(live.url, token="forged", headers={"Accept-Language": "ru"})
    assert data["data"]["code"] == "not_authenticated" and data["message"] == data["data"]["message"]
    assert data["message"] != "Please log in."


NODE_CLIENT = """
const { io } = require("socket.io-client");
const socket = io(process.argv[1], { transports: ["websocket"], reconnection: false, auth: { token: "forged" } });
socket.on("connect_error", (err) => {
  console.log(JSON.stringify({ message: err.message, data: err.data }));
  process.exit(0);
});
setTimeout(() => process.exit(2), 10000);
"""


@pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is not installed (scripts/setup.sh installs it)"
)
def test_socket_io_client_reads_the_refusal_code(live, world):
    """What the pages' own library (socket.io-client, from node_modules) makes of a refusal."""
    out = subprocess.run(
        ["node", "-e", NODE_CLIENT, live.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    err = json.loads(out.stdout)
    assert err["message"] == "Please log in."
    assert err["data"] == {"code": "not_authenticated", "message": "Please log in."}

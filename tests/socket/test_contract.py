"""The Socket.IO event contract at its edges (issue 10): every refusal is an ack with a documented code,
over real sockets, on SQLite and PostgreSQL."""

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import socketio

from tests.support.factories import make_consultation
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


OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


@pytest.fixture
def call(factory, world):
    """A consultation whose room is open (it starts in 5 minutes)."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return make_consultation(
        factory, world["member"], world["patient"], world["doctor"], world["contract"], start=start
    )


@pytest.mark.parametrize("value", ["yes", 1, 0, "", [], {}, 1.5])
def test_typing_must_be_a_boolean(connect, world, value):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": cid})
    ack = doctor.call("typing", {"consultation_id": cid, "typing": value})
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert ack["error"]["details"] == {"field": "typing"}
    time.sleep(0.1)
    assert anna.received("typing") == []


def test_typing_true_false_or_absent(connect, world):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": cid})
    for extra in ({}, {"typing": True}, {"typing": False}, {"typing": None}):
        assert doctor.call("typing", {"consultation_id": cid, **extra}) == {"ok": True}
    assert [t["typing"] for t in anna.wait_for("typing", 4)] == [True, True, False, True]


@pytest.mark.parametrize("big", [2**31, 2**63 - 1, 10**30])
def test_ids_beyond_the_databases_range_are_not_found(connect, world, call, server_errors, big):
    """Id columns are 32-bit on PostgreSQL: a larger id is an unknown one, never a database error."""
    anna = connect("anna")
    assert anna.call("join", {"consultation_id": call.id})["ok"]
    for event, data in [
        ("join", {"consultation_id": big}),
        ("leave", {"consultation_id": big}),
        ("message", {"consultation_id": big, "text": "x"}),
        ("typing", {"consultation_id": big}),
        ("read", {"consultation_id": big, "up_to_id": 1}),
        ("signal", {"consultation_id": big, "type": "bye"}),
    ]:
        ack = anna.call(event, data)
        assert ack == {"ok": False, "error": {"code": "not_found", "message": "Consultation not found."}}, (
            event
        )
    assert anna.call("join", {"consultation_id": call.id, "after": big})["messages"] == []
    for event, data, field in [
        ("read", {"consultation_id": call.id, "up_to_id": big}, "up_to_id"),
        ("message", {"consultation_id": call.id, "text": "x", "attachment_ids": [big]}, "attachment_ids"),
    ]:
        ack = anna.call(event, data)
        assert ack["error"]["code"] == "validation_error" and ack["error"]["details"] == {"field": field}
    assert server_errors() == []


@pytest.mark.parametrize(
    "data, field",
    [
        ({"type": "offer", "sdp": OFFER + "a=x\x00\r\n"}, "sdp"),
        ({"type": "answer", "sdp": OFFER + "a=\x1b[31m\r\n"}, "sdp"),
        ({"type": "offer", "sdp": OFFER + "a=\ud800\r\n"}, "sdp"),
        (
            {"type": "candidate", "candidate": {**CANDIDATE, "candidate": CANDIDATE["candidate"] + "\x00"}},
            "candidate",
        ),
        (
            {
                "type": "candidate",
                "candidate": {**CANDIDATE, "candidate": CANDIDATE["candidate"] + "\r\na=x"},
            },
            "candidate",
        ),
        ({"type": "candidate", "candidate": {**CANDIDATE, "sdpMid": "0\n"}}, "candidate"),
        ({"type": "candidate", "candidate": {**CANDIDATE, "usernameFragment": "ab\x07"}}, "candidate"),
        ({"type": "candidate", "candidate": {**CANDIDATE, "sdpMLineIndex": 64}}, "candidate"),
    ],
)
def test_signaling_texts_hold_no_control_characters(connect, call, server_errors, data, field):
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    ack = anna.call("signal", {"consultation_id": call.id, **data})
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert ack["error"]["details"] == {"field": field}
    time.sleep(0.1)
    assert doctor.received("signal") == [] and server_errors() == []


@pytest.mark.parametrize(
    "text", ["nul\x00", "escape\x1b[2J", "lone \ud800 surrogate", "\udfff", "bidi \u202e"]
)
def test_message_text_holds_no_control_characters(connect, world, server_errors, text):
    cid = world["consultation"].id
    ack = connect("anna").call("message", {"consultation_id": cid, "text": text})
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert server_errors() == []


def test_line_breaks_and_tabs_pass(connect, world):
    cid = world["consultation"].id
    anna = connect("anna")
    anna.call("join", {"consultation_id": cid})
    assert anna.call("message", {"consultation_id": cid, "text": "line one\n\tline two"})["ok"]
    assert anna.wait_for("message")[0]["text"] == "line one\n\tline two"

"""The Socket.IO event contract at its edges (issue 10): every refusal is an ack with a documented code,
over real sockets, on SQLite and PostgreSQL."""

import contextlib
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import socketio

from telemed.sockets import EVENT_MAX, TRANSPORT_MAX
from tests.support.factories import make_consultation
from tests.support.live import Closed, RawSocketIO, SocketClient

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
    "text",
    ["nul\x00", "escape\x1b[2J", "lone \ud800 surrogate", "\udfff", "bidi \u202e", "\x0bat the edge\x0c"],
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


@pytest.fixture
def raw(live, world):
    clients = []

    def _raw(username: str) -> RawSocketIO:
        client = RawSocketIO(live.url, world["tokens"][username])
        clients.append(client)
        return client

    yield _raw
    for client in clients:
        client.close()


@pytest.mark.parametrize("event", ["message", "signal", "join"])
def test_an_oversize_event_is_answered_and_the_connection_stays(connect, world, call, server_errors, event):
    """Between the app's limit (EVENT_MAX) and the transport's (TRANSPORT_MAX) an event gets an ack."""
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    huge = "x" * (EVENT_MAX + 1)
    data = {"consultation_id": call.id, "text": huge, "type": "offer", "sdp": "v=0\r\n" + huge}
    ack = anna.call(event, data)
    assert ack["ok"] is False and ack["error"]["code"] == "payload_too_large"
    assert ack["error"]["message"] == "The event is larger than the limit of 256 KiB."
    assert (
        anna.sio.connected and anna.call("message", {"consultation_id": call.id, "text": "still here"})["ok"]
    )
    assert [m["text"] for m in doctor.wait_for("message")] == ["still here"]
    assert doctor.received("signal") == [] and server_errors() == []


def test_an_event_just_under_the_limit_is_read(connect, world):
    """The limit is the packet's length: a message just under it reaches the handler (and its
    validator refuses the text, which is longer than TEXT_MAX)."""
    cid = world["consultation"].id
    overhead = len(f'421["message",{{"consultation_id":{cid},"text":""}}]')
    ack = connect("anna").call("message", {"consultation_id": cid, "text": "x" * (EVENT_MAX - overhead)})
    assert ack["error"]["code"] == "validation_error"


def test_a_frame_over_the_transport_limit_closes_the_connection_unread(raw, connect, world):
    """Over TRANSPORT_MAX the WebSocket is closed with 1009 (message too big) while the frame is
    still arriving: the server never buffers all of it."""
    cid = world["consultation"].id
    doctor = connect("drt")
    doctor.call("join", {"consultation_id": cid})
    anna = raw("anna")
    with contextlib.suppress(Exception):  # the server may close before the client has sent it all
        anna.send("2" + json.dumps(["message", {"consultation_id": cid, "text": "x" * (2 * TRANSPORT_MAX)}]))
    with pytest.raises(Closed) as closed:
        anna.receive(timeout=5)
    assert closed.value.code == 1009  # message too big
    assert doctor.call("message", {"consultation_id": cid, "text": "bystander"})["ok"]


@pytest.mark.parametrize(
    "raw_data",
    [
        '["message",{"consultation_id":1,"text":"x"',  # truncated JSON
        '["message",{"consultation_id":1,"text":"x"}]]',
        "[" * 100_000 + "]" * 100_000,  # deeper than any JSON parser recurses
        '["read",{"consultation_id":1,"up_to_id":' + "9" * 5000 + "}]",  # more digits than Python reads
        "not json",
    ],
)
def test_a_packet_that_is_not_json_is_answered_bad_request(raw, connect, world, server_errors, raw_data):
    anna = raw("anna")
    assert anna.call(raw_data)["error"]["code"] == "bad_request"
    assert anna.call(json.dumps(["join", {"consultation_id": world["consultation"].id}]))["ok"]
    assert server_errors() == []


@pytest.mark.parametrize(
    "raw_data",
    [
        "[]",
        "{}",
        "null",
        '"join"',
        "[1]",
        '[["join"]]',
        '[{"a":1},1]',
        '["nosuchevent",{}]',
        '["connect",{"token":"forged"}]',  # python-socketio would run the connect handler
        '["disconnect"]',
        '["\\u006aoin",{"consultation_id":2147483648}]',  # "join", spelled with an escape: still "join"
    ],
)
def test_an_event_must_name_a_client_event(raw, world, server_errors, raw_data):
    anna = raw("anna")
    ack = anna.call(raw_data)
    if "u006a" in raw_data:
        assert ack["error"]["code"] == "not_found"  # decoded as "join": handled like any join
    else:
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert anna.call(json.dumps(["join", {"consultation_id": world["consultation"].id}]))["ok"]
    assert server_errors() == []


@pytest.mark.parametrize("packet", ["4", "9", "7x", "x", "", "3"])
def test_packets_no_client_sends_are_dropped_quietly(raw, world, server_errors, packet):
    anna = raw("anna")
    anna.send(packet)
    assert anna.call(json.dumps(["join", {"consultation_id": world["consultation"].id}]))["ok"]
    assert server_errors() == []


def test_binary_data_is_refused_and_its_attachments_dropped(connect, world, server_errors):
    cid = world["consultation"].id
    anna = connect("anna")
    ack = anna.call("message", {"consultation_id": cid, "text": b"\x00" * 1000, "more": [b"a", b"b"]})
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert anna.call("message", {"consultation_id": cid, "text": "after the binary event"})["ok"]
    assert server_errors() == []


def test_an_oversize_event_over_long_polling_is_answered_too(live, world):
    """Engine.IO's long-polling transport reads a POST of up to TRANSPORT_MAX, then each packet is
    judged like a WebSocket frame."""
    cid = world["consultation"].id
    client = socketio.Client(reconnection=False)
    client.connect(live.url, auth={"token": world["tokens"]["anna"]}, transports=["polling"], wait_timeout=10)
    try:
        ack = client.call("message", {"consultation_id": cid, "text": "x" * (EVENT_MAX + 1)}, timeout=10)
        assert ack["error"]["code"] == "payload_too_large"
        assert client.call("message", {"consultation_id": cid, "text": "short"}, timeout=10)["ok"]
    finally:
        client.disconnect()

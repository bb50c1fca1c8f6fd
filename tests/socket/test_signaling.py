"""Video signaling, presence and the room window over real Socket.IO connections."""

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest

from telemed.scheduling.models import Consultation
from tests.support import otp
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


def soon(minutes: int = 5) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


@pytest.fixture
def call(factory, world):
    """A consultation starting in 5 minutes: the room is open."""
    return make_consultation(
        factory, world["member"], world["patient"], world["doctor"], world["contract"], start=soon()
    )


def status_of(db, cid) -> str:
    with db.session() as s:
        return s.get(Consultation, cid).status


def test_presence_and_the_doctor_starts_the_consultation(db, connect, world, call):
    anna = connect("anna")
    ack = anna.call("join", {"consultation_id": call.id})
    assert ack["room_open"] is True and ack["consultation"]["status"] == "scheduled"
    assert [p["role"] for p in anna.wait_for("presence")[-1]["participants"]] == ["member"]
    doctor = connect("drt")
    assert doctor.call("join", {"consultation_id": call.id})["consultation"]["status"] == "in_progress"
    assert status_of(db, call.id) == "in_progress"
    everyone = anna.wait_for("presence", 2)[-1]
    assert everyone["consultation_id"] == call.id
    assert [(p["id"], p["role"]) for p in everyone["participants"]] == [
        (world["member"].id, "member"),
        (world["doctor"].user_id, "doctor"),
    ]
    doctor.close()
    after = anna.wait_for("presence", 3)[-1]
    assert [p["role"] for p in after["participants"]] == ["member"]


def test_signals_reach_only_the_other_participant(connect, world, call):
    anna, doctor, boris = connect("anna"), connect("drt"), connect("boris")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    assert anna.call("signal", {"consultation_id": call.id, "type": "offer", "sdp": OFFER}) == {
        "ok": True,
        "delivered": 1,
    }
    got = doctor.wait_for("signal")[0]
    assert got == {
        "consultation_id": call.id,
        "type": "offer",
        "sdp": OFFER,
        "from": {"id": world["member"].id, "role": "member", "name": world["member"].full_name},
    }
    assert doctor.call("signal", {"consultation_id": call.id, "type": "candidate", "candidate": CANDIDATE})[
        "ok"
    ]
    assert anna.wait_for("signal")[0]["candidate"] == CANDIDATE
    for event in ("join", "signal"):
        ack = boris.call(event, {"consultation_id": call.id, "type": "offer", "sdp": OFFER})
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    time.sleep(0.2)
    assert boris.received("signal") == [] and len(anna.received("signal")) == 1
    assert len(doctor.received("signal")) == 1


def test_signing_the_conclusion_keeps_the_call_and_the_room(db, app, connect, world, call):
    from tests.support.factories import PASSWORD
    from tests.web.test_records_api import DRAFT

    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})  # the doctor's entry starts it
    drt = ApiClient(app, "drt")
    url = f"/api/v1/consultations/{call.id}/conclusion"
    assert drt.put(url, json=DRAFT).status_code == 200
    assert (
        drt.post(url + "/sign", json={"password": PASSWORD, "otp": otp.next_code("drt")}).status_code == 200
    )
    assert status_of(db, call.id) == "completed"
    assert anna.call("signal", {"consultation_id": call.id, "type": "offer", "sdp": OFFER}) == {
        "ok": True,
        "delivered": 1,
    }
    assert doctor.wait_for("signal")[0]["type"] == "offer"
    again = anna.call("join", {"consultation_id": call.id})  # a reload: the room is still open
    assert again["room_open"] is True and again["chat_open"] is True
    assert anna.call("message", {"consultation_id": call.id, "text": "Спасибо"})["ok"] is True


def test_signaling_needs_a_join_first(connect, call):
    ack = connect("anna").call("signal", {"consultation_id": call.id, "type": "bye"})
    assert ack["error"]["code"] == "not_joined"


@pytest.mark.parametrize(
    "data",
    [
        {"type": "hello"},
        {"type": "offer"},
        {"type": "offer", "sdp": "not sdp"},
        {"type": "answer", "sdp": "v=0\r\n" + "a" * 20_001},
        {"type": "candidate", "candidate": "text"},
        {"type": "candidate", "candidate": {**CANDIDATE, "extra": 1}},
        {"type": "candidate", "candidate": {**CANDIDATE, "sdpMLineIndex": "0"}},
        {"type": "candidate", "candidate": {**CANDIDATE, "candidate": "x" * 2000}},
        {"type": "restart", "sdp": OFFER},
        {"type": "offer", "sdp": OFFER, "pc": "has space"},
        {"type": "offer", "sdp": OFFER, "pc": "x" * 65},
        {"type": "candidate", "candidate": None, "to_pc": 5},
        {"type": "bye", "to_pc": ""},
    ],
)
def test_malformed_signals_are_refused_and_relayed_to_nobody(connect, call, data):
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    ack = anna.call("signal", {"consultation_id": call.id, **data})
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    time.sleep(0.1)
    assert doctor.received("signal") == []


def test_bye_restart_and_end_of_candidates_pass(connect, call):
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    for data in ({"type": "restart"}, {"type": "candidate", "candidate": None}, {"type": "bye"}):
        assert anna.call("signal", {"consultation_id": call.id, **data})["ok"]
    assert [s["type"] for s in doctor.wait_for("signal", 3)] == ["restart", "candidate", "bye"]


def test_peer_connection_ids_are_relayed(connect, call):
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": call.id})
    doctor.call("join", {"consultation_id": call.id})
    assert anna.call(
        "signal", {"consultation_id": call.id, "type": "answer", "sdp": OFFER, "pc": "m-1", "to_pc": "d_2"}
    )["ok"]
    got = doctor.wait_for("signal")[0]
    assert (got["type"], got["pc"], got["to_pc"]) == ("answer", "m-1", "d_2")


def test_room_window(app, db, factory, connect, world):
    def consultation(start, status="scheduled", minutes=30):
        return make_consultation(
            factory,
            world["member"],
            world["patient"],
            world["doctor"],
            world["contract"],
            start=start,
            minutes=minutes,
            status=status,
        )

    now = datetime.now(UTC).replace(microsecond=0)
    cases = {
        "early_ok": (consultation(now + timedelta(minutes=14)), True, None),
        "too_early": (consultation(now + timedelta(minutes=16)), False, "room_closed"),
        "late_ok": (consultation(now - timedelta(minutes=85)), True, None),  # ended 55 min ago
        "too_late": (consultation(now - timedelta(minutes=95)), False, "room_closed"),  # ended 65 min ago
        # finishing the visit or signing its conclusion does not close the room before its window ends
        "completed": (consultation(now - timedelta(minutes=10), status="completed"), True, None),
        "completed_late": (
            consultation(now - timedelta(minutes=96), status="completed"),
            False,
            "room_closed",
        ),
        "cancelled": (
            consultation(now + timedelta(minutes=5), status="cancelled"),
            False,
            "consultation_cancelled",
        ),
    }
    anna = connect("anna")
    for name, (c, is_open, code) in cases.items():
        assert anna.call("join", {"consultation_id": c.id})["room_open"] is is_open, name
        ack = anna.call("signal", {"consultation_id": c.id, "type": "offer", "sdp": OFFER})
        assert (ack["ok"], ack.get("error", {}).get("code")) == (is_open, code), name
    doctor = connect("drt")
    doctor.call("join", {"consultation_id": cases["too_early"][0].id})
    assert status_of(db, cases["too_early"][0].id) == "scheduled"  # a closed room does not start anything


def test_ice_servers_with_time_limited_turn_credentials(app, world):
    app.config.update(
        STUN_URLS="stun:127.0.0.1:3478",
        TURN_URLS="turn:127.0.0.1:3478?transport=udp",
        TURN_SECRET="s3cret",
        TURN_TTL_SECONDS=600,
    )
    cid = world["consultation"].id
    before = int(time.time())
    body = ApiClient(app, "anna").get(f"/api/v1/consultations/{cid}/ice-servers").json
    assert body["ttl"] == 600
    stun, turn = body["iceServers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    expiry, user = turn["username"].split(":")
    assert user == str(world["member"].id) and before + 600 <= int(expiry) <= int(time.time()) + 600
    expected = base64.b64encode(
        hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected
    assert ApiClient(app, "boris").get(f"/api/v1/consultations/{cid}/ice-servers").status_code == 404
    assert ApiClient(app).get(f"/api/v1/consultations/{cid}/ice-servers").status_code == 401
    app.config["TURN_SECRET"] = None
    assert ApiClient(app, "drt").get(f"/api/v1/consultations/{cid}/ice-servers").json["iceServers"] == [stun]


def test_ice_servers_carry_the_transport_policy(app, world):
    cid = world["consultation"].id
    body = ApiClient(app, "anna").get(f"/api/v1/consultations/{cid}/ice-servers").json
    assert set(body) == {"iceServers", "ttl", "iceTransportPolicy"} and body["iceTransportPolicy"] == "all"
    app.config.update(
        TURN_URLS="turn:127.0.0.1:3478?transport=udp", TURN_SECRET="s3cret", ICE_TRANSPORT_POLICY="relay"
    )  # members' addresses stay hidden from doctors
    body = ApiClient(app, "drt").get(f"/api/v1/consultations/{cid}/ice-servers").json
    assert body["iceTransportPolicy"] == "relay" and body["iceServers"][0]["urls"] == [
        "turn:127.0.0.1:3478?transport=udp"
    ]

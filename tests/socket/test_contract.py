"""The Socket.IO event contract at its edges (issue 10): every refusal is an ack with a documented code,
over real sockets, on SQLite and PostgreSQL."""

import time


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

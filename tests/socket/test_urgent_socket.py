"""The urgent queue over real Socket.IO connections: doctors hear of requests, members of their
place and of who is coming; duty follows the doctors' connections; the worker's escalations reach
the connected clients through the outbox relay."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from telemed.sockets import process_id
from telemed.urgent.duty import counts
from telemed.urgent.models import Duty, DutyConnection
from telemed.worker import run_due
from tests.socket.test_asyncapi import Contract
from tests.support import urgent as u
from tests.support.clients import ApiClient
from tests.support.live import LiveServer, SocketClient

USERS = ("anna", "boris", "drt1", "drt2", "drp")


@pytest.fixture
def w(factory):
    return u.world(factory)


@pytest.fixture
def api(app, w):
    return {name: ApiClient(app, name) for name in USERS}


@pytest.fixture
def live(app):
    relay = app.extensions["telemed.relay"].start()  # as `telemed serve` does
    with LiveServer(app) as server:
        yield server
    relay.stop()


@pytest.fixture
def connect(live, api):
    clients = []

    def _connect(username: str) -> SocketClient:
        client = SocketClient(live.url, token=api[username].token).connect()
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        client.close()


def until(condition, timeout: float = 10):
    """Wait for ``condition()`` to hold (a state reached, not a duration measured)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def _duty_connections(app, doctor_id):
    with app.extensions["telemed.db"].session() as s:
        return list(s.scalars(select(DutyConnection).where(DutyConnection.doctor_id == doctor_id)))


def test_doctors_on_duty_hear_of_a_request_and_the_member_of_who_is_coming(app, api, connect, w):
    t1, t2, ped = connect("drt1"), connect("drt2"), connect("drp")
    for name in ("drt1", "drp"):  # switched on after connecting: events still reach them
        assert api[name].put("/api/v1/duty", json={"on_duty": True}).status_code == 200
    body = api["anna"].post("/api/v1/urgent", json={"reason": "Fever"}).json
    cid = body["id"]
    added = t1.wait_for("urgent_queue")[0]
    assert added["action"] == "added" and added["request"]["id"] == cid
    assert added["request"]["patient"]["name"] == w["patient"].full_name

    anna = connect("anna")
    ack = anna.call("join", {"consultation_id": cid})
    assert ack["ok"] and ack["chat_open"] is True and ack["room_open"] is False
    assert ack["consultation"]["status"] == "waiting" and ack["consultation"]["start"] is None
    assert ack["consultation"]["queue"]["position"] == 1
    assert ack["consultation"]["queue"]["doctors_on_duty"] == 1
    assert anna.call("message", {"consultation_id": cid, "text": "Температура 39"})["ok"]

    assert api["drt2"].post(f"/api/v1/urgent/{cid}/claim").status_code == 200  # off duty, still may take it
    status = anna.wait_for("urgent_status")[-1]
    assert status["status"] == "in_progress" and status["queue"] is None
    assert status["doctor"] == {"id": w["t2"].id, "name": "Therapist Two", "specialty": "therapist"}
    assert [e["action"] for e in t1.wait_for("urgent_queue", 2)] == ["added", "claimed"]
    doctor_ack = t2.call("join", {"consultation_id": cid})  # the room and the chat are open for both
    assert doctor_ack["room_open"] is True and doctor_ack["chat_open"] is True
    assert [m["text"] for m in doctor_ack["messages"]] == ["Температура 39"]
    assert ped.received("urgent_queue") == [] and t2.received("urgent_queue") == []


def test_a_member_who_reconnects_keeps_the_place(app, api, connect, w):
    first = api["boris"].post("/api/v1/urgent", json={}).json["id"]
    second = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    anna = connect("anna")
    assert anna.call("join", {"consultation_id": second})["consultation"]["queue"]["position"] == 2
    anna.close()  # the connection drops
    again = connect("anna")
    ack = again.call("join", {"consultation_id": second})
    assert ack["consultation"]["status"] == "waiting" and ack["consultation"]["queue"]["position"] == 2
    assert api["anna"].get(f"/api/v1/consultations/{second}").json["queue"]["position"] == 2
    assert api["boris"].post(f"/api/v1/consultations/{first}/cancel", json={}).status_code == 200
    moved = again.wait_for("urgent_status")[-1]
    assert (moved["consultation_id"], moved["status"], moved["queue"]["position"]) == (second, "waiting", 1)


def test_level_one_escalation_alerts_every_connected_doctor_of_the_specialty(app, api, connect, w):
    """The worker writes the alert; the serving process relays it (the embedded default, no Redis)."""
    on, off, ped = connect("drt1"), connect("drt2"), connect("drp")
    api["drt1"].put("/api/v1/duty", json={"on_duty": True})
    cid = api["anna"].post("/api/v1/urgent", json={}).json["id"]
    assert on.wait_for("urgent_queue")[0]["action"] == "added"
    anna = connect("anna")
    anna.call("join", {"consultation_id": cid})
    later = datetime.now(UTC) + u.settings(app).escalate_after
    assert run_due(app, now=later)["escalation_steps"] == 1
    alert = off.wait_for("urgent_queue")[0]  # the off-duty therapist's first event is the alert
    assert (alert["action"], alert["request"]["id"], alert["request"]["escalation_level"]) == (
        "escalated",
        cid,
        1,
    )
    assert on.wait_for("urgent_queue", 2)[1]["action"] == "escalated"
    assert anna.wait_for("urgent_status")[-1]["queue"]["escalation_level"] == 1
    assert api["drt2"].get("/api/v1/urgent/queue").json[0]["escalation_level"] == 1
    assert ped.received("urgent_queue") == []


def test_a_doctors_connections_keep_the_duty_and_it_ends_after_the_grace_time(app, api, connect, w):
    grace = u.settings(app).grace
    doctor = connect("drt1")
    until(lambda: len(_duty_connections(app, w["t1"].id)) == 1)
    assert _duty_connections(app, w["t1"].id)[0].process_id == process_id(app)
    assert api["drt1"].put("/api/v1/duty", json={"on_duty": True}).json["on_duty"] is True
    db = app.extensions["telemed.db"]
    with db.session() as s:  # connected: it counts however late, once the process refreshes it
        from telemed.urgent.events import heartbeat

        heartbeat(app)
        assert counts(s, "therapist", now=datetime.now(UTC) + grace / 2, grace=grace) == (1, 0)
    doctor.close()
    until(lambda: _duty_connections(app, w["t1"].id) == [])
    with db.session() as s:
        left = s.get(Duty, w["t1"].id).last_seen
        assert counts(s, "therapist", now=left + grace, grace=grace) == (1, 0)
        assert counts(s, "therapist", now=left + grace + timedelta(seconds=1), grace=grace) == (0, 0)
    member = connect("anna")  # a member's connection leaves no trace
    assert member.call("join", {"consultation_id": 10**6})["error"]["code"] == "not_found"
    assert _duty_connections(app, w["t1"].id) == []


def test_the_urgent_events_match_the_asyncapi_document(app, api, connect, live, w):
    doc = requests.get(f"{live.url}/api/v1/asyncapi.json", timeout=10).json()
    contract = Contract(doc)
    doctor = connect("drt1")
    api["drt1"].put("/api/v1/duty", json={"on_duty": True})
    cid = api["anna"].post("/api/v1/urgent", json={"reason": "Боль"}).json["id"]
    anna = connect("anna")
    contract.check("joinAck", anna.call("join", {"consultation_id": cid}))
    # both levels (and, time having passed, the doctor's unrefreshed duty ends: one more status)
    run_due(app, now=datetime.now(UTC) + 2 * u.settings(app).escalate_after)
    until(lambda: any(e["queue"]["escalation_level"] == 2 for e in anna.received("urgent_status")))
    api["drt1"].post(f"/api/v1/urgent/{cid}/claim")
    until(lambda: anna.received("urgent_status")[-1]["status"] == "in_progress")
    events = doctor.wait_for("urgent_queue", 4)
    assert [e["action"] for e in events] == ["added", "escalated", "escalated", "claimed"]
    for payload in events:
        contract.check("urgent_queueEvent", payload)
    statuses = anna.received("urgent_status")
    for payload in statuses:
        contract.check("urgent_statusEvent", payload)
    assert [e["status"] for e in statuses] == ["waiting"] * (len(statuses) - 1) + ["in_progress"]

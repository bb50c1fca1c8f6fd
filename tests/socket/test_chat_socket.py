"""Chat over real Socket.IO connections to a live server."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import socketio

from telemed.chat import service as chat
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.support.factories import actor, make_consultation
from tests.support.live import SocketClient


def post(db, user, cid, text):
    with db.transaction() as s:
        return chat.post_message(
            s, actor(user), cid, text=text, attachment_ids=None, now=datetime.now(UTC), open_hours=72
        )["id"]


def test_member_and_doctor_chat_live(connect, world):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    assert anna.call("join", {"consultation_id": cid})["ok"] is True
    join = doctor.call("join", {"consultation_id": cid})
    assert join["ok"] and join["messages"] == [] and join["chat_open"] is True
    ack = anna.call("message", {"consultation_id": cid, "text": "Здравствуйте, доктор!"})
    assert ack["ok"] and isinstance(ack["id"], int)
    got = doctor.wait_for("message")[0]
    assert got["id"] == ack["id"] and got["consultation_id"] == cid and got["text"] == "Здравствуйте, доктор!"
    assert got["author"] == {"id": world["member"].id, "name": world["member"].full_name, "role": "member"}
    assert got["attachments"] == [] and datetime.fromisoformat(got["created_at"]).tzinfo is not None
    assert anna.wait_for("message")[0]["id"] == ack["id"]  # the sender's other tabs see it too


def test_join_returns_the_last_fifty(db, connect, world):
    cid = world["consultation"].id
    ids = [post(db, world["member"], cid, f"m{i}") for i in range(60)]
    ack = connect("drt").call("join", {"consultation_id": cid})
    assert [m["id"] for m in ack["messages"]] == ids[-50:]


def test_catch_up_after_reconnect_loses_nothing(db, live, connect, world):
    cid = world["consultation"].id
    anna = connect("anna")
    anna.call("join", {"consultation_id": cid})
    doctor = connect("drt")
    doctor.call("join", {"consultation_id": cid})
    first = anna.call("message", {"consultation_id": cid, "text": "before"})["id"]
    doctor.wait_for("message")
    doctor.close()
    missed = [
        anna.call("message", {"consultation_id": cid, "text": f"while away {i}"})["id"] for i in range(3)
    ]
    back = connect("drt")
    ack = back.call("join", {"consultation_id": cid, "after": first})
    assert [m["id"] for m in ack["messages"]] == missed
    rest = ApiClient(live.app, "drt").get(f"/api/v1/consultations/{cid}/messages?after={first}").json
    assert [m["id"] for m in rest] == missed


def test_a_stranger_is_refused_everything_and_hears_nothing(connect, world):
    cid = world["consultation"].id
    anna, boris = connect("anna"), connect("boris")
    anna.call("join", {"consultation_id": cid})
    for event, data in [
        ("join", {"consultation_id": cid}),
        ("message", {"consultation_id": cid, "text": "hi"}),
        ("typing", {"consultation_id": cid}),
        ("read", {"consultation_id": cid, "up_to_id": 1}),
    ]:
        ack = boris.call(event, data)
        assert ack == {"ok": False, "error": {"code": "not_found", "message": ack["error"]["message"]}}, event
    anna.call("message", {"consultation_id": cid, "text": "private"})
    anna.wait_for("message")
    time.sleep(0.2)
    assert boris.received("message") == [] and anna.received("typing") == []


def test_unauthenticated_and_foreign_origin_connections_are_refused(live, world):
    with pytest.raises(socketio.exceptions.ConnectionError):
        SocketClient(live.url).connect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        SocketClient(live.url, token="forged").connect()
    handshake = f"{live.url}/socket.io/?EIO=4&transport=polling"
    assert requests.get(handshake, headers={"Origin": "http://evil.example"}, timeout=10).status_code == 400
    assert requests.get(handshake, headers={"Origin": live.url}, timeout=10).status_code == 200
    ok = SocketClient(live.url, token=world["tokens"]["anna"]).connect()  # sends its own same-site Origin
    assert ok.call("join", {"consultation_id": world["consultation"].id})["ok"]
    ok.close()


def test_page_session_cookie_authenticates_and_logout_ends_it(live, world):
    client = page_login(live.app, "anna")
    cookie = client.get_cookie("session").value
    sock = SocketClient(live.url, headers={"Cookie": f"session={cookie}"}).connect()
    cid = world["consultation"].id
    assert sock.call("join", {"consultation_id": cid})["ok"]
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/cabinet").text)})
    ack = sock.call("message", {"consultation_id": cid, "text": "after logout"})
    assert ack["ok"] is False and ack["error"]["code"] == "not_authenticated"
    sock.close()


def test_revoked_token_stops_working_mid_connection(live, connect, world):
    cid = world["consultation"].id
    anna = connect("anna")
    assert anna.call("join", {"consultation_id": cid})["ok"]
    api = ApiClient(live.app)
    api.token = world["tokens"]["anna"]
    api.delete("/api/v1/auth/token")
    assert anna.call("message", {"consultation_id": cid, "text": "x"})["error"]["code"] == "not_authenticated"


def test_a_burst_of_messages_is_stored_and_delivered_in_the_order_sent(connect, world):
    """Events of one connection are handled in order (``async_handlers=False``): a burst sent without
    waiting for acks gets increasing ids and reaches the room in the order typed."""
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    assert (
        anna.call("join", {"consultation_id": cid})["ok"]
        and doctor.call("join", {"consultation_id": cid})["ok"]
    )
    acks: list = []
    for i in range(40):
        anna.sio.emit("message", {"consultation_id": cid, "text": f"line {i}"}, callback=acks.append)
    got = doctor.wait_for("message", 40)
    assert [m["text"] for m in got] == [f"line {i}" for i in range(40)]
    assert [m["id"] for m in got] == sorted(m["id"] for m in got)
    deadline = time.monotonic() + 10
    while len(acks) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a["id"] for a in acks] == [m["id"] for m in got]


@pytest.mark.parametrize(
    "data, code",
    [
        ({"consultation_id": "1", "text": "x"}, "validation_error"),
        ({"text": "x"}, "validation_error"),
        (["not", "an", "object"], "bad_request"),
        ({"consultation_id": None, "text": "x"}, "validation_error"),
    ],
)
def test_malformed_events_are_refused(connect, world, data, code):
    assert connect("anna").call("message", data)["error"]["code"] == code


def test_text_is_validated(connect, world):
    anna = connect("anna")
    cid = world["consultation"].id
    for text in ["", "   ", "x" * 4001, "bell\x07", 42]:
        ack = anna.call("message", {"consultation_id": cid, "text": text})
        assert ack["ok"] is False and ack["error"]["code"] == "validation_error", text
    assert anna.call("message", {"consultation_id": cid, "text": "x" * 4000})["ok"]


def test_typing_and_read_marks(connect, world):
    cid = world["consultation"].id
    anna, doctor = connect("anna"), connect("drt")
    anna.call("join", {"consultation_id": cid})
    doctor.call("join", {"consultation_id": cid})
    assert doctor.call("typing", {"consultation_id": cid})["ok"]
    typing = anna.wait_for("typing")[0]
    assert typing["user"]["id"] == world["doctor"].user_id and typing["typing"] is True
    mid = doctor.call("message", {"consultation_id": cid, "text": "Как самочувствие?"})["id"]
    anna.wait_for("message")
    assert anna.call("read", {"consultation_id": cid, "up_to_id": mid}) == {"ok": True, "up_to_id": mid}
    read = doctor.wait_for("read")[0]
    assert read == {"consultation_id": cid, "user_id": world["member"].id, "up_to_id": mid}
    assert doctor.call("join", {"consultation_id": cid})["read_marks"] == {str(world["member"].id): mid}
    assert (
        anna.call("read", {"consultation_id": cid, "up_to_id": mid + 1000})["error"]["code"]
        == "validation_error"
    )


def test_chat_is_read_only_after_the_window_and_when_cancelled(factory, connect, world):
    ended = make_consultation(
        factory,
        world["member"],
        world["patient"],
        world["doctor"],
        world["contract"],
        start=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=80),
        status="completed",
    )
    recent = make_consultation(
        factory,
        world["member"],
        world["patient"],
        world["doctor"],
        world["contract"],
        start=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=70),
        status="completed",
    )
    cancelled = make_consultation(
        factory, world["member"], world["patient"], world["doctor"], world["contract"], status="cancelled"
    )
    anna = connect("anna")
    assert anna.call("join", {"consultation_id": ended.id})["chat_open"] is False
    for c in (ended, cancelled):
        ack = anna.call("message", {"consultation_id": c.id, "text": "hello?"})
        assert ack["error"]["code"] == "chat_read_only", c.status
    assert anna.call("message", {"consultation_id": recent.id, "text": "one more question"})["ok"]


def test_rest_twin_posts_to_the_room(live, connect, world):
    cid = world["consultation"].id
    doctor = connect("drt")
    doctor.call("join", {"consultation_id": cid})
    api = ApiClient(live.app, "anna")
    r = api.post(f"/api/v1/consultations/{cid}/messages", json={"text": "from the mobile app"})
    assert r.status_code == 201
    assert doctor.wait_for("message")[0]["id"] == r.json["id"]
    assert [m["text"] for m in api.get(f"/api/v1/consultations/{cid}/messages").json] == [
        "from the mobile app"
    ]
    assert ApiClient(live.app, "boris").get(f"/api/v1/consultations/{cid}/messages").status_code == 404
    assert (
        ApiClient(live.app, "boris")
        .post(f"/api/v1/consultations/{cid}/messages", json={"text": "x"})
        .status_code
        == 404
    )
    assert api.get(f"/api/v1/consultations/{cid}/messages?limit=0").status_code == 422


def test_refusals_in_acks_speak_the_connections_language(live, connect, world):
    """A page connection answers in the page's language (Russian by default); an API client in
    English unless its handshake asks for Russian."""
    client = page_login(live.app, "boris")
    cookie = client.get_cookie("session").value
    page = SocketClient(live.url, headers={"Cookie": f"session={cookie}"}).connect()
    russian_api = SocketClient(
        live.url, token=world["tokens"]["boris"], headers={"Accept-Language": "ru"}
    ).connect()
    cid = world["consultation"].id
    try:
        for sock in (page, russian_api):
            for event in ("join", "message"):
                ack = sock.call(event, {"consultation_id": cid, "text": "x"})
                assert ack["error"] == {"code": "not_found", "message": "Консультация не найдена."}, event
        ack = connect("boris").call("message", {"consultation_id": cid, "text": "x"})
        assert ack["error"] == {"code": "not_found", "message": "Consultation not found."}
    finally:
        page.close()
        russian_api.close()

"""The access log: one JSON line per request, with the route template and the user, never the query
string, ids in the path, bodies or names; the request id in both directions."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import socketio

from telemed.config import ConfigError, load_config
from telemed.ops.access_log import request_id
from tests.conftest import empty_tables, make_app
from tests.support import otp
from tests.support.clients import ApiClient, csrf_token
from tests.support.factories import PASSWORD
from tests.support.live import LiveServer, SocketClient

FIELDS = {
    "time",
    "request_id",
    "method",
    "rule",
    "endpoint",
    "status",
    "duration_ms",
    "size",
    "user_id",
    "role",
}


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def login(live, username: str) -> requests.Session:
    s = requests.Session()
    token = csrf_token(s.get(f"{live.url}/login").text)
    r = s.post(
        f"{live.url}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert r.status_code == 302
    if r.headers["Location"].endswith("/login/code"):
        token = csrf_token(s.get(f"{live.url}/login/code").text)
        data = {"code": otp.next_code(username), "csrf_token": token}
        r = s.post(f"{live.url}/login/code", data=data, allow_redirects=False)
        assert r.status_code == 302 and "/login" not in r.headers["Location"]
    return s


def test_a_search_is_logged_without_its_terms(live, factory, access_lines):
    rec = factory.user("rec", role="records", name="Regina Records")
    session = login(live, "rec")
    r = session.get(f"{live.url}/patients?q=Ivanov")
    assert r.status_code == 200
    line = access_lines.wait_for(lambda x: x["rule"] == "/patients")
    assert set(line) == FIELDS
    assert line["method"] == "GET" and line["endpoint"] == "records.patients" and line["status"] == 200
    assert line["user_id"] == rec.id and line["role"] == "records"
    assert line["size"] == len(r.content) and line["duration_ms"] >= 0
    assert line["time"].endswith("Z") and r.headers["X-Request-ID"] == line["request_id"]
    token = ApiClient(live.app, "rec").token
    r = requests.get(
        f"{live.url}/api/v1/patients", params={"q": "Ivanov"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    access_lines.wait_for(lambda x: x["rule"] == "/api/v1/patients" and x["role"] == "records")
    for raw in access_lines.raw:
        assert "Ivanov" not in raw and "q=" not in raw and "Regina" not in raw and token not in raw


def test_the_rule_is_logged_not_the_path_with_its_ids(live, factory, access_lines):
    factory.member("anna")
    token = ApiClient(live.app, "anna").token
    r = requests.get(
        f"{live.url}/api/v1/consultations/987654?reason=headache",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 404
    line = access_lines.wait_for(lambda x: x["status"] == 404 and x["role"] == "member")
    assert line["rule"] == "/api/v1/consultations/<int:consultation_id>"
    assert line["endpoint"] == "api.get_consultation" and line["method"] == "GET"
    requests.get(f"{live.url}/no/such/page/4242")
    unmatched = access_lines.wait_for(lambda x: x["rule"] is None)
    assert unmatched["status"] == 404 and unmatched["endpoint"] is None and unmatched["user_id"] is None
    assert not any("987654" in raw or "headache" in raw or "4242" in raw for raw in access_lines.raw)


def test_the_request_id_is_echoed_or_made(live, access_lines):
    r = requests.get(f"{live.url}/healthz", headers={"X-Request-ID": "trace-42.a:b_c"})
    assert r.headers["X-Request-ID"] == "trace-42.a:b_c"
    assert access_lines.wait_for(lambda x: x["request_id"] == "trace-42.a:b_c")["rule"] == "/healthz"
    for insane in ("has spaces", "x" * 129, "<script>", "-leading-dash"):
        r = requests.get(f"{live.url}/healthz", headers={"X-Request-ID": insane})
        made = r.headers["X-Request-ID"]
        assert made != insane and len(made) == 32 and int(made, 16) >= 0
    r = requests.get(f"{live.url}/healthz")
    assert len(r.headers["X-Request-ID"]) == 32
    assert request_id("abc") == "abc" and request_id(None) != request_id(None)


def test_socketio_lines_hold_the_transport_not_the_sid_or_token(live, factory, access_lines):
    factory.member("anna")
    token = ApiClient(live.app, "anna").token
    client = socketio.Client(reconnection=False)
    client.connect(live.url, auth={"token": token}, transports=["polling"], wait_timeout=10)
    sid = client.get_sid()
    eio_sid = client.eio.sid
    client.disconnect()
    line = access_lines.wait_for(lambda x: x["rule"] == "/socket.io/" and x["method"] == "POST")
    assert line["transport"] == "polling" and line["endpoint"] is None and set(line) == FIELDS | {"transport"}
    socket_lines = [raw for raw in access_lines.raw if "/socket.io/" in raw]
    assert len(socket_lines) >= 3  # the handshake, the connect packet, polls
    for raw in socket_lines:
        assert eio_sid not in raw and sid not in raw and token not in raw and "EIO" not in raw
        assert json.loads(raw)["status"] in (200, 400)
    ws = SocketClient(live.url, token=token).connect()
    ws.close()
    line = access_lines.wait_for(lambda x: x.get("transport") == "websocket")
    assert line["status"] == 101 and line["method"] == "GET" and line["rule"] == "/socket.io/"


def test_access_log_off_logs_nothing(db_url, tmp_path, access_lines):
    app = make_app(db_url, tmp_path, ACCESS_LOG=False)
    empty_tables(app)
    try:
        r = app.test_client().get("/healthz")
        r.close()
        assert r.status_code == 200 and "X-Request-ID" in r.headers
        assert access_lines.raw == []
    finally:
        app.extensions["telemed.db"].dispose()


def test_access_log_setting_is_on_or_off(monkeypatch, tmp_path):
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("TELEMED_ACCESS_LOG", "off")
    assert load_config()["ACCESS_LOG"] is False
    monkeypatch.setenv("TELEMED_ACCESS_LOG", "ON")
    assert load_config()["ACCESS_LOG"] is True
    monkeypatch.setenv("TELEMED_ACCESS_LOG", "loud")
    with pytest.raises(ConfigError, match="TELEMED_ACCESS_LOG must be one of"):
        load_config()


def test_the_servers_own_request_lines_are_dropped(live, caplog):
    """Werkzeug's request log would hold the raw path and its query string (it writes a request's
    line before sending the response)."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    r = requests.get(f"{live.url}/healthz?q=Ivanov")
    assert r.status_code == 200
    assert not [rec for rec in caplog.records if rec.name == "werkzeug" and "healthz" in rec.getMessage()]
    logging.getLogger("werkzeug").info("a line of the server's own")
    assert caplog.records[-1].getMessage() == "a line of the server's own"

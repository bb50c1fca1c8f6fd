"""``/metrics``: hidden without the token; the request histogram, the urgent queue, Socket.IO
connections, chat messages and storage errors as they happen."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from telemed.errors import IntegrityFailure, StorageUnavailable
from telemed.ops.metered_storage import MeteredStorage
from telemed.storage import LocalStorage
from tests.conftest import make_app
from tests.ops.conftest import METRICS_TOKEN, sample, scrape
from tests.support import urgent
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation
from tests.support.live import LiveServer, SocketClient

HISTOGRAM = "telemed_http_request_duration_seconds_count"


@pytest.fixture
def metered(app):
    """The app with ``METRICS_TOKEN`` set (read at each request)."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    return app


def test_metrics_is_a_404_unless_the_token_is_right(db_url, tmp_path, metered):
    unknown = metered.test_client().get("/no-such-page")
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        {"Authorization": "Bearer "},
    ):
        r = metered.test_client().get("/metrics", headers=headers)
        assert r.status_code == 404 and r.data == unknown.data, headers
    # no token configured: nobody gets in, whatever they send
    plain = make_app(db_url, tmp_path)
    try:
        assert plain.config["METRICS_TOKEN"] is None
        for sent in ("Bearer None", "Bearer ", "Bearer"):
            assert plain.test_client().get("/metrics", headers={"Authorization": sent}).status_code == 404
    finally:
        plain.extensions["telemed.db"].dispose()
    r = metered.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and r.mimetype == "text/plain" and r.headers["Cache-Control"] == "no-store"
    assert "/metrics" not in metered.test_client().get("/api/v1/openapi.json").json["paths"]


def test_the_latency_histogram_counts_an_endpoint_just_called(metered, factory):
    factory.member("anna")
    api = ApiClient(metered, "anna")
    client = metered.test_client()
    labels = {"endpoint": "api.list_specialties", "method": "GET", "status": "2xx"}
    before = sample(scrape(client), HISTOGRAM, **labels)
    for _ in range(3):
        r = api.get("/api/v1/specialties?q=secret")
        assert r.status_code == 200
        r.close()
    text = scrape(client)
    assert sample(text, HISTOGRAM, **labels) == before + 3
    assert "secret" not in text and "/api/v1/specialties" not in text  # endpoint names, not paths
    r = api.get("/api/v1/consultations/4242")
    r.close()
    four = {"endpoint": "api.get_consultation", "method": "GET", "status": "4xx"}
    assert sample(scrape(client), HISTOGRAM, **four) >= 1
    labels_seen = re.findall(r"\{[^}]*\}", scrape(client))
    assert labels_seen and not any("4242" in found for found in labels_seen)  # ids never become labels


def test_the_queue_gauges_follow_the_waiting_requests(metered, factory):
    client = metered.test_client()
    text = scrape(client)
    for code in ("therapist", "pediatrician"):
        assert sample(text, "telemed_urgent_queue_length", specialty=code) == 0
        assert sample(text, "telemed_urgent_oldest_wait_seconds", specialty=code) == 0
    w = urgent.world(factory)
    now = datetime.now(UTC)
    urgent.ask(metered, w["anna"], now=now - timedelta(seconds=90))
    urgent.ask(metered, w["boris"], now=now - timedelta(seconds=30))
    kid = urgent.ask(metered, w["anna"], w["child"], now=now - timedelta(seconds=5))
    text = scrape(client)
    assert sample(text, "telemed_urgent_queue_length", specialty="therapist") == 2
    assert sample(text, "telemed_urgent_queue_length", specialty="pediatrician") == 1
    assert 90 <= sample(text, "telemed_urgent_oldest_wait_seconds", specialty="therapist") < 150
    assert 5 <= sample(text, "telemed_urgent_oldest_wait_seconds", specialty="pediatrician") < 65
    pediatrician = urgent.user_of(metered, "drp")
    urgent.set_duty(metered, pediatrician)
    urgent.claim(metered, pediatrician, kid)
    text = scrape(client)
    assert sample(text, "telemed_urgent_queue_length", specialty="pediatrician") == 0
    assert sample(text, "telemed_urgent_oldest_wait_seconds", specialty="pediatrician") == 0
    assert sample(text, "telemed_urgent_queue_length", specialty="therapist") == 2


def _until(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_socketio_connections_and_chat_messages(metered, factory):
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt")
    cid = make_consultation(factory, member, patient, doctor, contract).id
    token = ApiClient(metered, "anna").token
    with LiveServer(metered) as live:
        http = requests.Session()

        def value(name: str) -> float:
            return sample(scrape(AtUrl(http, live.url)), name)

        before = value("telemed_socketio_connections")
        messages = value("telemed_chat_messages_stored_total")
        first = SocketClient(live.url, token=token).connect()
        second = SocketClient(live.url, token=token).connect()
        _until(lambda: value("telemed_socketio_connections") == before + 2)
        assert first.call("join", {"consultation_id": cid})["ok"]
        assert first.call("message", {"consultation_id": cid, "text": "hello"})["ok"]
        r = http.post(
            f"{live.url}/api/v1/consultations/{cid}/messages",
            json={"text": "and by the API"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
        refused = first.call("message", {"consultation_id": cid, "text": ""})
        assert refused["ok"] is False  # refused: nothing stored, nothing counted
        assert value("telemed_chat_messages_stored_total") == messages + 2
        first.close()
        _until(lambda: value("telemed_socketio_connections") == before + 1)
        second.close()
        _until(lambda: value("telemed_socketio_connections") == before)


class AtUrl:
    """A requests session whose ``get`` takes paths under ``url``."""

    def __init__(self, session: requests.Session, url: str):
        self.session, self.url = session, url

    def get(self, path: str, **kw):
        return self.session.get(self.url + path, **kw)


def test_storage_errors_are_counted(metered, tmp_path):
    client = metered.test_client()
    assert isinstance(metered.extensions["telemed.storage"], MeteredStorage)
    storage = MeteredStorage(LocalStorage(tmp_path / "store"))
    stored = storage.put_stream(io.BytesIO(b"%PDF-1.4 results"), content_type="application/pdf", max_size=100)
    assert storage.root == (tmp_path / "store").resolve()  # the backend's own attributes show through
    (tmp_path / "store" / stored.key).write_bytes(b"%PDF-1.4 tampered")
    integrity = {"operation": "read", "kind": "integrity"}
    before = sample(scrape(client), "telemed_storage_errors_total", **integrity)
    with pytest.raises(IntegrityFailure):
        b"".join(storage.open(stored.key, expected_sha256=stored.sha256))
    assert sample(scrape(client), "telemed_storage_errors_total", **integrity) == before + 1

    broken = MeteredStorage(LocalStorage(tmp_path / "gone"))
    (tmp_path / "gone").rmdir()
    (tmp_path / "gone").write_text("a file where the folder was")
    put = {"operation": "put", "kind": "unavailable"}
    before = sample(scrape(client), "telemed_storage_errors_total", **put)
    with pytest.raises(StorageUnavailable):
        broken.put_stream(io.BytesIO(b"data"), content_type="text/plain", max_size=100)
    assert sample(scrape(client), "telemed_storage_errors_total", **put) == before + 1


def test_a_scrape_works_while_the_database_is_down(db_url, tmp_path):
    """The token is never looked up as an API token, and the queue's gauges are left out."""
    down = (
        f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"
        if db_url.startswith("sqlite")
        else db_url.rsplit("/", 1)[0] + "/no_such_database"
    )
    app = make_app(db_url, tmp_path, DATABASE_URL=down, METRICS_TOKEN=METRICS_TOKEN)
    try:
        assert app.test_client().get("/healthz").status_code == 503
        text = scrape(app.test_client())
        assert "telemed_socketio_connections" in text and "telemed_urgent_queue_length" not in text
        r = app.test_client().get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 404
    finally:
        app.extensions["telemed.db"].dispose()

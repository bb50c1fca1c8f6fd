"""``/readyz``: each dependency's state, 200 only when all answer; ``/healthz`` stays as it was."""

import json
import threading
import time
import uuid

from tests.conftest import make_app
from tests.support.redis import start_redis
from tests.support.s3 import use_fake_aws

ANON_POST_HEADERS = {"Content-Type": "application/json"}


def assert_no_host_named(response, *hosts: str) -> None:
    text = response.get_data(as_text=True)
    for host in hosts:
        assert host not in text


def test_embedded_mode_is_ready_without_redis(app):
    r = app.test_client().get("/readyz")
    assert r.status_code == 200
    assert r.json == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured", "storage": "ok"},
    }
    assert app.test_client().get("/healthz").json == {"status": "ok"}  # unchanged by Redis settings


def test_ready_with_redis(db_url, tmp_path, redis_url):
    app = make_app(db_url, tmp_path, REDIS_URL=redis_url)
    try:
        r = app.test_client().get("/readyz")
        assert r.status_code == 200, r.json
        assert r.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "storage": "ok"}}
    finally:
        app.extensions["telemed.db"].dispose()


def test_redis_gone_makes_it_unready(sqlite_url, tmp_path, redis_server):
    own = start_redis()  # stopped below; the test run's Redis keeps serving the other tests
    try:
        app = make_app(sqlite_url, tmp_path, REDIS_URL=own.url)
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        own.stop()
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable", "storage": "ok"},
    }
    assert_no_host_named(r, "127.0.0.1", str(own.port))
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready
    app.extensions["telemed.db"].dispose()


def test_unwritable_storage_makes_it_unready(app):
    root = app.extensions["telemed.storage"].root
    root.rmdir()
    root.write_bytes(b"not a directory")  # root may write anywhere: a file is what it cannot write into
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["status"] == "unavailable"
    assert r.json["checks"] == {"database": "ok", "redis": "not configured", "storage": "unavailable"}
    assert_no_host_named(r, str(root))


def test_database_down_makes_it_unready(tmp_path):
    broken = make_app("postgresql+psycopg://nobody:pw@127.0.0.1:1/none", tmp_path)
    r = broken.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["database"] == "unavailable" and r.json["checks"]["storage"] == "ok"
    assert_no_host_named(r, "127.0.0.1", "nobody", "pw")


def test_readyz_needs_no_login_token_or_csrf(app):
    client = app.test_client()
    for _ in range(30):  # no rate limit either
        assert client.get("/readyz").status_code == 200
    # a write is refused as at /healthz, in the API's JSON error shape
    for path in ("/healthz", "/readyz"):
        r = client.post(path, data=json.dumps({}), headers=ANON_POST_HEADERS)
        assert (r.status_code, set(r.json)) == (403, {"error"}), path


def test_s3_storage_is_ready_when_its_bucket_answers(sqlite_url, tmp_path, monkeypatch, moto_endpoint):
    use_fake_aws(monkeypatch)
    bucket = f"ready-{uuid.uuid4().hex[:12]}"
    app = make_app(sqlite_url, tmp_path, STORAGE_URL=f"s3://{bucket}/docs", S3_ENDPOINT_URL=moto_endpoint)
    try:
        r = app.test_client().get("/readyz")  # the bucket does not exist yet
        assert r.status_code == 503 and r.json["checks"]["storage"] == "unavailable"
        assert_no_host_named(r, bucket, moto_endpoint)
        app.extensions["telemed.storage"].ensure_bucket()
        r = app.test_client().get("/readyz")
        assert r.status_code == 200 and r.json["checks"]["storage"] == "ok"
    finally:
        app.extensions["telemed.db"].dispose()


def test_a_hung_dependency_is_unavailable_after_the_deadline(app, monkeypatch):
    from telemed import readiness

    release = threading.Event()
    storage = app.extensions["telemed.storage"]
    monkeypatch.setattr(storage, "ping", lambda: release.wait(30))  # answers only when released
    monkeypatch.setattr(readiness, "DEADLINE_S", 0.5)
    started = time.monotonic()
    try:
        r = app.test_client().get("/readyz")
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert r.status_code == 503
    assert r.json["checks"] == {"database": "ok", "redis": "not configured", "storage": "unavailable"}

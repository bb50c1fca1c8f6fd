"""``TELEMED_REDIS_URL`` at startup: its scheme is checked, an unreachable Redis stops every command."""

import time

import pytest

from telemed import create_app
from telemed.config import ConfigError, load_config
from tests.conftest import make_app
from tests.support.pg import free_port
from tests.support.redis import start_redis
from tests.support.serve import run_telemed


@pytest.fixture
def env(tmp_path, monkeypatch):
    for key in ("REDIS_URL", "SOCKETIO_MESSAGE_QUEUE", "RATELIMIT_STORAGE_URL", "DATABASE_URL"):
        monkeypatch.delenv(f"TELEMED_{key}", raising=False)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("TELEMED_SECRET_KEY", "test-secret")
    return monkeypatch


def test_embedded_mode_uses_no_redis(env):
    cfg = load_config()
    assert cfg["REDIS_URL"] is None and cfg["SOCKETIO_MESSAGE_QUEUE"] is None
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.parametrize(
    ("url", "limits_uri"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://:pw@cache.internal:6380/1", "rediss://:pw@cache.internal:6380/1"),
        ("unix:///run/redis/redis.sock?db=2", "redis+unix:///run/redis/redis.sock?db=2"),
    ],
)
def test_one_setting_turns_on_the_message_queue_and_shared_rate_limits(env, url, limits_uri):
    env.setenv("TELEMED_REDIS_URL", url)
    cfg = load_config()
    assert cfg["SOCKETIO_MESSAGE_QUEUE"] == url
    assert cfg["RATELIMIT_STORAGE_URI"] == limits_uri


def test_the_older_settings_still_override(env):
    env.setenv("TELEMED_REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setenv("TELEMED_SOCKETIO_MESSAGE_QUEUE", "redis://127.0.0.1:6379/5")
    env.setenv("TELEMED_RATELIMIT_STORAGE_URL", "memory://")
    cfg = load_config()
    assert cfg["SOCKETIO_MESSAGE_QUEUE"] == "redis://127.0.0.1:6379/5"
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.parametrize(
    ("key", "url", "shown"),
    [
        ("REDIS_URL", "http://127.0.0.1:6379", "http://"),
        ("REDIS_URL", "127.0.0.1:6379", "a URL without a scheme"),
        ("REDIS_URL", "memory://", "memory://"),
        ("SOCKETIO_MESSAGE_QUEUE", "amqp://guest:guest@mq//", "amqp://"),
    ],
)
def test_another_scheme_is_a_config_error(env, key, url, shown):
    env.setenv(f"TELEMED_{key}", url)
    with pytest.raises(ConfigError) as err:
        load_config()
    assert str(err.value) == f"TELEMED_{key} must start with redis://, rediss:// or unix://, not {shown}"


def test_an_unreachable_redis_refuses_the_app(env):
    port = free_port()  # nothing listens there
    with pytest.raises(ConfigError, match=rf"Redis at redis://127.0.0.1:{port}/0 does not answer"):
        create_app({"REDIS_URL": f"redis://127.0.0.1:{port}/0"})


def test_the_message_never_shows_the_password(env):
    port = free_port()
    with pytest.raises(ConfigError) as err:
        create_app({"REDIS_URL": f"redis://app:hunter2@127.0.0.1:{port}/0"})
    assert "hunter2" not in str(err.value) and f"redis://app:***@127.0.0.1:{port}/0" in str(err.value)


def test_a_reachable_redis_is_accepted(env, redis_url):
    app = create_app({"REDIS_URL": redis_url})
    assert app.config["SOCKETIO_MESSAGE_QUEUE"] == redis_url
    app.extensions["telemed.db"].dispose()


@pytest.mark.parametrize(
    "args", [["serve", "--port", "0"], ["worker"], ["demo", "--port", "0"]], ids=lambda a: a[0]
)
def test_serve_worker_and_demo_refuse_to_start(tmp_path, args):
    port = free_port()
    settings = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "INSTANCE_DIR": str(tmp_path / "inst")}
    result = run_telemed(args, settings, timeout=60)
    assert result.returncode != 0
    lines = [line.removeprefix("Error: ") for line in result.stderr.splitlines()]  # click's prefix
    expected = f"configuration error: Redis at redis://127.0.0.1:{port}/0 does not answer (TELEMED_REDIS_URL)"
    assert any(line.startswith(expected) for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "inst" / "telemed.sqlite3").exists()  # refused before the database


def test_a_bad_scheme_stops_the_command_too(tmp_path):
    result = run_telemed(["worker", "--once"], {"REDIS_URL": "http://x", "INSTANCE_DIR": str(tmp_path / "i")})
    assert result.returncode != 0
    assert "configuration error: TELEMED_REDIS_URL must start with redis://, rediss:// or unix://" in (
        result.stderr
    )


def test_a_unix_socket_carries_the_queue_and_the_counters(sqlite_url, tmp_path, redis_server):
    from telemed.extensions import socketio

    own = start_redis(unix=True)
    try:
        app = make_app(sqlite_url, tmp_path, REDIS_URL=own.url, LOGIN_RATE_LIMIT="3 per minute")
        assert app.test_client().get("/readyz").json["checks"]["redis"] == "ok"
        client = app.test_client()
        codes = [client.post("/api/v1/auth/token", json={"username": "x"}).status_code for _ in range(4)]
        assert codes[-1] == 429
        with own.client() as conn:
            assert list(conn.scan_iter(match="*login-user:x*"))  # counted in that Redis
            listener = conn.pubsub(ignore_subscribe_messages=True)
            listener.subscribe("flask-socketio")
            with app.app_context():
                socketio.emit("presence", {"n": 1}, to="user:0")
            deadline = time.monotonic() + 5
            message = None
            while message is None and time.monotonic() < deadline:  # (the subscription's ack is skipped)
                message = listener.get_message(timeout=0.5)
            listener.close()
        assert message is not None and b"presence" in message["data"]
    finally:
        own.stop()
    app.extensions["telemed.db"].dispose()


def test_the_message_names_the_setting_and_hides_the_password(env):
    from telemed.redisconn import shown

    port = free_port()
    env.setenv("TELEMED_SOCKETIO_MESSAGE_QUEUE", f"redis://127.0.0.1:{port}/3")
    with pytest.raises(ConfigError, match=r"does not answer \(TELEMED_SOCKETIO_MESSAGE_QUEUE\)"):
        create_app()
    assert shown("rediss://:pw@[::1]:6380/0") == "rediss://:***@[::1]:6380/0"
    assert shown("redis://cache:6379/0") == "redis://cache:6379/0"

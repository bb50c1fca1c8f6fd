"""The chat writer's broadcast of a stored batch reaches the other processes through Redis in one
round trip, in order; a Redis that stops answering makes the broadcast log, never raise (the
messages are stored: the rooms catch up through history)."""

import json
import time

from telemed.chat.events import broadcast_messages
from telemed.extensions import socketio
from telemed.redisconn import CHANNEL, BatchingRedisManager, batched_emits
from tests.conftest import make_app
from tests.support.redis import start_redis


def _published(pubsub, wait: float = 0.5) -> list[dict]:
    out, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline:
        m = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if m is not None:
            out.append(json.loads(m["data"]))
    return out


def test_a_batch_is_published_when_it_ends_in_order(sqlite_url, tmp_path, redis_url, redis_server):
    app = make_app(sqlite_url, tmp_path, REDIS_URL=redis_url)
    manager = socketio.server.manager
    assert isinstance(manager, BatchingRedisManager)
    with redis_server.client() as conn, conn.pubsub() as pubsub:
        pubsub.subscribe(CHANNEL)
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        with batched_emits(manager):
            for k in range(3):
                socketio.emit("message", {"id": k}, to=f"consultation-{k}")
            assert _published(pubsub) == []  # held until the batch ends
        got = _published(pubsub)
        assert [(m["event"], m["data"], m["room"]) for m in got] == [
            ("message", [{"id": k}], f"consultation-{k}") for k in range(3)
        ]
        socketio.emit("message", {"id": 9}, to="consultation-9")  # outside a batch: at once
        assert [m["data"] for m in _published(pubsub)] == [[{"id": 9}]]
    app.extensions["telemed.db"].dispose()


def test_broadcast_survives_a_redis_that_stopped(sqlite_url, tmp_path, redis_server, caplog):
    own = start_redis()
    try:
        app = make_app(sqlite_url, tmp_path, REDIS_URL=own.url)
    finally:
        own.stop()
    broadcast_messages([{"id": 1, "consultation_id": 5}, {"id": 2, "consultation_id": 5}])  # no raise
    assert "Cannot publish 2 messages to redis... giving up" in caplog.text
    app.extensions["telemed.db"].dispose()

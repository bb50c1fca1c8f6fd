"""Room presence outlives no serving process: its rows carry the process that holds the connection,
that process refreshes them, and the worker removes those of a process that stopped (it died) and
tells the room who is still there."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from telemed.sockets import process_id
from telemed.video import presence
from telemed.video.events import heartbeat
from telemed.video.models import RoomPresence
from telemed.worker import run_due


@pytest.fixture
def relay(app, live):
    relay = app.extensions["telemed.relay"].start()  # as `telemed serve` does
    yield relay
    relay.stop()


def _rows(db, cid) -> list[RoomPresence]:
    with db.session() as s:
        return list(s.scalars(select(RoomPresence).where(RoomPresence.consultation_id == cid)))


def _ghost(db, cid, user_id, *, seen_at) -> None:
    """The doctor's presence as a process that was killed left it: never refreshed again."""
    with db.transaction() as s:
        s.add(
            RoomPresence(
                sid="ghost-sid",
                consultation_id=cid,
                user_id=user_id,
                joined_at=seen_at,
                process_id="a-process-that-died",
                seen_at=seen_at,
            )
        )


def test_a_connection_s_presence_names_its_process_and_the_heartbeat_refreshes_it(app, db, connect, world):
    cid = world["consultation"].id
    anna = connect("anna")
    anna.call("join", {"consultation_id": cid})
    (row,) = _rows(db, cid)
    assert row.process_id == process_id(app)
    joined = row.seen_at
    time.sleep(0.01)
    assert heartbeat(app) == 1
    assert _rows(db, cid)[0].seen_at > joined


def test_the_worker_removes_a_dead_process_s_presence_and_the_room_hears_it(app, db, connect, relay, world):
    cid = world["consultation"].id
    start = datetime.now(UTC)
    _ghost(db, cid, world["doctor"].user_id, seen_at=start)
    anna = connect("anna")
    anna.call("join", {"consultation_id": cid})
    assert [p["role"] for p in anna.wait_for("presence")[-1]["participants"]] == ["doctor", "member"]

    later = start + presence.TTL + timedelta(seconds=1)
    with db.transaction() as s:  # this process is alive: its rows are fresh as of `later`
        presence.heartbeat(s, process_id=process_id(app), now=later)
    assert run_due(app, now=start + presence.TTL - timedelta(seconds=1))["presence_expired"] == 0
    assert run_due(app, now=later)["presence_expired"] == 1
    assert run_due(app, now=later)["presence_expired"] == 0  # each ghost goes once
    assert [r.process_id for r in _rows(db, cid)] == [process_id(app)]
    after = anna.wait_for("presence", 2)[-1]
    assert after == {
        "consultation_id": cid,
        "participants": [{"id": world["member"].id, "role": "member", "name": world["member"].full_name}],
    }

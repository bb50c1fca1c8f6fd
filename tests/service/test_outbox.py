"""The outbox's delivery: id order, at most once, stale rows dropped, fan-out rows expanded as of
the time they are sent and coalesced within a batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telemed.notify import outbox


def _write(db, *events: tuple[str, str, dict], now=None) -> None:
    with db.transaction() as s:
        for event, room, payload in events:
            outbox.write(s, event, room, payload, now=now or datetime.now(UTC))


def _deliver(db, fan_outs=None, now=None) -> tuple[int, list[tuple[str, str, dict]]]:
    sent: list[tuple[str, str, dict]] = []
    count = outbox.deliver_pending(
        db,
        lambda event, payload, room: sent.append((event, room, payload)),
        now=now or datetime.now(UTC),
        fan_outs=fan_outs,
    )
    return count, sent


def test_events_are_sent_once_in_the_order_they_were_written(db):
    _write(db, *[("message", f"room:{i}", {"n": i}) for i in range(5)])
    assert _deliver(db) == (5, [("message", f"room:{i}", {"n": i}) for i in range(5)])
    assert _deliver(db) == (0, [])


def test_a_fan_out_row_is_expanded_when_sent_from_the_state_then(db):
    state = {"members": ["a", "b"]}
    calls = []

    def places(session, payload, now):
        calls.append(payload)
        return [("status", f"member:{m}", {"place": i}) for i, m in enumerate(state["members"], start=1)]

    _write(db, ("status", "member:x", {"done": True}), ("moved", "queue:1", {"queue": 1}))
    state["members"] = ["b"]  # the queue moved again after the cause committed
    count, sent = _deliver(db, {"moved": places})
    assert sent == [("status", "member:x", {"done": True}), ("status", "member:b", {"place": 1})]
    assert count == 2 and calls == [{"queue": 1}]


def test_fan_out_rows_of_one_room_in_a_batch_are_expanded_once_after_the_rest(db):
    calls = []

    def places(session, payload, now):
        calls.append(payload["n"])
        return [("status", "member:a", {"n": payload["n"]})]

    _write(
        db,
        ("moved", "queue:1", {"n": 1}),
        ("status", "member:x", {}),
        ("moved", "queue:2", {"n": 2}),
        ("moved", "queue:1", {"n": 3}),
    )
    _count, sent = _deliver(db, {"moved": places})
    assert calls == [2, 3]
    assert sent == [
        ("status", "member:x", {}),
        ("status", "member:a", {"n": 2}),
        ("status", "member:a", {"n": 3}),
    ]


def test_a_fan_out_row_older_than_max_age_is_not_expanded(db):
    _write(db, ("moved", "queue:1", {}), now=datetime.now(UTC) - outbox.MAX_AGE - timedelta(seconds=1))
    assert _deliver(db, {"moved": lambda *_a: [("status", "member:a", {})]}) == (0, [])

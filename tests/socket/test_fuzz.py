"""Fuzzing every client event over a real socket (issue 10).

A seeded generator sends a few hundred malformed payloads per database: each one is invalid by
construction (a wrong type, a missing field, an out-of-range number, a NUL or control character, a
string over a limit, a foreign consultation, or no object at all), and some also carry unknown fields
or extra positional arguments, which must not change the answer. Every one must be answered with
``ok: false`` and an error code the AsyncAPI document lists for that event (never ``internal_error``),
nothing may be logged as a server error, and a bystander in another consultation must notice nothing.
"""

import math
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from telemed.api.asyncapi_parts import REFUSALS
from telemed.chat.service import ATTACHMENTS_MAX, TEXT_MAX
from telemed.db import ID_MAX
from telemed.sockets import EVENT_MAX
from telemed.video.service import CANDIDATE_MAX, SDP_MAX
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation
from tests.support.live import SocketClient

SEED = 20261130
CASES_PER_EVENT = 150
EVENTS = ("join", "leave", "message", "typing", "read", "signal")
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
MISSING = object()  # a field left out


def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


class Fuzzer:
    """Malformed payloads for the events of consultation ``cid`` (``other``: a consultation the
    fuzzing user is no party to)."""

    def __init__(self, rng: random.Random, cid: int, other: int):
        self.rng, self.cid, self.other = rng, cid, other

    # values of a wrong type, whatever the field
    def wrong_type(
        self, *, allow_none: bool = False, strings: bool = True, empty_list: bool = True
    ) -> object:
        r = self.rng
        pool = [
            lambda: r.choice([1.0, 1.5, -0.5, 1e308, math.nan, math.inf, -math.inf]),
            lambda: r.choice([True, False]),
            lambda: r.choice(
                [[], [1, 2], [self.cid], [None]] if empty_list else [[1, 2], [self.cid], [None]]
            ),
            lambda: r.choice([{}, {"a": 1}, {"consultation_id": [self.cid]}]),
            lambda: deep_list(r.randint(10, 200)),
            lambda: deep_dict(r.randint(10, 200)),
        ]
        if strings:
            pool.append(lambda: r.choice(["", "1", "abc", str(self.cid)]))
        if not allow_none:
            pool.append(lambda: None)
        return r.choice(pool)()

    def control_text(self) -> str:
        bad = self.rng.choice(["\x00", "\x07", "\x08", "\x0b", "\x1b[2J", "\x7f", "\ud800", "\udfff"])
        return self.rng.choice(["", "text "]) + bad + self.rng.choice(["", " more"])

    def long_text(self, over: int) -> str:
        return "x" * (over + self.rng.choice([1, 10, 5000, EVENT_MAX]))

    def bad_consultation_id(self) -> object:
        r = self.rng
        return r.choice(
            [
                self.wrong_type,
                lambda: r.choice([0, -1, -(2**31), -(10**30)]),
                lambda: r.choice([ID_MAX + 1, 2**63, 10**30]),  # beyond the id columns: not found
                lambda: self.other,  # someone else's consultation
                lambda: self.cid + self.other + 10_000,  # no such consultation
            ]
        )()

    def bad_positive_int(self, *, allow_none: bool) -> object:
        r = self.rng
        return r.choice(
            [lambda: self.wrong_type(allow_none=allow_none), lambda: r.choice([0, -1, -(10**30)])]
        )()

    # per event: (a valid payload, {field: a generator of values invalid for that field})
    def templates(self, event: str) -> tuple[dict, dict]:
        r, cid = self.rng, self.cid
        if event == "join":
            return {"consultation_id": cid, "after": r.choice([MISSING, 1])}, {
                "after": lambda: self.bad_positive_int(allow_none=True)
            }
        if event == "leave":
            return {"consultation_id": cid}, {}
        if event == "message":
            return {"consultation_id": cid, "text": "hello"}, {
                "text": lambda: r.choice(
                    [
                        lambda: self.wrong_type(allow_none=True, strings=False),
                        lambda: r.choice(["", "   ", "\n\t"]),  # no text and no attachment
                        self.control_text,
                        lambda: "x" * TEXT_MAX + "y",
                        lambda: self.long_text(TEXT_MAX),
                    ]
                )(),
                "attachment_ids": lambda: r.choice(
                    [
                        lambda: self.wrong_type(allow_none=True, empty_list=False),
                        lambda: r.choice([["1"], [1.5], [True], [-1], [0], [None], [[1]], [{}]]),
                        lambda: list(range(1, ATTACHMENTS_MAX + 2)),
                        lambda: [r.choice([1, 2, ID_MAX, ID_MAX + 1, 10**30])],  # nobody's unsent upload
                    ]
                )(),
            }
        if event == "typing":
            return {"consultation_id": cid, "typing": r.choice([MISSING, True, False])}, {
                "typing": lambda: r.choice([0, 1, "true", "", [], {}, 1.5, math.nan, "false"])
            }
        if event == "read":  # the consultation has no message: no up_to_id is one of its messages
            return {"consultation_id": cid, "up_to_id": 1}, {
                "up_to_id": lambda: r.choice(
                    [
                        lambda: self.wrong_type(),
                        lambda: r.choice([0, -1, 1, 2, ID_MAX, ID_MAX + 1, 10**30]),
                    ]
                )()
            }
        return self.signal_template()

    def signal_template(self) -> tuple[dict, dict]:
        r, cid = self.rng, self.cid
        kind = r.choice(["offer", "answer", "candidate", "bye", "restart"])
        payload: dict = {"consultation_id": cid, "type": kind}
        bad: dict = {
            "type": lambda: r.choice(["hello", "", "OFFER", "offer\x00", None, 1, [], {}, True]),
            "pc": self.bad_pc_id,
            "to_pc": self.bad_pc_id,
        }
        if kind in ("offer", "answer"):
            payload["sdp"] = OFFER
            bad["sdp"] = lambda: r.choice(
                [
                    lambda: self.wrong_type(),
                    lambda: r.choice(["not sdp", "", "V=0", "v=0" + "a" * SDP_MAX]),
                    lambda: OFFER + self.control_text(),
                    lambda: self.long_text(SDP_MAX),
                ]
            )()
        elif kind == "candidate":
            payload["candidate"] = r.choice([CANDIDATE, None])
            bad["candidate"] = lambda: r.choice(
                [
                    lambda: r.choice(["text", 1, 1.5, True, [], [CANDIDATE]]),
                    lambda: {},
                    lambda: {**CANDIDATE, "extra": 1},
                    lambda: {
                        **CANDIDATE,
                        "candidate": r.choice([None, 1, "host 1.2.3.4", "x" * CANDIDATE_MAX]),
                    },
                    lambda: {
                        **CANDIDATE,
                        "candidate": CANDIDATE["candidate"] + r.choice(["\x00", "\r\n", "\x1b"]),
                    },
                    lambda: {**CANDIDATE, "sdpMid": r.choice([5, [], "x" * 65, "0\n", "\x00"])},
                    lambda: {**CANDIDATE, "sdpMLineIndex": r.choice(["0", -1, 64, True, 1.5, 10**30])},
                    lambda: {**CANDIDATE, "usernameFragment": r.choice([5, "x" * 257, "\x07", "a\nb"])},
                    lambda: deep_dict(r.randint(10, 100)),
                ]
            )()
        elif kind == "restart":
            bad["sdp"] = lambda: OFFER  # a restart carries no SDP
        return payload, bad

    def bad_pc_id(self) -> object:
        r = self.rng
        return r.choice(
            [
                lambda: r.choice([5, True, [], {}, 1.5]),
                lambda: r.choice(["", "has space", "x" * 65, "ü", "a\x00", "a/b", "a.b"]),
            ]
        )()

    def case(self, event: str) -> tuple[str, tuple, str]:
        """One malformed call: (event, positional arguments, what is wrong with it)."""
        r = self.rng
        payload, bad = self.templates(event)
        payload = {k: v for k, v in payload.items() if v is not MISSING}
        defect = r.choice(["field", "field", "field", "consultation_id", "missing", "not an object"])
        if defect == "field" and bad:
            field = r.choice(sorted(bad))
            payload[field] = bad[field]()
            what = f"bad {field}"
        elif defect == "missing":
            required = ["consultation_id"] + (["up_to_id"] if event == "read" else [])
            required += ["type"] if event == "signal" else []
            del payload[r.choice(required)]
            what = "a required field missing"
        elif defect == "not an object":
            whole = r.choice(
                [
                    lambda: None,
                    lambda: self.wrong_type(),
                    lambda: [payload],
                    lambda: deep_list(r.randint(10, 200)),
                    lambda: "x" * r.choice([10, EVENT_MAX]),
                ]
            )()
            if whole is None and r.random() < 0.5:
                return event, (), "no payload at all"
            return event, (whole, *self.extra_args()), "not an object"
        else:
            payload["consultation_id"] = self.bad_consultation_id()
            what = "bad consultation_id"
        if r.random() < 0.3:
            payload.update({r.choice(["zzz", "__proto__", "toString", "ok", "error", ""]): self.wrong_type()})
            what += " + unknown field"
        args = self.extra_args()
        if args:
            what += f" + {len(args)} extra arguments"
        return event, (payload, *args), what

    def extra_args(self) -> tuple:
        if self.rng.random() < 0.7:
            return ()
        return tuple(self.wrong_type() for _ in range(self.rng.randint(1, 3)))


@pytest.fixture
def scene(app, factory, world, live):
    """The fuzzer (anna) in her open room with the doctor listening; a bystander (vera, two
    connections) in a consultation of her own."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    mine = make_consultation(
        factory, world["member"], world["patient"], world["doctor"], world["contract"], start=start
    )
    vera, vera_patient = factory.member("vera", contract=world["contract"])
    theirs = make_consultation(
        factory, vera, vera_patient, world["doctor"], world["contract"], start=start + timedelta(hours=1)
    )
    token = ApiClient(app, "vera").token
    clients = {
        "fuzzer": SocketClient(live.url, token=world["tokens"]["anna"]).connect(),
        "doctor": SocketClient(live.url, token=world["tokens"]["drt"]).connect(),
        "bystander": SocketClient(live.url, token=token).connect(),
        "bystander_tab": SocketClient(live.url, token=token).connect(),
    }
    for name, cid in [
        ("fuzzer", mine.id),
        ("doctor", mine.id),
        ("bystander", theirs.id),
        ("bystander_tab", theirs.id),
    ]:
        assert clients[name].call("join", {"consultation_id": cid})["ok"]
    yield {"mine": mine.id, "theirs": theirs.id, **clients}
    for client in clients.values():
        client.close()


def test_malformed_events_are_refused_with_documented_codes(scene, server_errors):
    fuzzer = Fuzzer(random.Random(SEED), scene["mine"], scene["theirs"])
    sock, bystander, tab = scene["fuzzer"], scene["bystander"], scene["bystander_tab"]
    cases = [fuzzer.case(event) for _ in range(CASES_PER_EVENT) for event in EVENTS]
    said: list[str] = []
    codes: Counter = Counter()
    started = time.monotonic()
    for n, (event, args, what) in enumerate(cases):
        ack = sock.sio.call(event, args if args else None, timeout=10)
        where = f"case {n}: {event} with {what}: {repr(args)[:300]} → {ack!r}"
        assert isinstance(ack, dict) and ack["ok"] is False and set(ack) == {"ok", "error"}, where
        error = ack["error"]
        assert error["code"] in REFUSALS[event] and error["code"] != "internal_error", where
        assert (
            isinstance(error["message"], str)
            and error["message"]
            and set(error) <= {"code", "message", "details"}
        )
        codes[(event, error["code"])] += 1
        if n % 40 == 39:  # the bystander goes on chatting meanwhile
            said.append(f"bystander {n}")
            assert bystander.call("message", {"consultation_id": scene["theirs"], "text": said[-1]})["ok"]
            assert [m["text"] for m in tab.wait_for("message", len(said))] == said
    assert time.monotonic() - started < 45
    assert server_errors() == []
    # every event was refused for more than one reason: the generator reaches past the first check
    assert all(len({c for (e, c) in codes if e == event}) >= 2 for event in EVENTS), codes

    time.sleep(0.3)
    for name in ("bystander", "bystander_tab"):
        client = scene[name]
        assert client.sio.connected
        got = {e: client.received(e) for e in ("message", "typing", "read", "presence", "signal")}
        assert all(p["consultation_id"] == scene["theirs"] for events in got.values() for p in events), got
        assert [m["text"] for m in got["message"]] == said and got["typing"] == got["read"] == got[
            "signal"
        ] == []
        assert client.received("urgent_queue") == client.received("urgent_status") == []
    doctor = scene["doctor"]
    quiet = ("message", "typing", "read", "signal", "urgent_queue", "urgent_status")
    assert {e: doctor.received(e) for e in quiet} == dict.fromkeys(quiet, [])
    assert sock.sio.connected and sock.call("typing", {"consultation_id": scene["mine"]}) == {"ok": True}
    assert doctor.wait_for("typing")[0]["user"]["name"] == "Anna"

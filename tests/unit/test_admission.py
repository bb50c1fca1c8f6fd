"""Plain reads take turns (``telemed.admission``): at most N at once, the rest in arrival order,
none waiting past ``max_wait``; Socket.IO and requests with a body never wait."""

from __future__ import annotations

import threading
import time

import pytest

from telemed import create_app
from telemed.admission import AdmissionMiddleware, FifoTurns
from telemed.config import ConfigError, load_config


def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_turns_are_given_in_arrival_order_and_never_more_than_the_slots():
    turns = FifoTurns(2, max_wait=10)
    assert turns.acquire() and turns.acquire()  # both slots taken at once
    order: list[int] = []

    def wait_my_turn(k: int) -> None:
        assert turns.acquire()
        order.append(k)

    waiters = []
    for k in range(5):
        t = threading.Thread(target=wait_my_turn, args=(k,))
        t.start()
        waiters.append(t)
        _until(lambda k=k: turns.waiting == k + 1)  # queued in this order
    for k in range(5):
        turns.release()  # one turn ends: exactly the longest waiting caller goes on
        _until(lambda k=k: len(order) == k + 1)
        assert turns.waiting == 4 - k
    for t in waiters:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_caller_that_waited_max_wait_runs_without_a_turn_and_leaves_the_queue():
    turns = FifoTurns(1, max_wait=0.05)
    assert turns.acquire()
    started = time.monotonic()
    assert turns.acquire() is False
    assert time.monotonic() - started >= 0.05 and turns.waiting == 0
    turns.release()
    assert turns.acquire()  # the slot came back free, not handed to the one that gave up


def test_slots_must_be_positive():
    with pytest.raises(ValueError):
        FifoTurns(0)


def _blocking_app(release: threading.Event, inside: list):
    def app(environ, start_response):
        inside.append(environ["PATH_INFO"])
        release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


@pytest.mark.parametrize(
    ("method", "path", "waits"),
    [
        ("GET", "/cabinet", True),
        ("HEAD", "/api/v1/doctors", True),
        ("POST", "/api/v1/consultations", False),  # a body streams at the client's pace
        ("DELETE", "/api/v1/auth/token", False),
        ("GET", "/socket.io/", False),  # connections and long polls live for minutes
    ],
)
def test_what_waits_for_a_turn(method, path, waits):
    release, inside = threading.Event(), []
    turns = FifoTurns(1, max_wait=10)
    wsgi = AdmissionMiddleware(_blocking_app(release, inside), turns)
    holder = threading.Thread(
        target=wsgi, args=({"REQUEST_METHOD": "GET", "PATH_INFO": "/first"}, lambda *a: None)
    )
    holder.start()
    _until(lambda: inside == ["/first"])  # the one slot is held
    second = threading.Thread(
        target=wsgi, args=({"REQUEST_METHOD": method, "PATH_INFO": path}, lambda *a: None)
    )
    second.start()
    if waits:
        _until(lambda: turns.waiting == 1)
        assert inside == ["/first"]
    else:
        _until(lambda: len(inside) == 2)
        assert turns.waiting == 0
    release.set()
    holder.join(5)
    second.join(5)
    assert sorted(inside) == sorted(["/first", path])
    assert turns.acquire()  # every turn was given back


def test_the_app_takes_turns_as_configured(tmp_path):
    base = {"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "SECRET_KEY": "k"}
    assert isinstance(create_app(base).extensions["telemed.admission"], FifoTurns)  # on by default
    assert "telemed.admission" not in create_app({**base, "ACTIVE_REQUESTS": 0}).extensions


@pytest.mark.parametrize("value", ["-1", "1001", "x"])
def test_an_unusable_number_of_turns_is_a_config_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("TELEMED_ACTIVE_REQUESTS", value)
    with pytest.raises(ConfigError, match="TELEMED_ACTIVE_REQUESTS must be a whole number"):
        load_config({"INSTANCE_DIR": str(tmp_path)})

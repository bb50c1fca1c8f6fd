"""Admission of plain reads: a process works on at most ``ACTIVE_REQUESTS`` GET/HEAD requests at
once; the others wait their turn in arrival order.

A serving process is one Python interpreter: its threads share one CPU (the GIL). When fifty
requests run at once, each gets the CPU back at random after every database round trip, so some
wait many turns: the median is fine and the slowest are several times slower
(``bench/bench_scale.py``). Running a few at a time and queueing the rest first come, first served
keeps the process as busy (a few threads overlap each other's database waits) and bounds every
request's wait to the queue in front of it.

What is never queued: Socket.IO (its connections and long polls live for minutes), and requests
that carry a body (POST, PUT, PATCH, DELETE: an upload streams at the client's pace). A request
that waited ``max_wait`` seconds without a turn runs anyway, so a few slow reads (an OpenID Connect
callback waiting on the provider) can delay the others by that much at most, never stall them.
A turn ends when the app returns its response, before the body is sent, so a slow reader never
holds one.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

QUEUED_METHODS = frozenset({"GET", "HEAD"})
MAX_WAIT_S = 1.0


class FifoTurns:
    """At most ``slots`` holders at once; ``acquire`` waits in arrival order, at most ``max_wait`` s."""

    def __init__(self, slots: int, *, max_wait: float = MAX_WAIT_S):
        if slots < 1:
            raise ValueError("slots must be >= 1")
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Event] = deque()

    @property
    def waiting(self) -> int:
        """How many wait for a turn now."""
        return len(self._waiting)

    def acquire(self) -> bool:
        """Take a turn: True once this caller holds one (it must ``release`` it), False when
        ``max_wait`` passed first (it holds none, and runs anyway)."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self.max_wait):
            return True
        with self._lock:
            if turn.is_set():  # handed a turn between the timeout and the lock: it is ours
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        """End a turn: hand it to the longest waiting caller, or free it."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class AdmissionMiddleware:
    """WSGI: GET and HEAD requests outside ``socketio_path`` take a turn of ``turns`` around the app."""

    def __init__(self, wsgi_app: Callable, turns: FifoTurns, *, socketio_path: str = "/socket.io"):
        self.wsgi_app, self.turns, self.socketio_path = wsgi_app, turns, socketio_path

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in QUEUED_METHODS or environ.get("PATH_INFO", "").startswith(
            self.socketio_path
        ):
            return self.wsgi_app(environ, start_response)
        held = self.turns.acquire()
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            if held:
                self.turns.release()


def init_app(app: Any) -> None:
    """Wrap ``app.wsgi_app`` when ``ACTIVE_REQUESTS`` > 0 (before the access log wraps it: the time
    a request waits is part of its logged duration)."""
    slots = int(app.config["ACTIVE_REQUESTS"])
    if slots:
        turns = FifoTurns(slots)
        app.extensions["telemed.admission"] = turns
        app.wsgi_app = AdmissionMiddleware(app.wsgi_app, turns)

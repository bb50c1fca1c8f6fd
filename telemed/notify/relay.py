"""The serving process's relay: sends the outbox to its Socket.IO clients, and runs the other
periodic tasks a serving process has (features register them, e.g. the duty heartbeat).

One ``Relay`` per app (``app.extensions["telemed.relay"]``), created by ``create_app`` and started
only by the commands that serve clients (``telemed serve``, ``telemed demo``) or by tests. A lock
makes one thread of the process send at a time, so this process sends events in id order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from telemed.db import Database, utcnow
from telemed.extensions import socketio
from telemed.notify import outbox

log = logging.getLogger(__name__)

INTERVAL = 0.5  # seconds between polls of the outbox


class FailureLog:
    """The log of a loop that retries forever (the relay, the worker): the first failure of a
    streak with its traceback, then one line a minute while it keeps failing, and the recovery."""

    def __init__(self, what: str, logger: logging.Logger, *, every: float = 60):
        self.what, self.logger, self.every = what, logger, every
        self._failing_since: float | None = None
        self._last = 0.0

    def failed(self) -> None:
        """Call from an ``except`` block."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last = now
            self.logger.exception("%s failed; retrying", self.what)
        elif now - self._last >= self.every:
            self._last = now
            self.logger.error("%s still failing after %.0f s", self.what, now - self._failing_since)

    def succeeded(self) -> None:
        if self._failing_since is not None:
            self.logger.warning("%s works again", self.what)
            self._failing_since = None


class Relay:
    def __init__(self, db: Database, emit: outbox.Emit, *, interval: float = INTERVAL):
        self.db, self.emit, self.interval = db, emit, interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._periodic: list[tuple[float, Callable[[], Any], list[float]]] = []
        self.fan_outs: dict[str, outbox.FanOut] = {}
        self._failures = FailureLog("outbox relay", log)
        self._delivered = float("-inf")

    def every(self, seconds: float, task: Callable[[], Any]) -> None:
        """Run ``task()`` about every ``seconds`` while the relay runs (first run at start); a
        period shorter than the outbox's ``interval`` makes the relay wake that often."""
        self._periodic.append((seconds, task, [0.0]))

    def fan_out(self, event: str, expand: outbox.FanOut) -> None:
        """Expand the outbox's ``event`` rows with ``expand`` when sending them (``outbox``)."""
        self.fan_outs[event] = expand

    def deliver(self) -> int:
        """Send the outbox's pending events now (API handlers call this after their commit)."""
        with self._lock:
            return outbox.deliver_pending(self.db, self.emit, now=utcnow(), fan_outs=self.fan_outs)

    def start(self) -> Relay:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="telemed-relay", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        pause = min([self.interval, *(seconds for seconds, _, _ in self._periodic)])
        while not self._stop.is_set():
            self._tick()
            self._stop.wait(pause)

    def _tick(self) -> None:
        if time.monotonic() - self._delivered >= self.interval:
            self._delivered = time.monotonic()
            try:
                self.deliver()
                self._failures.succeeded()
            except Exception:  # the database may be briefly unreachable: try again next tick
                self._failures.failed()
        for seconds, task, last in self._periodic:
            if time.monotonic() - last[0] >= seconds:
                last[0] = time.monotonic()
                try:
                    task()
                except Exception:
                    log.exception("periodic task %s failed", getattr(task, "__name__", task))


def socketio_emit(event: str, payload: dict[str, Any], room: str) -> None:
    """Send through the app's Socket.IO server (and its message queue, when there is one)."""
    socketio.emit(event, payload, to=room)

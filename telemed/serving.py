"""``telemed serve``: the app under gunicorn's ``gthread`` worker, as Flask-SocketIO documents for
its ``threading`` mode with simple-websocket.

One worker process with many threads: every open Socket.IO connection (a WebSocket, or a waiting
long-poll) holds one thread, so ``threads`` bounds the connections a process serves at once. More
processes are more ``telemed serve`` instances behind nginx with sticky sessions, never more
gunicorn workers (Socket.IO needs every request of a session to reach the same process).

The app is created in the worker, after the fork, and its relay thread started there; the master
holds no app and no thread. On SIGTERM the worker stops accepting, lets in-flight requests finish
(up to ``graceful_timeout``) and meanwhile runs ``telemed.shutdown.shutdown`` (Socket.IO clients
told to reconnect, the chat writer drained, the relay stopped). SIGINT and SIGQUIT run the same
shutdown with a short timeout and do not wait for in-flight requests.

A WebSocket's thread ends when its client answers the close frame (browsers and python-socketio do
at once); the TCP connections of WebSockets still open a second after the shutdown are shut down, so
a client that has silently gone cannot hold the worker until ``graceful_timeout``.

The access log is off; errors go to stderr, with the query string of any request line or URI they
quote cut to ``?…`` (search terms never reach the log). The ``Server`` header is ``gunicorn``,
without a version.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from telemed.shutdown import shutdown

log = logging.getLogger(__name__)

QUICK_STOP_SECONDS = 5.0  # SIGINT / SIGQUIT: how long the shutdown may wait for the chat writer
CLOSE_GRACE_SECONDS = 1.0  # for WebSocket clients to answer the close frame before their TCP is cut


_QUERY = re.compile(r"\?[^\s'\"]+")


class NoQueryStrings(logging.Filter):
    """gunicorn's error log quotes a refused request's line ("Invalid request from ip=…: Invalid HTTP
    request line: 'GET /patients?q=…'") and a failed request's URI: their query strings become ``?…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY.sub("?…", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class ErrorLog(Logger):
    """gunicorn's logger with :class:`NoQueryStrings` on its error log."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, NoQueryStrings) for f in self.error_log.filters):
            self.error_log.addFilter(NoQueryStrings())


class Worker(ThreadWorker):
    """gunicorn's ``gthread`` worker that also stops the app's live parts when it stops."""

    _stopping: threading.Thread | None = None
    _quitting = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._websockets: set[socket.socket] = set()  # connections upgraded to WebSocket, while open
        self._websockets_lock = threading.Lock()

    def _flask_app(self) -> Flask | None:
        return getattr(self.app, "flask_app", None)

    def handle_request(self, req, conn):
        """Serve one request (a pool thread); WebSocket connections are tracked while they last."""
        if not any(name == "UPGRADE" and value.lower() == "websocket" for name, value in req.headers):
            return super().handle_request(req, conn)
        with self._websockets_lock:
            self._websockets.add(conn.sock)
        try:
            return super().handle_request(req, conn)
        finally:
            with self._websockets_lock:
                self._websockets.discard(conn.sock)

    def _stop_app(self, app: Flask, timeout: float) -> None:
        shutdown(app, timeout)
        time.sleep(CLOSE_GRACE_SECONDS)
        with self._websockets_lock:
            left = list(self._websockets)
        for sock in left:  # their clients never answered the close frame
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if left:
            log.warning("shutdown: cut %d WebSocket connections that did not close", len(left))

    def _begin_shutdown(self, timeout: float) -> threading.Thread | None:
        """Start ``shutdown`` in a thread once (idempotent); the thread, or None before the app exists."""
        app = self._flask_app()
        if self._stopping is None and app is not None:
            self._stopping = threading.Thread(
                target=self._stop_app, args=(app, timeout), name="telemed-shutdown", daemon=True
            )
            self._stopping.start()
        return self._stopping

    def handle_exit(self, sig, frame) -> None:
        """SIGTERM: stop accepting, finish in-flight requests, shut the app down meanwhile."""
        super().handle_exit(sig, frame)
        self._begin_shutdown(timeout=max(1.0, self.cfg.graceful_timeout - 5))

    def handle_quit(self, sig, frame) -> None:
        """SIGINT / SIGQUIT: the same shutdown, waited for briefly, then exit at once."""
        if self._quitting:  # a second signal while the first one's shutdown runs
            return
        self._quitting = True
        stopping = self._begin_shutdown(timeout=QUICK_STOP_SECONDS)
        if stopping is not None:
            stopping.join(QUICK_STOP_SECONDS + CLOSE_GRACE_SECONDS + 2)
        super().handle_quit(sig, frame)

    def is_parent_alive(self) -> bool:
        alive = super().is_parent_alive()
        if not alive:  # the master died: the loop ends as on SIGTERM
            self._begin_shutdown(timeout=max(1.0, self.cfg.graceful_timeout - 5))
        return alive

    def run(self) -> None:
        started = time.monotonic()
        try:
            super().run()
        finally:
            stopping = self._stopping
            if stopping is not None:
                stopping.join(max(0.0, self.cfg.graceful_timeout - (time.monotonic() - started)))
            app = self._flask_app()
            if app is not None:
                app.extensions["telemed.db"].dispose()


class Server(BaseApplication):
    """gunicorn running the app made by ``factory`` (called in the worker process)."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]):
        self.factory, self.options = factory, options
        self.flask_app: Flask | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = self.factory()
        # the relay sends the outbox (what the worker and other processes wrote) to this
        # process's Socket.IO clients and refreshes its doctors' connections
        app.extensions["telemed.relay"].start()
        self.flask_app = app
        return app


def options(host: str, port: int, *, threads: int, graceful_timeout: int) -> dict[str, Any]:
    """gunicorn's settings for one ``telemed serve`` process."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": 1,
        "worker_class": Worker,
        "threads": threads,
        # beyond the threads, as many idle keep-alive connections wait in the poller
        "worker_connections": 2 * threads,
        "graceful_timeout": graceful_timeout,
        "preload_app": False,  # the app and its threads exist only in the worker
        "accesslog": None,
        "errorlog": "-",
        "logger_class": ErrorLog,
        "loglevel": "info",
        "proc_name": "telemed",
        # several instances on one machine: no shared control socket in the home directory
        "control_socket_disable": True,
    }


def serve(factory: Callable[[], Flask], host: str, port: int, *, threads: int, graceful_timeout: int) -> None:
    """Run gunicorn in this process (the master) until it is stopped."""
    Server(factory, options(host, port, threads=threads, graceful_timeout=graceful_timeout)).run()

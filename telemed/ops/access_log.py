"""One JSON line per HTTP request on the ``telemed.access`` logger, and the request latency metric.

A WSGI middleware around the whole app (Socket.IO's transport requests included) times each request
to its last byte, counts the bytes sent, gives it a request id (a sane incoming ``X-Request-ID``,
else a new one; echoed in the response's ``X-Request-ID``) and then logs a line such as::

    {"time": "2026-11-30T15:40:00.123Z", "request_id": "...", "method": "GET",
     "rule": "/api/v1/consultations/<int:consultation_id>", "endpoint": "api.get_consultation",
     "status": 200, "duration_ms": 4.2, "size": 812, "user_id": 7, "role": "member"}

What it never holds: the raw path (ids), the query string (search terms, Socket.IO's ``sid``), bodies,
headers, names, file names. A request Flask matched no rule for has ``rule`` null; Socket.IO's have
``rule`` ``/socket.io/`` and their ``transport`` (``polling`` or ``websocket``); a WebSocket's line
comes when it closes (status 101, its whole life as duration, not counted in the latency metric).

``ACCESS_LOG`` (``TELEMED_ACCESS_LOG``, on by default) turns the lines on; they go to stderr unless
the ``telemed.access`` logger is configured otherwise. The latency metric is recorded either way.
The Werkzeug server's own request lines (raw paths with their query strings) are dropped, its error
lines about malformed requests included.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, request
from flask_login import current_user

from telemed.ops.metrics import REQUEST_SECONDS, status_class

log = logging.getLogger("telemed.access")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = "telemed.request_id"  # in the WSGI environ
# In the environ: a dict the Flask request fills (rule, endpoint, user). Shared, not set, because
# Flask-SocketIO hands Flask a copy of the environ.
_FACTS_KEY = "telemed.access"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SOCKETIO_PREFIX = "/socket.io"
_TRANSPORTS = frozenset({"polling", "websocket"})


def request_id(incoming: str | None) -> str:
    """``incoming`` when it is a sane id (at most 128 letters, digits, ``.``, ``_``, ``:``, ``-``),
    else a new random one."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class _StderrHandler(logging.Handler):
    """Writes each record on a line to the current ``sys.stderr`` (looked up at every write)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


class _NoServerRequestLines(logging.Filter):
    """Drops the Werkzeug server's per-request lines (``addr - - [date] "GET /path?query ..." 200``),
    which hold the raw path and query string, at every level: a malformed request's error line
    ("code 400, message Bad request syntax ('GET /patients?q=…')") quotes it too. The server's
    other lines (errors with their tracebacks) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in str(record.msg)


def _quiet_server_request_log() -> None:
    """Once per process."""
    server_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoServerRequestLines) for f in server_log.filters):
        server_log.addFilter(_NoServerRequestLines())


def _configure_logger() -> None:
    """Once per process: the access logger writes bare JSON lines to stderr, on its own."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        log.addHandler(_StderrHandler())
        log.setLevel(logging.INFO)
        log.propagate = False


def _remember_facts(response):
    """After each Flask request: keep the matched rule, the endpoint and the user for the line."""
    rule = request.url_rule
    user_id = role = None
    try:
        if current_user and current_user.is_authenticated:
            user_id, role = current_user.user_id, str(current_user.role)
    except Exception:  # the line must not fail the request
        pass
    facts = request.environ.get(_FACTS_KEY)
    if facts is not None:
        facts.update(
            rule=rule.rule if rule is not None else None,
            endpoint=request.endpoint,
            user_id=user_id,
            role=role,
        )
    return response


class AccessMiddleware:
    """The WSGI middleware described in the module docstring."""

    def __init__(self, wsgi_app: Callable, *, log_lines: bool):
        self.wsgi_app, self.log_lines = wsgi_app, log_lines

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started, t0 = datetime.now(UTC), time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = rid
        environ[_FACTS_KEY] = {}
        seen: dict[str, Any] = {}

        def start(status: str, headers: list, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            headers = [h for h in headers if h[0].lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, rid))
            return start_response(status, headers, exc_info)

        def finish(size: int) -> None:
            self._record(environ, rid, started, time.perf_counter() - t0, seen.get("status"), size)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            finish(0)
            raise
        return _CountedBody(body, finish)

    def _record(
        self, environ: dict, rid: str, started: datetime, seconds: float, status: int | None, size: int
    ) -> None:
        try:
            self._observe(environ, rid, started, seconds, status, size)
        except Exception:  # never let the bookkeeping break a response
            logging.getLogger(__name__).exception("recording a request failed")

    def _observe(
        self, environ: dict, rid: str, started: datetime, seconds: float, status: int | None, size: int
    ) -> None:
        path = environ.get("PATH_INFO") or ""
        socket = path == _SOCKETIO_PREFIX or path.startswith(_SOCKETIO_PREFIX + "/")
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        method = method if method in _METHODS else "OTHER"
        upgrade = socket and str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket"
        if status is None:  # a WebSocket ends without a WSGI response; anything else failed
            status = 101 if upgrade else 500
        facts = environ[_FACTS_KEY]
        if not upgrade:  # a WebSocket's duration is a connection's life, not a request's latency
            endpoint = "socketio" if socket else facts.get("endpoint") or "none"
            REQUEST_SECONDS.labels(endpoint, method, status_class(status)).observe(seconds)
        if not self.log_lines:
            return
        line = {
            "time": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "request_id": rid,
            "method": method,
            "rule": _SOCKETIO_PREFIX + "/" if socket else facts.get("rule"),
            "endpoint": None if socket else facts.get("endpoint"),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "size": size,
            "user_id": facts.get("user_id"),
            "role": facts.get("role"),
        }
        if socket:
            transport = parse_qs(environ.get("QUERY_STRING", "")).get("transport", [""])[0]
            line["transport"] = transport if transport in _TRANSPORTS else None
        log.info(json.dumps(line, separators=(",", ":")))


class _CountedBody:
    """The response body, counted as it is sent; ``on_close(size)`` runs once, at ``close``."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[int], None]):
        self.body, self.on_close, self.size, self._closed = body, on_close, 0, False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.size += len(chunk)
            yield chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close(self.size)


def init_app(app: Flask) -> None:
    """Wrap ``app.wsgi_app`` (after Socket.IO has wrapped it) and keep each request's facts."""
    app.after_request(_remember_facts)
    _quiet_server_request_log()
    if app.config["ACCESS_LOG"]:
        _configure_logger()
    app.wsgi_app = AccessMiddleware(app.wsgi_app, log_lines=bool(app.config["ACCESS_LOG"]))  # type: ignore[method-assign]

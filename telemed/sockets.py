"""Socket.IO plumbing shared by the features: who is on a connection, the ack contract, rooms.

Who is on a connection is checked at ``connect`` and again on every event.

Pages connect with the session cookie (Flask-Login re-validates the server-side login session on
every event); API clients pass ``auth={"token": ...}`` (re-validated on every event too). A logged
out session or a revoked token stops working mid-connection, and every serving process disconnects
its connections within a second (``watch_endings``), so they stop receiving their rooms' events.

Before any handler, ``socket_guard.guard_packets`` answers what no handler could: an event over
``EVENT_MAX``, a packet that is not valid Socket.IO JSON, binary data (see its docstring).

Every connection joins its user's room (``user_room``), so a feature can reach all of a user's
connections, in any process, without keeping track of them. Features that must act when a
connection opens or closes connect receivers to ``connected`` / ``disconnected`` (blinker
signals, sent from the handlers here; Flask-SocketIO has one handler per event).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from blinker import Namespace
from flask import Flask, current_app, request, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room

from telemed import errors, i18n
from telemed.auth import endings
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.web import bearer_token
from telemed.db import ID_MAX
from telemed.extensions import socketio
from telemed.translatable import _l, translations
from telemed.web import close_db_session, db_session, now

log = logging.getLogger(__name__)
TOKEN_KEY = "socket_token"
CREDENTIAL_KEY = "telemed.socket_credential"  # in the connection's WSGI environ, set at connect
LOCALE_KEY = "telemed.socket_locale"  # likewise: the language of the connection's acks
LOGIN_SESSION_KEY = "_user_id"  # where Flask-Login keeps the login session id (``WebUser.get_id``)

# The largest event the app reads: a packet (its JSON text) longer than this is answered
# ``payload_too_large``. The largest valid event (an SDP offer) is well under a tenth of it.
EVENT_MAX = 256 * 1024
# The transport's own limit (Engine.IO ``max_http_buffer_size``, and the largest WebSocket message
# received at all): a frame over it closes the connection without an answer.
TRANSPORT_MAX = 1024 * 1024


_signals = Namespace()
#: Sent with the connection's ``Actor`` as sender and ``sid`` once a connection is accepted (in the
#: connect handler's context). Receivers must not raise.
connected = _signals.signal("socket-connected")
#: Sent with the connection's sid as sender when a connection closes or drops (in the disconnect
#: handler's context). Receivers must not raise.
disconnected = _signals.signal("socket-disconnected")


PROCESS_KEY = "telemed.process_id"  # app.extensions: this serving process's id (see ``process_id``)


def process_id(app: Flask | None = None) -> str:
    """This serving process's id (one per app; ``app`` defaults to the current one): rows that
    stand for its live connections (room presence, doctors' duty connections) carry it, the process
    refreshes them periodically, and those of a process that died expire instead of lingering."""
    return (app or current_app).extensions.setdefault(PROCESS_KEY, uuid.uuid4().hex)


def sid() -> str:
    """The Socket.IO session id of the connection whose event is being handled."""
    return str(request.sid)  # type: ignore[attr-defined]  # set by Flask-SocketIO


def room(consultation_id: int) -> str:
    """The Socket.IO room of a consultation: its chat and its video call."""
    return f"consultation:{consultation_id}"


def user_room(user_id: int) -> str:
    """The Socket.IO room of a user: every connection of theirs joins it at connect."""
    return f"user:{user_id}"


LIVE_KEY = "telemed.socket_connections"  # app.extensions: this process's connections, {sid: Credential}
WATCH_KEY = "telemed.socket_watch"  # app.extensions: what ``watch_endings`` knows (``_Watch``)
#: How often a serving process reads the count of ended logins (``auth.endings``): a logout, a
#: revoked token, a password change, an ended session or a deactivation ends that login's
#: connections on every process within this and the time to re-check them.
ENDINGS_POLL_SECONDS = 0.25
#: How often the credentials of all connections are re-checked even when no ending was counted
#: (a row changed by hand in the database).
REVALIDATE_SECONDS = 60.0


@dataclass
class _Watch:
    generation: int | None = None  # the count of endings last acted on
    expiries: dict[auth_service.Credential, datetime] = field(default_factory=dict)  # checked valid until
    full_at: float = float("-inf")  # when all connections were last re-checked (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


def live_connections(app: Flask | None = None) -> dict[str, auth_service.Credential]:
    """This process's open connections and the credential each presented."""
    return (app or current_app).extensions.setdefault(LIVE_KEY, {})


def end_revoked(app: Flask) -> int:
    """Disconnect this process's connections whose login session or token no longer holds (logged
    out, revoked, expired, the user deactivated): they would otherwise keep receiving what is sent
    to their rooms. Re-checks every connection; returns how many it ended."""
    return watch_endings(app, everything=True)


def watch_endings(app: Flask, *, everything: bool = False) -> int:
    """One poll of the relay (every ``ENDINGS_POLL_SECONDS``): read the count of ended logins (one
    primary-key read) and re-check, in one batch, the credentials of all connections when it
    changed (or every ``REVALIDATE_SECONDS``, or with ``everything``), else only those not yet
    checked or past their expiry. Connections whose credential no longer holds are disconnected,
    which removes them from all their rooms. Returns how many it ended."""
    watch: _Watch = app.extensions.setdefault(WATCH_KEY, _Watch())
    with watch.lock:
        connections = dict(live_connections(app))
        at, started = now(), time.monotonic()
        with app.extensions["telemed.db"].session() as s:
            generation = endings.generation(s)
            full = (
                everything or generation != watch.generation or started - watch.full_at >= REVALIDATE_SECONDS
            )
            held = set(connections.values())
            due = held if full else {c for c in held if c not in watch.expiries or watch.expiries[c] <= at}
            valid = auth_service.valid_credentials(s, due, now=at) if due else {}
        if full:
            watch.generation, watch.full_at = generation, started
            watch.expiries = {}
        for credential in due:
            if credential in valid:
                watch.expiries[credential] = valid[credential][1]
            else:
                watch.expiries.pop(credential, None)
        ended = [
            sid for sid, credential in connections.items() if credential in due and credential not in valid
        ]
    for connection in ended:
        socketio.server.disconnect(connection, namespace="/")
        live_connections(app).pop(connection, None)
    return len(ended)


def init_app(app: Flask) -> None:
    """Have the app's relay end the connections of ended logins (while the relay runs)."""
    app.extensions["telemed.relay"].every(ENDINGS_POLL_SECONDS, lambda: watch_endings(app))


@socketio.on("connect")
def on_connect(auth=None):
    """Sent by clients on connecting: session cookie or ``auth={"token": ...}``; refused otherwise.
    An accepted connection joins its user's room; ``connected`` is sent."""
    remember_token(auth)
    try:
        actor = socket_actor()
        credential = request.environ[CREDENTIAL_KEY] = socket_credential()
        request.environ[LOCALE_KEY] = connection_locale()
    except errors.NotAuthenticated as exc:
        raise ConnectionRefusedError(*refusal(exc, connection_locale())) from None
    join_room(user_room(actor.id))
    live_connections()[sid()] = credential
    connected.send(actor, sid=sid())


@socketio.on("disconnect")
def on_disconnect(*_args):
    """A dropped or closed connection: ``disconnected`` is sent (the features clean up after it)."""
    live_connections().pop(sid(), None)
    disconnected.send(sid())


def refusal(exc: errors.DomainError, locale: str) -> tuple[str, dict]:
    """A refused connection's reason, ``(message, {code, message})``: python-socketio sends it as the
    CONNECT_ERROR's JSON ``{message, data: {code, message}}``, which socket.io-client hands to
    ``connect_error`` as ``err.message`` and ``err.data``."""
    error = exc.to_dict(translations(locale).gettext)["error"]
    return error["message"], error


def remember_token(auth: object) -> None:
    """At connect: keep an API client's token for this connection."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        session[TOKEN_KEY] = auth["token"][:200]


def socket_actor() -> Actor:
    """The connection's user, re-validated now; holds no database connection afterwards."""
    try:
        if current_user.is_authenticated:
            return current_user.actor
        raw = session.get(TOKEN_KEY)
        user = auth_service.user_for_token(db_session(), raw, now=now()) if raw else None
        if user is None:
            raise errors.NotAuthenticated()
        return Actor(id=user.id, role=user.role, name=user.full_name)
    finally:
        # Handlers open their own sessions: never hold this one's connection while waiting
        # for another (a pool of N connections would deadlock under N concurrent events).
        close_db_session()


def socket_credential() -> auth_service.Credential:
    """The connection's credential, not yet re-validated (the caller validates it, e.g. in a batch).

    Same order as ``socket_actor``: the page's login session, a bearer header, the ``auth`` token.
    """
    if session.get(LOGIN_SESSION_KEY):
        return auth_service.Credential("login_session", str(session[LOGIN_SESSION_KEY]))
    raw = bearer_token() or session.get(TOKEN_KEY)
    if not raw:
        raise errors.NotAuthenticated()
    return auth_service.Credential("token", raw)


def consultation_id(data: dict[str, Any]) -> int:
    """``data["consultation_id"]``: ``ValidationFailed`` unless a positive integer, ``NotFound`` above
    ``ID_MAX`` (no such consultation can exist). The handler then authorizes the actor on it."""
    cid = positive_int(data, "consultation_id")
    if cid > ID_MAX:
        raise errors.NotFound(_l("Consultation not found."))
    return cid


def optional_int(data: dict[str, Any], name: str) -> int | None:
    """The positive integer ``data[name]``, None when absent; ``ValidationFailed`` otherwise."""
    return None if data.get(name) is None else positive_int(data, name)


def positive_int(data: dict[str, Any], name: str) -> int:
    """The positive integer ``data[name]`` (JSON numbers that are whole, not floats or booleans);
    ``ValidationFailed`` when absent or anything else. It may exceed ``ID_MAX``: the caller answers
    such an id as not found."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a positive integer.", name=name), details={"field": name}
        )
    return value


def optional_bool(data: dict[str, Any], name: str) -> bool | None:
    """``data[name]`` when true or false, None when absent (or null); ``ValidationFailed`` otherwise."""
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise errors.ValidationFailed(
            _l("'%(name)s' must be true or false.", name=name), details={"field": name}
        )
    return value


def connection_locale() -> str:
    """At connect: the language of this connection's acks. A page (login cookie) gets the page's
    language, an API client the API's (``Accept-Language``, the profile, English)."""
    return i18n.page_locale() if session.get(LOGIN_SESSION_KEY) else i18n.api_locale()


def event_handler(fn):
    """Wrap a Socket.IO handler ``fn(actor, data) -> dict | None`` into the ack contract.

    The ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``; a refused
    event reaches nobody. The actor is re-validated for every event.
    """

    @functools.wraps(fn)
    def wrapper(data=None, *_extra):
        locale = request.environ.get(LOCALE_KEY, "en")
        return acked(fn.__name__, lambda: fn(socket_actor(), event_data(data)), locale)

    return wrapper


def acked(name: str, run: Callable[[], dict | None], locale: str = "en") -> dict:
    """Run an event's work and turn its outcome into the ack contract (see ``event_handler``), a
    refusal's message in ``locale``."""
    try:
        return {"ok": True, **(run() or {})}
    except errors.DomainError as exc:
        return {"ok": False, **exc.to_dict(translations(locale).gettext)}
    except Exception:
        log.exception("socket event %s failed", name)
        return {"ok": False, **errors.InternalError().to_dict(translations(locale).gettext)}


def event_data(data: object) -> dict:
    if not isinstance(data, dict):
        raise errors.BadRequest(_l("The event data must be an object."))
    return data

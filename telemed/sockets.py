"""Socket.IO plumbing shared by the features: who is on a connection, the ack contract, rooms.

Who is on a connection is checked at ``connect`` and again on every event.

Pages connect with the session cookie (Flask-Login re-validates the server-side login session on
every event); API clients pass ``auth={"token": ...}`` (re-validated on every event too). A logged
out session or a revoked token stops working mid-connection.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import request, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError

from telemed import errors, i18n
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


def sid() -> str:
    """The Socket.IO session id of the connection whose event is being handled."""
    return str(request.sid)  # type: ignore[attr-defined]  # set by Flask-SocketIO


def room(consultation_id: int) -> str:
    """The Socket.IO room of a consultation: its chat and its video call."""
    return f"consultation:{consultation_id}"


@socketio.on("connect")
def on_connect(auth=None):
    """Sent by clients on connecting: session cookie or ``auth={"token": ...}``; refused otherwise."""
    remember_token(auth)
    try:
        socket_actor()
        request.environ[CREDENTIAL_KEY] = socket_credential()
        request.environ[LOCALE_KEY] = connection_locale()
    except errors.NotAuthenticated as exc:
        raise refusal(exc) from None


def refusal(exc: errors.DomainError) -> ConnectionRefusedError:
    """A refused connection's CONNECT_ERROR: ``{message, data: {code, message}}`` (JSON), which
    socket.io-client hands to ``connect_error`` as ``err.message`` and ``err.data``; the message in
    the handshake's language (``Accept-Language``, else English)."""
    error = exc.to_dict(translations(connection_locale()).gettext)["error"]
    return ConnectionRefusedError(error["message"], error)


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

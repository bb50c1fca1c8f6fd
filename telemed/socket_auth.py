"""Who is on a Socket.IO connection, checked again on every event.

Pages connect with the session cookie (Flask-Login re-validates the server-side login session on
every event); API clients pass ``auth={"token": ...}`` (re-validated on every event too). A logged
out session or a revoked token stops working mid-connection.
"""

from __future__ import annotations

import functools
import logging

from flask import session
from flask_login import current_user

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.web import close_db_session, db_session, now

log = logging.getLogger(__name__)
TOKEN_KEY = "socket_token"


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


def positive_int(data: dict, name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise errors.ValidationFailed(f"'{name}' must be a positive integer.", details={"field": name})
    return value


def event_handler(fn):
    """Wrap a Socket.IO handler ``fn(actor, data) -> dict | None`` into the ack contract.

    The ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``; a refused
    event reaches nobody.
    """

    @functools.wraps(fn)
    def wrapper(data=None, *_extra):
        try:
            if not isinstance(data, dict):
                raise errors.BadRequest("The event data must be an object.")
            return {"ok": True, **(fn(socket_actor(), data) or {})}
        except errors.DomainError as exc:
            return {"ok": False, **exc.to_dict()}
        except Exception:  # noqa: BLE001 - never let a handler crash the connection
            log.exception("socket event %s failed", fn.__name__)
            return {"ok": False, "error": {"code": "internal_error", "message": "Something went wrong on our side."}}

    return wrapper
